// Timers: setTimeout / setInterval / setImmediate (global and node:timers), their clears,
// and the Timeout/Immediate handles. Recording wraps each callback so that entering it
// logs a turn; replay hands out virtual handles whose callbacks only the dispatcher runs,
// in logged order, without waiting. timers/promises is built on top (timers-promises.ts).
import timers from 'node:timers';
import { promisify, transferableAbortController } from 'node:util';
import { whenLoaded } from '../node/fields.js';
import { kTimerAsyncId } from '../node/symbols.js';
import { Tag } from '../trace/format.js';
import type { Chaos } from '../session/chaos.js';
import { original } from '../node/originals.js';
import type { RecordSession } from '../session/record.js';
import type { ReplayOp, ReplaySession } from '../session/replay.js';
import type { Session, Source } from '../session/session.js';
import { installTimerPromises, type TimerApi } from './timers-promises.js';

type Fn = (...args: unknown[]) => unknown;
const noop = () => {};

function recordTimers(s: RecordSession): TimerApi {
  const held = s.chaos === null ? null : chaosTimers(s.chaos);
  const realTimeout = original.setTimeout as Fn;
  const realInterval = original.setInterval as Fn;
  const realImmediate = original.setImmediate as Fn;
  // The callback Node enters: it logs the turn, then runs the program's.
  const entering = (tag: number, op: number, cb: Fn, args: unknown[] | null) =>
    function (this: unknown) {
      s.turn(tag, op);
      return args === null ? cb.call(this) : cb.apply(this, args);
    };
  // A loop, not Array.prototype.slice.call(arguments), which makes the arguments object.
  const argsFrom = (all: IArguments, first: number) => {
    const n = all.length - first;
    if (n <= 0) return null;
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = all[first + i];
    return out;
  };
  // Record --chaos: Node's `real` fires the chaos lanes' wrapper, which may hold the turn.
  const chaotic = (real: Fn, tag: number, op: number, entered: Fn, delay: unknown) => {
    const fire = held!(tag, op, entered);
    const timer = tag === Tag.Immediate ? real(fire) : real(fire, delay);
    held!.own(timer, op);
    return timer;
  };
  // A function literal per API: V8 shares type feedback and optimized code between the
  // closures of one literal, and a wrapper shared by the three called Node's function
  // polymorphically, never inlined (nor its Immediate or Timeout constructor). `arguments`,
  // not rest parameters, and no argument array for the common call without extra arguments:
  // timers are hot, 10^5 turns must not cost 10^5 allocations more. Bad arguments: Node
  // throws its own error, nothing is created.
  return {
    setTimeout: function (this: unknown, cb: unknown, delay?: unknown) {
      if (typeof cb !== 'function') return realTimeout.apply(this, arguments as unknown as unknown[]);
      const op = s.newOp();
      const entered = entering(Tag.Timeout, op, cb as Fn, argsFrom(arguments, 2));
      return held === null ? realTimeout(entered, delay) : chaotic(realTimeout, Tag.Timeout, op, entered, delay);
    },
    setInterval: function (this: unknown, cb: unknown, delay?: unknown) {
      if (typeof cb !== 'function') return realInterval.apply(this, arguments as unknown as unknown[]);
      const op = s.newOp();
      const entered = entering(Tag.Interval, op, cb as Fn, argsFrom(arguments, 2));
      return held === null ? realInterval(entered, delay) : chaotic(realInterval, Tag.Interval, op, entered, delay);
    },
    setImmediate: function (this: unknown, cb: unknown) {
      if (typeof cb !== 'function') return realImmediate.apply(this, arguments as unknown as unknown[]);
      const op = s.newOp();
      const entered = entering(Tag.Immediate, op, cb as Fn, argsFrom(arguments, 1));
      return held === null ? realImmediate(entered) : chaotic(realImmediate, Tag.Immediate, op, entered, undefined);
    },
    clearTimeout: held === null ? (original.clearTimeout as Fn) : held.clear(original.clearTimeout as Fn),
    clearInterval: held === null ? (original.clearInterval as Fn) : held.clear(original.clearInterval as Fn),
    clearImmediate: held === null ? (original.clearImmediate as Fn) : held.clear(original.clearImmediate as Fn),
  };
}

