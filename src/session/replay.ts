// ReplaySession: values come from the log; async operations register their callbacks by
// op id; one dispatcher pops the next turn, runs that callback, lets microtasks drain,
// and moves on. No real clock, timer or wait is used, so idle time costs nothing.
import { ByteCursor, DecodeError, pack, unzigzag } from '../trace/codec.js';
import { describeEnd, describeEvent, quote } from '../trace/describe.js';
import { Api, TAGS, Tag, apiName, type CallRecord, type TraceHeader } from '../trace/format.js';
import { decodeValue, encodeValue, summarize, toJson } from '../trace/values.js';
import { DecodeState, decodeEvent, type TraceEvent, type TraceFile } from '../trace/reader.js';
import { digest } from '../trace/writer.js';
import { EXIT } from '../exit-codes.js';
import { divergence } from './divergence.js';
import { original, writeStderr } from './originals.js';
import { rethrow, type AsyncCall, type ResultCodec, type SessionApi } from './session.js';
import { errorLine, failureInfo } from './failure.js';
import { programStack } from './stack.js';

/** A callback registered by the program, waiting for its turn in the log. */
export interface ReplayOp {
  /** The turn tag the log uses for this op. */
  readonly tag: number;
  /** For Tag.Callback ops: the API id the log must name. */
  readonly api?: number;
  /** Intervals stay registered after firing. */
  readonly repeat: boolean;
  /** What created it, for reports ("setTimeout(…, 100)"). */
  readonly what: string;
  fire(payload: unknown): void;
  /**
   * For work that really runs at replay (zlib on the thread pool): false until it has
   * finished. The dispatcher waits for it at its turn; the op calls wake() when done.
   */
  ready?(): boolean;
}

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

const TURN_TAGS = new Set<number>([Tag.Timeout, Tag.Interval, Tag.Immediate, Tag.Callback, Tag.StreamRead]);
/** Dispatcher steps per event-loop iteration. */
const STEPS_PER_ITERATION = 64;
/** How long a program may linger after the log's end record before rewind ends it. */
const EXIT_GRACE_MS = 2000;
/** How long a replay waits for real work (a worker's message, zlib) the log says finished. */
const HOLD_LIMIT_MS = 300_000;

export class ReplaySession implements SessionApi {
  readonly mode = 'replay' as const;
  /** Replay never has chaos: the log holds the schedule chaos made. */
  readonly chaos = null;
  readonly header: TraceHeader;
  private readonly c: ByteCursor;
  /** Events consumed so far; the next one is event n + 1. */
  n = 0;
  private lastWall: number;
  private lastMono = 0;
  private lastTurnUs = 0;
  private nextOp = 1;
  private readonly ops = new Map<number, ReplayOp>();
  private readonly baseline: Map<string, number>;
  /** Dispatcher steps queued as immediates and not yet run. */
  private queued = 0;
  private outputs = 0;
  private finished = false;
  hook: ReplayHook | null = null;

  constructor(
    readonly file: TraceFile,
    private readonly options: ReplayOptions = {},
  ) {
    this.header = file.header;
    this.c = new ByteCursor(file.body, 0, file.bodyEnd);
    this.lastWall = file.header.startWall;
    this.baseline = countResources();
  }

  // ---- values --------------------------------------------------------------------------

  /** A debugger has the program paused: this call runs off the log. */
  get offLog(): boolean {
    return this.hook !== null && this.hook.diverted;
  }

  /** Refuses what would change the recorded run while a debugger has it paused. */
  private refuse(what: string): never {
    throw new Error(`rewind: ${what} is refused while the replay is paused in a debugger: it would change the recorded run.`);
  }

  /** Moves past the tag byte of the next event if it is `tag`; otherwise a divergence. */
  private expect(tag: number, actual: () => string): void {
    const c = this.c;
    if (c.pos >= c.end || c.b[c.pos] !== tag) this.mismatch(actual());
    if (this.hook !== null) this.hook.value(this.n + 1);
    c.pos++;
  }

  /** The program consumed the event at hand. */
  private consumed(): void {
    this.n++;
    if (this.parked !== null) this.unpark();
  }

  wall(tag: number): number {
    if (this.offLog) return original.dateNow();
    this.expect(tag, () => TAGS[tag].call);
    this.lastWall += unzigzag(this.c.varint());
    this.consumed();
    return this.lastWall;
  }

