// RecordSession: the program runs for real; every nondeterministic result it receives and
// every callback the event loop enters is appended to the trace.
import { thread } from '../node/fields.js';
import { Api, type EndInfo, type FailureInfo, type TraceHeader } from '../trace/format.js';
import { signLog } from './trust.js';
import { TraceWriter } from '../trace/writer.js';
import { AS_IS, type ArgsPacking } from '../trace/fastpack.js';
import { deliveryOf, type Chaos } from './chaos.js';
import { original, writeStderr } from '../node/originals.js';
import { failureInfo } from './failure.js';
import { rethrow, type AsyncCall, type ResultCodec, type SessionApi } from './session.js';

const FLUSH_INTERVAL_MS = 100;

export class RecordSession implements SessionApi {
  readonly mode = 'record' as const;
  readonly writer: TraceWriter;
  private nextOp = 1;
  /** The session's monotonic base (header.monoBase): seconds, nanoseconds. */
  private readonly baseSec: number;
  private readonly baseNs: number;
  private flushTimer: ReturnType<typeof setInterval> | null = null;
  private ended = false;

  constructor(
    path: string,
    readonly header: TraceHeader,
    /** Chaos mode (record --chaos), or null: the schedule as it comes. */
    readonly chaos: Chaos | null = null,
  ) {
    this.writer = new TraceWriter(path, header);
    signLog(path, this.writer.preamble);
    [this.baseSec, this.baseNs] = header.monoBase;
    // An idle program still gets its events to disk: a SIGKILL then loses at most this much.
    this.flushTimer = original.setInterval(() => this.writer.flush(), FLUSH_INTERVAL_MS);
    this.flushTimer.unref();
  }

  /** ns since the session's base, from the real monotonic clock. */
  monoNow(): number {
    // hrtime's pair, not hrtime.bigint: a BigInt difference costs two BigInts made by the
    // runtime and a conversion per reading (a tenth of bench 1's recording overhead), while
    // the pair's array is a young allocation optimized code often elides. Exact below 2^53 ns
    // (104 days), as the BigInt's Number was.
    const t = original.hrtime();
    return (t[0] - this.baseSec) * 1e9 + (t[1] - this.baseNs);
  }

  wall(tag: number): number {
    const v = original.dateNow();
    this.writer.wall(tag, v);
    return v;
  }

  mono(tag: number): number {
    const ns = this.monoNow();
    this.writer.mono(tag, ns);
    return ns;
  }

  bytes(tag: number, _length: number, real: () => Uint8Array): Uint8Array {
    const data = real();
    this.writer.bytes(tag, data);
    return data;
  }

  fixed16(tag: number, real: () => Uint8Array): Uint8Array {
    const data = real();
    this.writer.fixed(tag, data);
    return data;
  }

  int(tag: number, real: () => number): number {
    const v = real();
    this.writer.int(tag, v);
    return v;
  }

  output(fd: number, data: Uint8Array): void {
    if (this.outputOrder !== null && !this.ended)
      this.writer.value(Api['thread.outputOrder'], original.Atomics.add(this.outputOrder, 0, 1));
    this.writer.output(fd, data);
  }

  /**
   * Once the process has worker threads (sources/workers.ts): a counter all its threads
   * share, whose ticket each output takes, so that replay writes the threads' outputs in
   * the recorded order.
   */
  outputOrder: Int32Array | null = null;

  newOp(): number {
    return this.nextOp++;
  }

  /** Told of every turn as it is logged (a forced schedule counts what ran: session/schedule.ts). */
  onTurn: ((op: number) => void) | null = null;

  /** How many operations exist so far: their ids are 1 to this (forced schedules wait only for those). */
  get opsCreated(): number {
    return this.nextOp - 1;
  }

  call<T>(api: number, args: unknown, real: () => T, codec?: ResultCodec<T>): T {
    return this.callPacked(api, AS_IS, args, real, codec);
  }

  callPacked<S, T>(api: number, args: ArgsPacking<S>, subject: S, real: (subject: S) => T, codec?: ResultCodec<T>): T {
    let value: T;
    try {
      value = real(subject);
    } catch (e) {
      this.writer.call(api, { args: args.summary(subject), status: 2, value: e }, false, false);
      return rethrow(e);
    }
    this.writer.returned(api, args, subject, codec ? codec.encode(value) : value, codec !== undefined);
    return value;
  }

