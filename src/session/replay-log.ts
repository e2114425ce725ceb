// The log a replay consumes: a cursor over its events, the delta bases (wall clock,
// monotonic clock, turn time) they are decoded against, and the report when the program
// does something the log does not hold (a divergence) or the log stops short. The layers
// above consume it: replay-dispatcher.ts runs the turns, replay-values.ts serves values and
// checks calls and outputs, replay.ts (ReplaySession) checks how the run ends.
import { ByteCursor, DecodeError } from '../trace/codec.js';
import { describeEvent } from '../trace/describe.js';
import { Tag, opsAsDeltas, type CallRecord, type TraceHeader } from '../trace/format.js';
import {
  DecodeState,
  TraceError,
  callRead,
  decodeEvent,
  opNamed,
  restOf,
  type TraceEvent,
  type TraceFile,
} from '../trace/reader.js';
import { EXIT } from '../exit-codes.js';
import { formatDivergence } from './divergence.js';
import { thread } from '../node/fields.js';
import { original, writeStderr } from '../node/originals.js';
import { programStack } from './stack.js';

/**
 * Lets a debugger stand inside the replay (src/debug). Installed only by `rewind replay
 * --until`/`rewind debug`; a plain replay has none and pays one null check per event.
 */
export interface ReplayHook {
  /** Operation `op` was just created (its call site is on the stack). */
  created(op: number): void;
  /** Event `n` (a value, output, signal or end) is about to be consumed, inside the call that consumes it. */
  value(n: number): void;
  /** Turn event `n` of operation `op` is due: the hook runs `enter` to run its callback. */
  turn(n: number, op: number, enter: () => void): void;
  /**
   * True while a debugger has the program paused: whatever runs then (evaluations, watch
   * expressions) is served live or refused, and never consumes or shifts the log.
   */
  readonly diverted: boolean;
}

export interface ReplayOptions {
  /** How the recorded run ended, used when the log stops short: "code:N" or "signal:NAME". */
  recordedStatus?: string;
  /** Print a one-line summary when the replay reaches the end of the log. */
  summary?: boolean;
}

export abstract class ReplayLog {
  readonly header: TraceHeader;
  protected readonly c: ByteCursor;
  /** Events consumed so far; the next one is event n + 1. */
  n = 0;
  protected lastWall: number;
  protected lastMono = 0;
  protected lastTurnUs = 0;
  /** The operation of the last turn or stream write consumed (format 4 logs name the next as a difference). */
  protected lastOp = 0;
  private readonly opDeltas: boolean;
  protected finished = false;
  hook: ReplayHook | null = null;

  constructor(
    readonly file: TraceFile,
    protected readonly options: ReplayOptions = {},
  ) {
    this.header = file.header;
    this.c = new ByteCursor(file.body, 0, file.bodyEnd);
    this.lastWall = file.header.startWall;
    this.opDeltas = opsAsDeltas(file.header);
    this.rest = file.stream ? restOf(file) : null;
  }

  /** The log's chunks not kept in memory, read as the replay reaches them. */
  private rest: Generator<{ payload: Uint8Array; end: number }> | null;

  /**
   * The cursor is past the events in memory: moves it to the next chunk read from the file.
   * False at the end of the log. Events never span chunks, so this is called only between
   * events, where every `c.pos >= c.end` test of the layers above stands.
   */
  protected more(): boolean {
    const rest = this.rest;
    if (rest === null) return false;
    for (;;) {
      let next: IteratorResult<{ payload: Uint8Array; end: number }>;
      try {
        next = rest.next();
      } catch (e) {
        if (!(e instanceof TraceError)) throw e;
        this.rest = null;
        return this.stop(`${e.message}\n`, EXIT.BAD_TRACE);
      }
      if (next.done) {
        this.rest = null;
        return false;
      }
      const { payload, end } = next.value;
      if (end === 0) continue;
      this.c.b = payload;
      this.c.pos = 0;
      this.c.end = end;
      return true;
    }
  }

  /** A debugger has the program paused: this call runs off the log. */
  get offLog(): boolean {
    return this.hook !== null && this.hook.diverted;
  }