  mono(tag: number): number {
    // The monotonic clocks count from the recorded process's base: paused reads see virtual now.
    if (this.offLog) return this.lastMono;
    this.expect(tag, () => TAGS[tag].call);
    this.lastMono += unzigzag(this.c.varint());
    this.consumed();
    return this.lastMono;
  }

  bytes(tag: number, length: number, real: () => Uint8Array): Uint8Array {
    if (this.offLog) return real();
    const call = () => `${TAGS[tag].call.replace('()', '')}(${length} bytes)`;
    const start = this.c.pos;
    this.expect(tag, call);
    const data = this.c.lengthPrefixed();
    if (data.length !== length) {
      this.c.pos = start;
      this.mismatch(call());
    }
    this.consumed();
    return Buffer.from(data);
  }

  fixed16(tag: number, real: () => Uint8Array): Uint8Array {
    if (this.offLog) return real();
    this.expect(tag, () => TAGS[tag].call);
    const data = Buffer.from(this.c.bytes(16));
    this.consumed();
    return data;
  }

  int(tag: number, real: () => number): number {
    if (this.offLog) return real();
    this.expect(tag, () => TAGS[tag].call);
    const v = unzigzag(this.c.varint());
    this.consumed();
    return v;
  }

  output(fd: number, data: Uint8Array): void {
    if (this.offLog) return; // written for real, not checked
    this.takeTurnToWrite();
    const name = fd === 1 ? 'stdout' : fd === 2 ? 'stderr' : `fd ${fd}`;
    const actual = () => `wrote to ${name} ${quote(data)}`;
    const head = this.peek();
    if (!head || head.kind !== 'output' || head.fd !== fd) this.mismatch(actual());
    const same =
      head.tag === Tag.Write
        ? Buffer.from(head.data!).equals(Buffer.from(data))
        : head.length === data.length && Buffer.from(head.digest!).equals(digest(data));
    if (!same) {
      // A large write keeps only its head in the log: compared as far as that goes.
      const text = (b: Uint8Array) => JSON.stringify(Buffer.from(b).toString('utf8'));
      const mine = head.tag === Tag.Write ? data : data.subarray(0, head.data!.length);
      this.mismatch(actual(), programStack(), { expected: text(head.data!), actual: text(mine) });
    }
    this.skip();
    this.outputs++;
  }

  /** The counter of the process's threads' outputs (see RecordSession.outputOrder). */
  outputOrder: Int32Array | null = null;
  /**
   * This thread's last output was written: the next ticket's turn, once this JS stack has
   * unwound, or before this thread waits for another (sources/workers.ts) or exits.
   */
  private written = false;
  readonly passTurn = (): void => {
    if (!this.written) return;
    this.written = false;
    // Slot 1 + k: the next ticket after k that some thread's log holds (sources/workers.ts);
    // tickets taken but never logged (a thread stopped in between) are skipped.
    const order = this.outputOrder!;
    const now = original.Atomics.load(order, 0);
    original.Atomics.store(order, 0, now + 1 < order.length ? order[now + 1] : now + 1);
    original.Atomics.notify(order, 0);
  };

  /**
   * An output with a ticket waits until the outputs of other threads recorded before it are
   * written; the next ticket's turn comes when this write (synchronous, after this returns)
   * is done.
   */
  private takeTurnToWrite(): void {
    const c = this.c;
    if (c.pos >= c.end || c.b[c.pos] !== Tag.Value) return;
    const head = this.peek();
    if (head?.api !== Api['thread.outputOrder']) return;
    this.skip();
    const order = this.outputOrder;
    if (order === null) return;
    this.passTurn();
    const ticket = head.payload as number;
    const since = original.dateNow();
    for (let now = original.Atomics.load(order, 0); now !== ticket; now = original.Atomics.load(order, 0)) {
      if (now > ticket || original.dateNow() - since > HOLD_LIMIT_MS) {
        this.mismatch(`waited for output ${ticket} of this process's threads, but ${now > ticket ? 'its turn has passed' : `output ${now} was never written`}`);
      }
      original.Atomics.wait(order, 0, now, 1000);
    }
    this.written = true;
    queueMicrotask(this.passTurn);
  }