interface TimerHandle {
  hasRef(): boolean;
}

/**
 * Chaos (record --chaos): each firing goes through the chaos lanes, which may hold it;
 * a held firing has not happened as far as the program knows, so clearing or refreshing
 * the timer (by object or by its numeric id) drops it, as Node would drop a pending one.
 */
function chaosTimers(c: Chaos) {
  const timeoutProbe = original.setTimeout(noop, 1);
  const immediateProbe = original.setImmediate(noop);
  original.clearTimeout(timeoutProbe);
  original.clearImmediate(immediateProbe);
  const kAsyncId = kTimerAsyncId();
  const same = (t: unknown) =>
    typeof t === 'number' || typeof t === 'string'
      ? (owner: object) => kAsyncId !== null && (owner as Record<symbol, unknown>)[kAsyncId] === Number(t)
      : (owner: object) => owner === t;
  const cancelling = (P: Record<string | symbol, unknown>, name: string | symbol) => {
    const real = P[name];
    if (typeof real !== 'function') return;
    P[name] = function (this: object, ...args: unknown[]) {
      if (c.holdsTimers) c.cancel(same(this));
      if (name !== 'refresh') c.cleared(this);
      return (real as Fn).apply(this, args);
    };
  };
  // Node's close(), refresh() and dispose clear through its private clearTimeout.
  for (const name of ['close', 'refresh', Symbol.dispose]) cancelling(Object.getPrototypeOf(timeoutProbe), name);
  cancelling(Object.getPrototypeOf(immediateProbe), Symbol.dispose);

  const held = (tag: number, op: number, entered: Fn) => {
    const immediate = tag === Tag.Immediate;
    const lane = immediate ? c.immediates : c.timers;
    let n = 0; // an interval fires again and again
    return function (this: TimerHandle) {
      // Node marks an immediate unref'd before running it: a held one keeps the process up.
      c.deliver(lane, { op, n: n++, owner: this, ref: immediate || this.hasRef() }, () => entered.call(this));
    };
  };
  held.clear = (real: Fn) =>
    function (this: unknown, t: unknown) {
      if (c.holdsTimers && t !== null && t !== undefined) c.cancel(same(t));
      if (typeof t === 'object' && t !== null) c.cleared(t);
      return real.call(this, t);
    };
  /** The timer or immediate `timer` is operation `op` (a forced schedule gives up on its firings when it is cleared). */
  held.own = (timer: unknown, op: number) => {
    if (typeof timer === 'object' && timer !== null) c.owned(timer, op);
  };
  return held;
}

/** Stands in for a Timeout or Immediate at replay; same methods, no real timer behind it. */
class VirtualTimer {
  private refed = true;
  /** Registered with the dispatcher; or a Timeout that ran (refresh() re-arms it); or cleared. */
  private state: 'pending' | 'fired' | 'cleared' = 'pending';
  private readonly entry: ReplayOp;
  constructor(
    readonly op: number,
    readonly kind: number,
    what: string,
    cb: Fn,
    args: unknown[],
    private readonly timers: Map<number, VirtualTimer>,
    private readonly s: ReplaySession,
  ) {
    const repeat = kind === Tag.Interval;
    this.entry = {
      tag: kind,
      repeat,
      what,
      fire: () => {
        if (!repeat) {
          this.state = 'fired';
          timers.delete(op);
        }
        cb.apply(this, args);
      },
    };
    this.arm();
  }
  private arm() {
    this.state = 'pending';
    this.timers.set(this.op, this);
    this.s.register(this.op, this.entry);
  }
  ref() {
    this.refed = true;
    return this;
  }
  unref() {
    this.refed = false;
    return this;
  }
  hasRef() {
    return this.refed;
  }
  /**
   * When a pending timer fires is the log's business. A Timeout that already ran is
   * armed again, as Node does: the recording then has the same op firing once more.
   */
  refresh() {
    if (this.state === 'fired') this.arm();
    return this;
  }
  close() {
    this.cancel();
    return this;
  }
  cancel() {
    this.state = 'cleared';
    this.timers.delete(this.op);
    this.s.cancel(this.op);
  }
  [Symbol.toPrimitive]() {
    return this.op;
  }
  [Symbol.dispose]() {
    this.cancel();
  }
}