  async(a: AsyncCall): number {
    const op = this.newOp();
    if (a.args !== undefined) this.writer.call(a.api, { args: a.args, status: 0 }, false);
    const encode = a.codec?.encode;
    let done = (...results: unknown[]) => {
      this.writer.callback(op, this.turnTime(), a.api, encode ? encode(results) : results, encode !== undefined);
      this.onTurn?.(op);
      a.cb(...results);
    };
    if (this.audit === null) {
      a.start(this.chaos === null ? done : this.chaos.wrap(this.chaos.lane(op, deliveryOf(a.api), a.repeat), done));
      return op;
    }
    const { inside, outside } = this.audit;
    const turn = done;
    done = (...results: unknown[]) => outside(() => turn(...results));
    inside(() =>
      a.start(this.chaos === null ? done : this.chaos.wrap(this.chaos.lane(op, deliveryOf(a.api), a.repeat), done)),
    );
    return op;
  }

  /**
   * Set by `--audit` (audit.ts): the real work of a recorded operation runs `inside`, so the
   * callbacks it makes on its way (fs/promises' steps of a readFile) are known to belong to
   * it; its completion, the program's turn, runs `outside`.
   */
  audit: { inside<T>(fn: () => T): T; outside<T>(fn: () => T): T; notATurn(): void } | null = null;

  private readonly reported = new Set<string>();

  unsupported(name: string, why: string): void {
    if (this.reported.has(name)) return;
    this.reported.add(name);
    this.writer.call(Api['rewind.unsupported'], { args: name, status: 0 });
    writeStderr(
      `rewind: warning: ${name} is not recorded (${why}); a replay may diverge where the program depends on it.\n`,
    );
  }

  /** Bytes (n > 0) or a libuv status (n <= 0) arrived on stream handle `op`. */
  streamRead(op: number, n: number, data: Uint8Array | null): void {
    this.writer.streamRead(op, this.turnTime(), n, data);
    this.onTurn?.(op);
  }

  streamWrite(op: number, length: number, crc: number, status: number, async: boolean): void {
    this.writer.streamWrite(op, length, crc, status, async);
  }

  /** µs since the session's base, for turn times (hrtime's pair: as fast as performance.now(), without perf_hooks). */
  turnTime(): number {
    return Math.floor(this.monoNow() / 1000);
  }

  /** The event loop entered the callback of operation `op`. */
  turn(tag: number, op: number): void {
    this.writer.turn(tag, op, this.turnTime());
    this.onTurn?.(op);
  }

  /** The event loop entered a callback of `op` that receives `payload`. */
  callback(op: number, api: number, payload: unknown): void {
    this.writer.callback(op, this.turnTime(), api, payload);
    this.onTurn?.(op);
  }

  signal(name: string): void {
    this.writer.signal(this.turnTime(), name);
  }

  turnWallTime(): number {
    return this.header.startWall + Math.floor(this.writer.lastTurnUs / 1000);
  }

  /** A test runner integration reports a failed test, in the turn where it failed. */
  testFailed(test: string, err: unknown): void {
    this.failure({ ...failureInfo(err, 'test'), test });
  }

  failure(info: FailureInfo): void {
    this.writer.failure(info);
    this.writer.flush();
  }

  /**
   * Writes the end record; safe to call more than once. The main thread's log stays open:
   * rewind ends it from inside Node's 'exit' emit, and a program that wrapped process.emit or
   * reallyExit after rewind did (signal-exit: nyc, foreground-child) runs its own exit
   * handlers after that, whose calls and output are recorded after the end record, each
   * written at once (the replay serves them the same way: replay.ts exited()). A worker
   * thread's log closes: its parent finishes it otherwise (writer.ts share()).
   */
  end(info: EndInfo): void {
    if (this.ended) return;
    this.ended = true;
    this.writer.end(info);
    if (!thread.isMain) return this.close();
    if (this.flushTimer) original.clearInterval(this.flushTimer);
    this.flushTimer = null;
    this.writer.flush();
    this.writer.flushEach();
  }

  close(): void {
    if (this.flushTimer) original.clearInterval(this.flushTimer);
    this.flushTimer = null;
    this.writer.close();
  }
}