  newOp(): number {
    if (this.hook === null) return this.nextOp++;
    if (this.hook.diverted) this.refuse('creating an asynchronous operation');
    const op = this.nextOp++;
    this.hook.created(op);
    return op;
  }

  call<T>(api: number, args: unknown, real: () => T, codec?: ResultCodec<T>): T {
    // Evaluated while a debugger has the program paused: the outside world answers live.
    if (this.offLog) return real();
    const rec = this.expectCall(api, args, 'called');
    if (rec.status === 0) this.mismatch(`called ${apiName(api)} ${summarize(args)} and waited for its result`);
    if (rec.status === 2) return rethrow(decodeValue(rec.value));
    return codec ? codec.decode(rec.value) : (decodeValue(rec.value) as T);
  }

  async(a: AsyncCall): number {
    const op = this.newOp();
    if (a.args !== undefined) {
      const rec = this.expectCall(a.api, a.args, 'started');
      if (rec.status !== 0) this.mismatch(`started ${apiName(a.api)} ${summarize(a.args)} asynchronously`);
    }
    const decode = a.codec ? a.codec.decode : (p: unknown) => decodeValue(p) as unknown[];
    this.register(op, {
      tag: Tag.Callback,
      api: a.api,
      repeat: a.repeat ?? false,
      what: a.what,
      fire: (payload) => a.cb(...decode(payload)),
    });
    return op;
  }

  private readonly reported = new Set<string>();

  unsupported(name: string, _why: string): void {
    if (this.offLog || this.reported.has(name)) return;
    this.reported.add(name);
    this.expectCall(Api['rewind.unsupported'], name, 'used');
  }

  /**
   * Consumes the StreamWrite event a write to stream handle `op` must match (same handle,
   * same length, same bytes by crc32) and returns how the recorded write went.
   */
  streamWrite(op: number, length: number, crc: number, actual: () => string): { status: number; async: boolean } {
    if (this.offLog) this.refuse('writing to a socket or pipe');
    const head = this.peek();
    if (!head || head.tag !== Tag.StreamWrite || head.op !== op || head.length !== length || head.crc !== crc) {
      this.mismatch(actual());
    }
    this.skip();
    return { status: head.status!, async: head.async! };
  }

  /**
   * A callback the native side made in the middle of a call from JS (TLS's handshake
   * starting inside ssl.start()): consumed by that call at replay, not by the dispatcher.
   * Returns its payload, or null when the next event is not such a callback of `op`.
   */
  takeCallback(op: number, api: number): { payload: unknown } | null {
    const head = this.peek();
    if (!head || head.tag !== Tag.Callback || head.op !== op || head.api !== api) return null;
    this.skip();
    return { payload: head.payload };
  }

  /**
   * Like takeCallback, for callbacks of any op: a native library calling the program back
   * in the middle of a call (see sources/membrane.ts). Returns the op and its payload.
   */
  takeNested(api: number): { op: number; payload: unknown } | null {
    const head = this.peek();
    if (!head || head.tag !== Tag.Callback || head.api !== api) return null;
    this.skip();
    return { op: head.op!, payload: head.payload };
  }

  /** Consumes the Call event the program's call must match: same API, same arguments. */
  private expectCall(api: number, args: unknown, verb: string): CallRecord {
    const head = this.peek();
    const encoded = encodeValue(args);
    if (!head || head.tag !== Tag.Call || head.api !== api || !pack(head.call!.args).equals(pack(encoded))) {
      const full = (a: number, args: unknown) => `${apiName(a)} ${JSON.stringify(toJson(args))}`;
      const both = head && head.tag === Tag.Call ? { expected: full(head.api!, head.call!.args), actual: full(api, encoded) } : undefined;
      this.mismatch(`${verb} ${apiName(api)} ${summarize(encoded)}`, programStack(), both);
    }
    this.skip();
    return head.call!;
  }

  // ---- async operations ----------------------------------------------------------------

  /** Registers a callback under its op id; the dispatcher runs it when the log says so. */
  register(op: number, entry: ReplayOp): void {
    this.ops.set(op, entry);
    if (this.parked !== null) this.unpark();
    else this.schedule();
  }

  /** Work an op waits for (see ReplayOp.ready) has finished: its turn can come. */
  wake(): void {
    if (this.parked !== null) this.unpark();
  }

  /** The program cancelled an operation (clearTimeout and the like). */
  cancel(op: number): void {
    if (this.offLog) this.refuse('cancelling an asynchronous operation');
    this.ops.delete(op);
  }