// Named like Node's classes: stack frames read "at Timeout.<anonymous>" in both runs.
class Timeout extends VirtualTimer {}
class Immediate extends VirtualTimer {}

function replayTimers(s: ReplaySession): TimerApi {
  const live = new Map<number, VirtualTimer>();
  const make = (tag: number, name: string, real: Fn) =>
    function (cb: unknown, ...rest: unknown[]) {
      if (typeof cb !== 'function') return real(cb, ...rest);
      // An unusual delay: let Node coerce it and emit its own warning (TimeoutOverflowWarning...).
      const delay = rest[0];
      if (tag !== Tag.Immediate && !(typeof delay === 'number' && delay >= 1 && delay <= 0x7fffffff)) {
        original.clearTimeout(real(noop, delay) as NodeJS.Timeout);
      }
      const op = s.newOp();
      const args = tag === Tag.Immediate ? rest : rest.slice(1);
      const Class = tag === Tag.Immediate ? Immediate : Timeout;
      return new Class(op, tag, `${name}()`, cb as Fn, args, live, s);
    };
  const clear = (kinds: number[]) =>
    function (t: unknown) {
      if (t instanceof VirtualTimer) {
        if (kinds.includes(t.kind)) t.cancel();
      } else if (typeof t === 'number' || typeof t === 'string') {
        const v = live.get(Number(t));
        if (v && kinds.includes(v.kind)) v.cancel();
      }
    };
  return {
    setTimeout: make(Tag.Timeout, 'setTimeout', original.setTimeout as Fn),
    setInterval: make(Tag.Interval, 'setInterval', original.setInterval as Fn),
    setImmediate: make(Tag.Immediate, 'setImmediate', original.setImmediate as Fn),
    // As in Node, clearTimeout and clearInterval clear either kind.
    clearTimeout: clear([Tag.Timeout, Tag.Interval]),
    clearInterval: clear([Tag.Timeout, Tag.Interval]),
    clearImmediate: clear([Tag.Immediate]),
  };
}

export const timersSource: Source = {
  name: 'timers',
  install(s: Session) {
    const api = s.mode === 'record' ? recordTimers(s) : replayTimers(s);
    const promises = installTimerPromises(api);
    for (const name of Object.keys(api) as (keyof TimerApi)[]) {
      Object.defineProperty(api[name], 'name', { value: name });
      (timers as unknown as Record<string, unknown>)[name] = api[name];
      (globalThis as unknown as Record<string, unknown>)[name] = api[name];
    }
    // As AbortSignal's module loads: Node loads it when the program first reads it, not at
    // start-up (loading it then cost every process about 0.15 ms).
    whenLoaded('internal/abort_controller', () => installAbortSignalTimeout(api), loadAbortSignal);
    // util.promisify(setTimeout) and friends resolve to the timers/promises versions.
    const custom = promisify.custom;
    (api.setTimeout as unknown as Record<symbol, unknown>)[custom] = promises.setTimeout;
    (api.setImmediate as unknown as Record<symbol, unknown>)[custom] = promises.setImmediate;
  },
};

const loadAbortSignal = () => globalThis.AbortSignal;

/**
 * Node's AbortSignal, from a controller util makes, not from the global: reading the global
 * may be what is loading the module (on Node 22 and later a V8 lazy property, which aborts
 * the process if read again from inside its own load), or it may hold the program's own.
 */
const nodeAbortSignal = (): typeof AbortSignal =>
  transferableAbortController().signal.constructor as typeof AbortSignal;

/**
 * AbortSignal.timeout on the session's timers. Node's own version takes setTimeout from
 * whatever `timers` held when its module first loaded, and clears the timer when the
 * signal is garbage-collected: both would make replay depend on load order and GC.
 */
function installAbortSignalTimeout(api: TimerApi): void {
  const Signal = nodeAbortSignal();
  const real = Signal.timeout;
  Signal.timeout = function timeout(delay: number): AbortSignal {
    if (!Number.isInteger(delay) || delay < 0 || delay > 0xffffffff) return real.call(Signal, delay);
    const controller = new AbortController();
    const t = api.setTimeout(() => {
      controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    }, delay) as { unref(): unknown };
    t.unref();
    return controller.signal;
  };
}