  /** Refuses what would change the recorded run while a debugger has it paused. */
  protected refuse(what: string): never {
    throw new Error(
      `rewind: ${what} is refused while the replay is paused in a debugger: it would change the recorded run.`,
    );
  }

  /** The next event's tag, without decoding it; -1 at the end of the log. */
  protected nextTag(): number {
    const c = this.c;
    return c.pos < c.end || this.more() ? c.b[c.pos] : -1;
  }

  /**
   * Consumes the next event if it is a Call of `api` whose arguments the log holds as exactly
   * `args`'s first `n` bytes (packed as the writer packs them), and returns its status and
   * value, decoded in place: the arguments are never decoded (peek() decoded both payloads
   * and the caller packed the logged arguments again to compare them, most of what a replayed
   * fs call cost). Null, with nothing consumed, for anything else: the caller then compares
   * the slow way, which also reads logs whose packing differs, and reports.
   */
  protected takeCall(api: number, args: Uint8Array, n: number): Pick<CallRecord, 'status' | 'value'> | null {
    if (this.nextTag() !== Tag.Call) return null;
    const c = this.c;
    const save = c.pos;
    try {
      c.pos++;
      const status = c.varint() === api ? c.u8() : -1;
      if ((status === 0 || status === 1 || status === 2) && c.varint() === n && c.equalBytes(args, n)) {
        const value = status === 0 ? undefined : c.msgpack();
        callRead(this.header, api, status, value, save);
        if (this.hook !== null) this.hook.value(this.n + 1);
        this.consumed();
        return { status, value };
      }
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
    }
    c.pos = save;
    return null;
  }

  /** Moves past the tag byte of the next event if it is `tag`; otherwise a divergence. */
  protected expect(tag: number, actual: () => string): void {
    const c = this.c;
    if ((c.pos >= c.end && !this.more()) || c.b[c.pos] !== tag) this.mismatch(actual());
    if (this.hook !== null) this.hook.value(this.n + 1);
    c.pos++;
  }

  /** The program consumed the event at hand. */
  protected consumed(): void {
    this.n++;
    if (this.afterEnd && this.c.pos >= this.c.end && !this.more()) this.complete();
    this.moved();
  }

  /**
   * The end record is consumed and events follow it: what the program's own exit handlers,
   * wrapped around rewind's, did (record.ts end()). The replay completes after the last.
   */
  protected afterEnd = false;
  /** The end record is consumed. */
  protected endPassed = false;

  /** The log is consumed to its end, the end record passed: the replay is complete. */
  protected complete(): void {
    this.afterEnd = false;
    this.finish();
  }

  /** The program moved past an event: the dispatcher may go on (replay-dispatcher.ts). */
  protected abstract moved(): void;

  /** The replay is over: the layers above release what they hold first. */
  protected finish(): void {
    this.finished = true;
    this.rest?.return(undefined); // closes the log's file
    this.rest = null;
    this.onLogDone?.();
  }

  /** Called when the replay has consumed its log or stops (a worker thread tells its parent: sources/workers.ts). */
  onLogDone: (() => void) | null = null;
  /** Called as the replay stops with `code`, before onLogDone: a worker thread's parent learns why it stopped. */
  onStop: ((code: number) => void) | null = null;

  /**
   * The replay cannot go on (`report` says why): it ends with `code`. In a worker thread,
   * reallyExit ends the thread only; told through onStop, its parent ends the process so too
   * (sources/workers.ts) once the report is written.
   */
  stop(report: string, code: number, signal?: string): never {
    writeStderr(report);
    this.onStop?.(code);
    this.finish();
    // The recorded process was killed by `signal`: the replay dies of it too.
    if (signal) original.processKill(original.pid, signal);
    return original.reallyExit(code);
  }