  isPending(op: number): boolean {
    return this.ops.has(op);
  }

  /**
   * Queues dispatcher steps. A batch of immediates runs in one event-loop iteration, and
   * Node drains nextTicks and microtasks between immediates exactly as it does between
   * recorded callbacks, so each step still sees a fully settled program.
   */
  private schedule(): void {
    if (this.queued > 0 || this.finished) return;
    for (let i = 0; i < STEPS_PER_ITERATION; i++) original.setImmediate(this.pump);
    this.queued = STEPS_PER_ITERATION;
  }

  /** One step of the dispatcher: run the next turn, or find out why it cannot run. */
  private readonly pump = (): void => {
    this.queued--;
    if (this.finished || this.parked !== null) return;
    const c = this.c;
    if (c.pos >= c.end) return this.logEnded('waited for the next event');
    const tag = c.b[c.pos];
    if (TURN_TAGS.has(tag)) {
      // Hot path: decode the turn in place, no allocation.
      const save = c.pos;
      c.pos++;
      const id = c.varint();
      const dt = c.varint();
      const api = tag === Tag.Callback ? c.varint() : 0;
      const op = this.ops.get(id);
      if (!op || op.tag !== tag || (tag === Tag.Callback && op.api !== api)) {
        c.pos = save;
        if (op) this.mismatch(`has op #${id} as ${op.what}`, null);
        if (id < this.nextOp) this.mismatch(`went idle: op #${id} has already finished or been cancelled`, null);
        // Not created yet: the program creates it later, in a callback of something the
        // log does not hold or from a 'beforeExit' listener.
        return this.park(`op #${id} was never created`);
      }
      if (op.ready && !op.ready()) {
        c.pos = save;
        this.holdOpen(id, op);
        return this.park(`op #${id}, ${op.what}, has not finished yet`);
      }
      let payload: unknown;
      if (tag === Tag.Callback) payload = c.msgpack();
      else if (tag === Tag.StreamRead) {
        // Bytes read (a view into the log: the op copies them) or a libuv status.
        const n = unzigzag(c.varint());
        payload = n > 0 ? c.bytes(n) : n;
      }
      this.n++;
      this.lastTurnUs += dt;
      if (!op.repeat) this.ops.delete(id);
      // Schedule first: if the callback throws and the program survives it
      // (an 'uncaughtException' handler), the replay must go on.
      this.schedule();
      if (this.hook !== null) this.hook.turn(this.n, id, () => op.fire(payload));
      else op.fire(payload);
      return;
    }
    if (tag === Tag.Signal) return this.deliverSignal();
    if (tag === Tag.End) {
      if (this.peek()?.end?.via === 'terminated') {
        // A worker thread stopped from outside (worker.terminate(), its process ending): it
        // was alive until then, and stays alive until its replayed parent stops it too.
        this.park('the recording ended here, with the thread stopped by its parent');
        this.stayAlive ??= original.setInterval(() => {}, 1 << 30);
        this.onLogDone?.();
        return;
      }
      this.park('the recording ended here');
      return this.awaitExit();
    }
    // A value or output the program has not asked for yet.
    this.park('it never asked for it');
  };

  /**
   * Stops pumping until the program moves: it registers an op or consumes the next event.
   * Meanwhile the event loop is free to empty, and Node emits 'beforeExit' (whose
   * listeners may do either) or 'exit', where exiting() reports a divergence if the log
   * holds more. rewind itself never keeps an idle program alive.
   */
  private park(why: string): void {
    this.parked = why;
  }
  private parked: string | null = null;

  /**
   * The program consumed an event or created an op: the dispatcher goes on if the next
   * event is one it can deliver. Otherwise it stays parked, so that rewind's own steps
   * never keep the event loop from emptying where the recorded one emptied.
   */
  private unpark(): void {
    if (!this.deliverable()) return;
    this.parked = null;
    this.release();
    this.schedule();
  }

