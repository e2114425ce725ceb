// The op registry and the dispatcher: async operations register their callbacks by op id
// (ids are handed out in creation order, which replay reproduces); one dispatcher pops the
// next turn from the log, runs that callback, lets microtasks drain, and moves on. No real
// clock, timer or wait is used, so idle time costs nothing.
import { DecodeError, unzigzag } from '../trace/codec.js';
import { describeEnd } from '../trace/describe.js';
import { Tag } from '../trace/format.js';
import { decodeEvent } from '../trace/reader.js';
import { original, writeStderr } from '../node/originals.js';
import { ReplayLog } from './replay-log.js';
import { currentContext, inEmptyContext, type InContext } from './async-context.js';
import { processEnding } from './process-end.js';

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

const TURN_TAGS = new Set<number>([Tag.Timeout, Tag.Interval, Tag.Immediate, Tag.Callback, Tag.StreamRead]);
/** Dispatcher steps per event-loop iteration. */
const STEPS_PER_ITERATION = 64;
/** How long a program may linger after the log's end record before rewind ends it. */
const EXIT_GRACE_MS = 2000;
/** How long a replay waits for real work (a worker's message, zlib) the log says finished. */
export const HOLD_LIMIT_MS = 300_000;
/**
 * Under a debugger (replay --inspect, rewind dap) a thread waits for another as long as it
 * takes: the other may be paused at a breakpoint while a person reads it.
 */
let heldByDebugger = false;
export const debuggerMayHold = (): boolean => heldByDebugger;
export function waitForPausedThreads(): void {
  heldByDebugger = true;
}

export abstract class ReplayDispatcher extends ReplayLog {
  private nextOp = 1;
  private readonly ops = new Map<number, ReplayOp>();
  /** The async context each op was registered in, once the program uses AsyncLocalStorage. */
  private readonly contexts = new Map<number, InContext>();
  private readonly baseline = countResources();
  /** Dispatcher steps queued as immediates and not yet run. */
  private queued = 0;

  newOp(): number {
    if (this.hook === null) return this.nextOp++;
    if (this.hook.diverted) this.refuse('creating an asynchronous operation');
    const op = this.nextOp++;
    this.hook.created(op);
    return op;
  }

  /**
   * A callback the native side made in the middle of a call from JS (TLS's handshake
   * starting inside ssl.start()): consumed by that call at replay, not by the dispatcher.
   * Returns its payload, or null when the next event is not such a callback of `op`.
   */
  takeCallback(op: number, api: number): { payload: unknown } | null {
    // Asked at every read of a stream (a passed IPC handle): the tag byte first, not a whole decode.
    if (this.nextTag() !== Tag.Callback) return null;
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
    if (this.nextTag() !== Tag.Callback) return null;
    const head = this.peek();
    if (!head || head.tag !== Tag.Callback || head.api !== api) return null;
    this.skip();
    return { op: head.op!, payload: head.payload };
  }

  /**
   * Runs the next turn now, inside the turn that is running, if it is a callback of `api`
   * the recording ran before the microtasks of the one before (`joined` reads that from
   * its payload): native code that called the program twice from one completion. Returns
   * whether it ran one; otherwise the dispatcher delivers the next turn as usual.
   */
  runJoined(api: number, joined: (payload: unknown) => boolean): boolean {
    if (this.nextTag() !== Tag.Callback) return false;
    const head = this.peek();
    if (!head || head.tag !== Tag.Callback || head.api !== api || !joined(head.payload)) return false;
    const id = head.op!;
    const op = this.ops.get(id);
    if (!op || op.tag !== Tag.Callback || op.api !== api || (op.ready && !op.ready())) return false;
    if (!op.repeat) this.ops.delete(id);
    this.advance();
    this.enter(id, op, head.payload);
    return true;
  }

  /**
   * The ops of the turns after the next one that runJoined will run inside it: callbacks of
   * `api` the recording ran before the microtasks of the one before (`joined`), each after
   * the events its predecessor's callback consumes (values, outputs, and its nested turns,
   * of the `inner` APIs). Their work (a worker thread's exit) must have finished before the
   * first of them runs: once it has, no event loop turn comes until all have run. Looks as
   * far ahead as the log is in memory.
   */
  joinedAfterNext(api: number, joined: (payload: unknown) => boolean, inner: readonly number[]): number[] {
    const c = this.c;
    const ops: number[] = [];
    if (c.pos >= c.end) return ops;
    const save = c.pos;
    const st = this.decodeState();
    try {
      decodeEvent(c, st, this.n + 1); // the next turn itself
      for (let n = this.n + 2; c.pos < c.end; n++) {
        const ev = decodeEvent(c, st, n);
        if (ev.kind === 'clock' || ev.kind === 'random' || ev.kind === 'value' || ev.kind === 'call') continue;
        if (ev.kind === 'output') continue;
        if (ev.kind !== 'turn' || ev.tag !== Tag.Callback) break;
        if (inner.includes(ev.api!)) continue;
        if (ev.api !== api || !joined(ev.payload)) break;
        ops.push(ev.op!);
      }
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
    } finally {
      c.pos = save;
    }
    return ops;
  }