  /**
   * The log stops short (the recorded process was killed, or its log could not be written):
   * replay has done all it can. What the recorded process did after its last event is not
   * known, so the replay never claims it ended as recorded: it exits 70, unless the recorded
   * process was killed by a signal, which it then dies of too.
   */
  protected logEnded(actual: string): never {
    if (this.endPassed) {
      return this.stop(
        `rewind: divergence after the recorded ${this.who()}'s end (event ${this.n}): there it did nothing more, but here ` +
          `the program ${actual}. The replay stops instead of going on without the recording. If the recording was ` +
          `made by an older rewind (which stopped recording at the end record), record it again.\n`,
        EXIT.DIVERGENCE,
      );
    }
    const why = this.file.truncated ?? 'the log has no end record';
    const [kind, value] = (this.options.recordedStatus ?? '').split(':');
    const killed = kind === 'signal' && value;
    const report =
      `rewind: the recording${thread.isMain ? '' : ` of worker thread ${thread.id}`} ends at event ${this.n} (${why}): the recorded process was killed or crashed, ` +
      `or its log could not be written (disk full), before rewind could write more. The replay reproduced every recorded event and stops here ` +
      `(the program ${actual}).` +
      (killed
        ? '\n'
        : ` What the recorded process did after event ${this.n} (its later events, its output, how it ended) is missing from the recording, ` +
          `so this replay cannot end as the recorded run did: exit status ${EXIT.DIVERGENCE}.\n`);
    return this.stop(report, EXIT.DIVERGENCE, killed ? value : undefined);
  }

  /** What this log records, in a report: the process, or which of its threads. */
  protected who(): string {
    return thread.isMain ? 'process' : `worker thread ${thread.id}`;
  }

  /** Decodes the next event without consuming it. */
  protected peek(): TraceEvent | null {
    const c = this.c;
    if (c.pos >= c.end && !this.more()) return null;
    const save = c.pos;
    this.peekState = this.decodeState();
    try {
      return decodeEvent(c, this.peekState, this.n + 1);
    } catch (e) {
      if (e instanceof DecodeError) return null;
      throw e;
    } finally {
      this.peekEnd = c.pos;
      c.pos = save;
    }
  }
  protected peekEnd = 0;
  protected peekState: DecodeState | null = null;

  /** Consumes the event last peeked, and the delta bases it moved. */
  protected skip(): void {
    if (this.hook !== null) this.hook.value(this.n + 1);
    this.advance();
  }

  /** Consumes the event last peeked, without telling the hook. */
  protected advance(): void {
    const st = this.peekState!;
    const end = this.peekEnd;
    this.lastWall = st.lastWall;
    this.lastMono = st.lastMono;
    this.lastTurnUs = st.lastTurnUs;
    this.lastOp = st.lastOp;
    this.c.pos = end;
    this.consumed();
  }

  protected decodeState(): DecodeState {
    const st = new DecodeState(this.header);
    st.lastWall = this.lastWall;
    st.lastMono = this.lastMono;
    st.lastTurnUs = this.lastTurnUs;
    st.timeUs = this.lastTurnUs;
    st.lastOp = this.lastOp;
    return st;
  }

  /** The operation named by a turn's or stream write's varint `v`, read but not consumed. */
  protected opOf(v: number): number {
    return opNamed(this.opDeltas, this.lastOp, v);
  }

  /**
   * A worker thread stopped from outside while its JS ran (busy, or blocked in Atomics.wait):
   * its log ends inside a turn. The replay stops here too and waits, like the recorded thread,
   * for its replayed parent to stop it.
   */
  protected stoppedHere(): never {
    this.finish();
    const forever = new Int32Array(new SharedArrayBuffer(4));
    for (;;) original.Atomics.wait(forever, 0, 0);
  }

  /** Stops the replay with a report: the log holds something else than what the program did. */
  mismatch(actual: string, stack: string | null = programStack(), full?: { expected: string; actual: string }): never {
    const head = this.peek();
    if (!head) return this.logEnded(actual);
    if (head.end?.via === 'terminated') return this.stoppedHere();
    const report = formatDivergence({
      event: this.n + 1,
      total: this.file.eventCount,
      thread: thread.isMain ? undefined : thread.id,
      expected: describeEvent(head, this.header),
      actual,
      stack,
      full,
      redacted: this.header.redacted?.rules,
    });
    return this.stop(report, EXIT.DIVERGENCE);
  }
}