  /**
   * The next turn is of work that really runs at replay (a worker thread's message, zlib)
   * and has not finished: the recorded process did not exit before it, so the replay
   * waits for it even when nothing else keeps the event loop alive (an unref()'d worker).
   */
  private holdOpen(id: number, op: ReplayOp): void {
    if (this.holding !== null) return;
    const since = original.dateNow();
    this.holding = original.setInterval(() => {
      if (original.dateNow() - since < HOLD_LIMIT_MS) return;
      this.release();
      this.mismatch(`waited ${HOLD_LIMIT_MS / 1000} s for op #${id}, ${op.what}, which never finished`, null);
    }, 1000);
  }
  private holding: NodeJS.Timeout | null = null;
  private stayAlive: NodeJS.Timeout | null = null;

  private release(): void {
    if (this.holding === null) return;
    original.clearInterval(this.holding);
    this.holding = null;
  }

  /** The next event is a signal or the turn of a registered op. */
  private deliverable(): boolean {
    const c = this.c;
    if (c.pos >= c.end) return false;
    const tag = c.b[c.pos];
    if (tag === Tag.Signal) return true;
    if (!TURN_TAGS.has(tag)) return false;
    const save = c.pos;
    c.pos++;
    try {
      const op = this.ops.get(c.varint());
      return op !== undefined && (!op.ready || op.ready());
    } catch {
      return false;
    } finally {
      c.pos = save;
    }
  }

  private deliverSignal(): void {
    const ev = this.peek()!;
    this.skip();
    const sig = ev.signal!;
    const next = this.peek();
    if (next?.kind === 'end' && next.end!.signal === sig) {
      // No handler ran at record: the signal's default action ended the process.
      this.skip();
      this.finish();
      original.processKill(original.pid, sig);
      return;
    }
    this.schedule();
    process.emit(sig as NodeJS.Signals, sig as NodeJS.Signals);
  }

  /** The log says the process ended here; the program should now exit by itself. */
  private awaitExit(): void {
    if (this.exitTimer) return;
    this.exitTimer = original.setTimeout(() => {
      const end = this.peek()?.end;
      writeStderr(
        `rewind: the recording ends here (event ${this.n + 1}: ${end ? describeEnd(end) : 'end'}), ` +
          `but the replayed program still has live handles (${liveResources(this.baseline).join(', ') || 'unknown'}); ending it as the recording did.\n`,
      );
      this.finish();
      original.reallyExit(end?.code ?? 1);
    }, EXIT_GRACE_MS);
    this.exitTimer.unref();
  }
  private exitTimer: NodeJS.Timeout | null = null;

  // ---- the end of the run --------------------------------------------------------------

  /** Called as the program emits 'exit', before its listeners run. */
  exiting(code: number): void {
    this.passTurn();
    const head = this.peek();
    if (!head) return this.logEnded(`exited with code ${code}`);
    if (head.kind === 'turn' || head.kind === 'signal') this.mismatch(this.exitedHow(code));
  }

  private exitedHow(code: number): string {
    return `exited with code ${code}${this.parked ? ` after going idle (${this.parked})` : ''}`;
  }

  /** Called after the program's 'exit' listeners ran. */
  exited(code: number): void {
    const head = this.peek();
    if (!head) return this.logEnded(`exited with code ${code}`);
    if (head.kind !== 'end' || head.end!.code !== code) this.mismatch(this.exitedHow(code));
    this.skip();
    this.finish();
    if (this.options.summary) {
      writeStderr(
        `rewind: replay complete: ${this.n} of ${this.file.eventCount} events matched the recording, ` +
          `${this.outputs} writes identical, ${describeEnd(head.end!)}\n`,
      );
    }
  }

  /** An uncaught exception or unhandled rejection reached the top. */
  failure(err: unknown, origin: string): void {
    const info = failureInfo(err, origin); // first, as recording did: see testFailed
    const head = this.peek();
    const actual = `threw ${origin === 'unhandledRejection' ? 'an unhandled rejection' : 'an uncaught exception'}: ${errorLine(err)}`;
    if (!head) return this.logEnded(actual);
    if (head.kind !== 'failure') this.mismatch(actual);
    const f = head.failure!;
    if (f.message !== info.message || f.name !== info.name) this.mismatch(actual);
    this.skip();
  }

  turnWallTime(): number {
    return this.header.startWall + Math.floor(this.lastTurnUs / 1000);
  }