  /**
   * Registers a callback under its op id; the dispatcher runs it when the log says so.
   * `context`: the async context the callback runs in (default: the one it is registered in;
   * a handle's reads and close run in the one the handle was made in, as in Node).
   */
  register(op: number, entry: ReplayOp, context: InContext | null = currentContext()): void {
    this.ops.set(op, entry);
    if (context !== null) this.contexts.set(op, context);
    else this.contexts.delete(op);
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
    this.contexts.delete(op);
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
    inEmptyContext(this.queueSteps);
    this.queued = STEPS_PER_ITERATION;
  }

  /** Runs op `id`'s callback, in the async context it was registered in, as the turn at hand. */
  private enter(id: number, op: ReplayOp, payload: unknown): void {
    const context = this.contexts.get(id);
    if (context === undefined && this.hook === null) return op.fire(payload); // the common case: no closure
    if (context !== undefined && !op.repeat) this.contexts.delete(id);
    const fire = context === undefined ? () => op.fire(payload) : () => context(() => op.fire(payload));
    if (this.hook !== null) this.hook.turn(this.n, id, fire);
    else fire();
  }

  private readonly queueSteps = (): void => {
    for (let i = 0; i < STEPS_PER_ITERATION; i++) original.setImmediate(this.pump);
  };

  /** One step of the dispatcher: run the next turn, or find out why it cannot run. */
  private readonly pump = (): void => {
    this.queued--;
    if (this.finished || this.parked !== null) return;
    const c = this.c;
    if (c.pos >= c.end && !this.more()) return this.logEnded('waited for the next event');
    const tag = c.b[c.pos];
    if (TURN_TAGS.has(tag)) {
      // Hot path: decode the turn in place, no allocation.
      const save = c.pos;
      c.pos++;
      const id = this.opOf(c.varint());
      const dt = c.varint();
      const api = tag === Tag.Callback ? c.varint() : 0;
      const op = this.ops.get(id);
      if (!op || op.tag !== tag || (tag === Tag.Callback && op.api !== api)) {
        c.pos = save;
        if (op) this.mismatch(`has op #${id} as ${op.what}`, null);
        if (id < this.nextOp) this.mismatch(`went idle: op #${id} has already finished or been cancelled`, null);
        // Not created yet: the program creates it later, in a callback of something the
        // log does not hold or from a 'beforeExit' listener.
        this.park(`op #${id} was never created`);
        return this.onWait?.(true);
      }
      if (op.ready) {
        // Asked with the turn not yet read: it may look at the log (see joinedAfterNext).
        const at = c.pos;
        c.pos = save;
        if (!op.ready()) {
          this.holdOpen(id, op);
          return this.park(`op #${id}, ${op.what}, has not finished yet`);
        }
        c.pos = at;
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
      this.lastOp = id;
      if (!op.repeat) this.ops.delete(id);
      // Schedule first: if the callback throws and the program survives it
      // (an 'uncaughtException' handler), the replay must go on.
      this.schedule();
      this.enter(id, op, payload);
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
    this.onWait?.(false);
  };

  /**
   * Called when the replay waits: for the program to ask for the next value (`forTurn`
   * false), or for a turn whose op the program has not created yet. A source whose asker
   * waits outside the event loop's turns (Node's module loader, for its hooks thread) may
   * wake it here.
   */
  onWait: ((forTurn: boolean) => void) | null = null;

  /** The next event is a call of `api` (not consumed). */
  nextCallIs(api: number): boolean {
    return this.nextCall(api) !== undefined;
  }

  /** The next event's arguments when it is a call of `api` (not consumed); undefined when it is not. */
  nextCall(api: number): { args: unknown } | undefined {
    const head = this.peek();
    return head !== null && head.kind === 'call' && head.api === api ? { args: head.call?.args } : undefined;
  }

  /**
   * Stops pumping until the program moves: it registers an op or consumes the next event.
   * Meanwhile the event loop is free to empty, and Node emits 'beforeExit' (whose
   * listeners may do either) or 'exit', where exiting() reports a divergence if the log
   * holds more. rewind itself never keeps an idle program alive.
   */
  private park(why: string): void {
    this.parked = why;
  }
  protected parked: string | null = null;

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
      if (heldByDebugger || original.dateNow() - since < HOLD_LIMIT_MS) return;
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
    if (c.pos >= c.end && !this.more()) return false;
    const tag = c.b[c.pos];
    if (tag === Tag.Signal) return true;
    if (!TURN_TAGS.has(tag)) return false;
    const save = c.pos;
    c.pos++;
    let op: ReplayOp | undefined;
    try {
      op = this.ops.get(this.opOf(c.varint()));
    } catch {
      return false;
    } finally {
      c.pos = save;
    }
    return op !== undefined && (!op.ready || op.ready());
  }

  private deliverSignal(): void {
    const ev = this.peek()!;
    this.skip();
    const sig = ev.signal!;
    const next = this.peek();
    if (next?.kind === 'end' && next.end!.signal === sig) {
      // No handler ran at record: the signal's default action ended the process, after
      // rewind's own duties (threads still running replay as far as their logs go).
      processEnding();
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

  protected override moved(): void {
    if (this.parked !== null) this.unpark();
  }

  protected override finish(): void {
    this.release();
    super.finish();
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