  /** A test runner integration reports a failed test: it must be the recorded one. */
  testFailed(test: string, err: unknown): void {
    if (this.offLog) return;
    // First, as recording did: reading the error's stack runs the program's
    // Error.prepareStackTrace (jest's source maps), which may read files.
    const info = failureInfo(err, 'test');
    const head = this.peek();
    const actual = `failed the test ${JSON.stringify(test)}: ${errorLine(err)}`;
    if (!head) return this.logEnded(actual);
    const f = head.failure;
    if (!f || f.origin !== 'test' || f.test !== test || f.message !== info.message) this.mismatch(actual);
    this.skip();
    // A test runner reports its failures elsewhere (vitest, in its main process): say it here.
    writeStderr(`rewind: test failed, as recorded (event ${this.n}): ${test}\n${f.stack}\n`);
  }

  private finish(): void {
    this.finished = true;
    this.release();
    if (this.outputOrder !== null) this.passTurn();
    this.onLogDone?.();
  }

  /** Called when the replay has consumed its log or stops (a worker thread tells its parent: sources/workers.ts). */
  onLogDone: (() => void) | null = null;

  /**
   * The log stops short (the recorded process was killed, or its log could not be written):
   * replay has done all it can. What the recorded process did after its last event is not
   * known, so the replay never claims it ended as recorded: it exits 70, unless the recorded
   * process was killed by a signal, which it then dies of too.
   */
  private logEnded(actual: string): never {
    this.finish();
    const why = this.file.truncated ?? 'the log has no end record';
    const [kind, value] = (this.options.recordedStatus ?? '').split(':');
    const killed = kind === 'signal' && value;
    writeStderr(
      `rewind: the recording ends at event ${this.n} (${why}): the recorded process was killed or crashed, ` +
        `or its log could not be written (disk full), before rewind could write more. The replay reproduced every recorded event and stops here ` +
        `(the program ${actual}).` +
        (killed
          ? '\n'
          : ` What the recorded process did after event ${this.n} (its later events, its output, how it ended) is missing from the recording, ` +
            `so this replay cannot end as the recorded run did: exit status ${EXIT.DIVERGENCE}.\n`),
    );
    if (killed) original.processKill(original.pid, value);
    return original.reallyExit(EXIT.DIVERGENCE);
  }

  // ---- reading the log -----------------------------------------------------------------

  /** Decodes the next event without consuming it. */
  private peek(): TraceEvent | null {
    const c = this.c;
    if (c.pos >= c.end) return null;
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
  private peekEnd = 0;
  private peekState: DecodeState | null = null;

  /** Consumes the event last peeked, and the delta bases it moved. */
  private skip(): void {
    const st = this.peekState!;
    const end = this.peekEnd;
    if (this.hook !== null) this.hook.value(this.n + 1);
    this.lastWall = st.lastWall;
    this.lastMono = st.lastMono;
    this.lastTurnUs = st.lastTurnUs;
    this.c.pos = end;
    this.consumed();
  }

  private decodeState(): DecodeState {
    const st = new DecodeState(this.header);
    st.lastWall = this.lastWall;
    st.lastMono = this.lastMono;
    st.lastTurnUs = this.lastTurnUs;
    st.timeUs = this.lastTurnUs;
    return st;
  }

  /**
   * A worker thread stopped from outside while its JS ran (busy, or blocked in Atomics.wait):
   * its log ends inside a turn. The replay stops here too and waits, like the recorded thread,
   * for its replayed parent to stop it.
   */
  private stoppedHere(): never {
    this.finish();
    const forever = new Int32Array(new SharedArrayBuffer(4));
    for (;;) original.Atomics.wait(forever, 0, 0);
  }

  /** Stops the replay with a report: the log holds something else than what the program did. */
  mismatch(actual: string, stack: string | null = programStack(), full?: { expected: string; actual: string }): never {
    const head = this.peek();
    if (!head) return this.logEnded(actual);
    if (head.end?.via === 'terminated') return this.stoppedHere();
    this.finish();
    return divergence({
      event: this.n + 1,
      total: this.file.eventCount,
      expected: describeEvent(head, this.header),
      actual,
      stack,
      full,
      redacted: this.header.redacted?.rules,
    });
  }
}


function countResources(): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of original.getActiveResourcesInfo()) m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}

function liveResources(baseline: Map<string, number>): string[] {
  const out: string[] = [];
  for (const [type, count] of countResources()) {
    if (count > (baseline.get(type) ?? 0) && type !== 'Timeout' && type !== 'Immediate') out.push(type);
  }
  return out;
}

