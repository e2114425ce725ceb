// The membrane: what a native library (an addon loaded with process.dlopen, or Node's
// built-in node:sqlite) hands the program is replaced by look-alikes whose every use goes
// through the log. The program never holds a native object, in either mode:
//
// - while recording, each look-alike forwards to the real object and the result is logged;
// - at replay, the look-alikes are built from the log and the native code never runs (a
//   database file is not opened, a bundler writes nothing).
//
// What crosses the boundary is turned into a "wire" tree (plain msgpack-able data, tagged
// arrays): results by value, native objects by creation order ('I', 'R'), their classes
// by shape (methods, accessors, constants: a class is described once, with its first
// object), functions the library exports or returns ('F'), promises ('P': settled in a
// turn of their own), errors ('E'), and the program's own objects and functions it was
// given ('p': by the order the program handed them over). A function the program hands
// over is a callback: called by the native side during a call it is a nested event of
// that call; called from the event loop (a threadsafe function, an async completion) it
// is a turn.
//
// Calls into the library are checked at replay by a summary of their arguments (strings,
// numbers, ids, digests of bytes): a program that asks for something else diverges.
import { types } from 'node:util';
import type { RecordSession } from '../session/record.js';
import type { ReplaySession } from '../session/replay.js';
import type { Session } from '../session/session.js';
import { writeStderr } from '../node/originals.js';
import { Api, Tag } from '../trace/format.js';
import { ERROR_CLASSES } from '../trace/values.js';
import { crc32 } from '../node/bindings.js';

/**
 * A callback from native code that came before the microtasks of the callback before it
 * (one async completion calling the program twice, as sharp's does: a queue listener, then
 * the result) is marked in its payload; replay runs it inside the turn before, like Node.
 */
const JOINED = 1;
const isJoined = (payload: unknown): boolean => (payload as unknown[])[2] === JOINED;
/** Record: a callback from native code ran and no microtask checkpoint has come since. */
let tickOpen = false;
const RESOLVED = Promise.resolve();
const closeTick = () => {
  tickOpen = false;
};
function joinsTurn(): boolean {
  if (tickOpen) return true;
  tickOpen = true;
  void RESOLVED.then(closeTick);
  return false;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type Fn = (...args: any[]) => any;
type Wire = unknown;

/** Prototypes where a native class's own shape ends (and its look-alike inherits from). */
const ITERATOR_PROTO = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));
const ASYNC_ITERATOR_PROTO = Object.getPrototypeOf(Object.getPrototypeOf(async function* () {}.prototype));
const INTRINSIC = new Map<object, string>([
  [Object.prototype, 'Object'],
  [Function.prototype, 'Function'],
  [ITERATOR_PROTO, 'Iterator'],
  [ASYNC_ITERATOR_PROTO, 'AsyncIterator'],
  [Error.prototype, 'Error'],
]);
const INTRINSIC_BY_NAME = new Map<string, object>([...INTRINSIC].map(([p, n]) => [n, p]));
const WELL_KNOWN = new Map<symbol, string>([
  [Symbol.iterator, '@@iterator'],
  [Symbol.asyncIterator, '@@asyncIterator'],
  [Symbol.toStringTag, '@@toStringTag'],
  [Symbol.dispose ?? Symbol.for('rewind.none'), '@@dispose'],
  [Symbol.asyncDispose ?? Symbol.for('rewind.none2'), '@@asyncDispose'],
]);
const keyName = (k: string | symbol): string | null => (typeof k === 'string' ? k : (WELL_KNOWN.get(k) ?? null));
const keyOf = (name: string): string | symbol => {
  if (!name.startsWith('@@')) return name;
  for (const [sym, n] of WELL_KNOWN) if (n === name) return sym;
  return name;
};

const TYPED: Record<string, new (b: ArrayBuffer) => ArrayBufferView> = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
};

/** Long strings in a call's arguments are checked by length and crc32, not kept whole. */
const ARG_STRING_MAX = 512;

/**
 * Own properties `for…in` and Object.keys do not see (napi_define_properties makes them
 * non-enumerable by default: lmdb's exports): such an object is carried property by property.
 */
function hasHiddenKeys(o: object): boolean {
  return Object.getOwnPropertyNames(o).length !== Object.keys(o).length;
}

/**
 * Plain data the log stores as is: primitives, Buffers, Dates, arrays and plain objects of
 * them (a query's rows). Walked on every result, so kept cheap: own enumerable string keys.
 */
function isPlainData(v: unknown, depth = 0): boolean {
  if (v === null || typeof v !== 'object') return typeof v !== 'function' && typeof v !== 'symbol';
  if (depth > 32) return false;
  const proto = Object.getPrototypeOf(v);
  if (proto === Array.prototype) {
    const a = v as unknown[];
    for (let i = 0; i < a.length; i++) {
      const x = a[i];
      if (
        (x !== null && typeof x === 'object') || typeof x === 'function' || typeof x === 'symbol'
          ? !isPlainData(x, depth + 1)
          : false
      )
        return false;
    }
    return true;
  }
  if (proto === Object.prototype) {
    if (hasHiddenKeys(v)) return false;
    for (const k in v) {
      const x = (v as Record<string, unknown>)[k];
      if (
        (x !== null && typeof x === 'object') || typeof x === 'function' || typeof x === 'symbol'
          ? !isPlainData(x, depth + 1)
          : false
      )
        return false;
    }
    return true;
  }
  return proto === Buffer.prototype || proto === Date.prototype;
}

/**
 * A Buffer with an ArrayBuffer of its own, as an addon's are: a program may view the whole
 * `buf.buffer` (rollup reads its parser's AST as `new Uint32Array(ast.buffer)`), and a
 * Buffer decoded from the log or copied by Buffer.from shares a larger one.
 */
function ownBuffer(bytes: Uint8Array): Buffer {
  const b = Buffer.allocUnsafeSlow(bytes.byteLength);
  b.set(bytes);
  return b;
}

/**
 * Plain data with every Buffer in it given an ArrayBuffer of its own: a copy where a Buffer
 * was found, else the value itself (which may be the library's own, frozen, constants).
 */
function ownBuffers(v: unknown, depth = 0): unknown {
  if (v === null || typeof v !== 'object' || depth > 32) return v;
  if (Buffer.isBuffer(v)) return ownBuffer(v);
  if (Array.isArray(v)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < v.length; i++) {
      const x = ownBuffers(v[i], depth + 1);
      if (x !== v[i]) (copy ??= v.slice())[i] = x;
    }
    return copy ?? v;
  }
  if (Object.getPrototypeOf(v) !== Object.prototype) return v;
  const o = v as Record<string, unknown>;
  let copy: Record<string, unknown> | null = null;
  for (const k of Object.keys(o)) {
    const x = ownBuffers(o[k], depth + 1);
    if (x !== o[k]) (copy ??= { ...o })[k] = x;
  }
  return copy ?? v;
}

/** The bytes of a buffer argument (a view or an ArrayBuffer), or null. */
function bytesOf(v: unknown): Uint8Array | null {
  if (ArrayBuffer.isView(v)) return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (v instanceof ArrayBuffer) return new Uint8Array(v);
  return null;
}

/** crc32 of each buffer argument (null: not a buffer), or null when there is none. */
function buffersIn(args: unknown[]): (number | null)[] | null {
  let out: (number | null)[] | null = null;
  for (let i = 0; i < args.length; i++) {
    const b = bytesOf(args[i]);
    if (b) (out ??= new Array(args.length).fill(null))[i] = crc32(b);
  }
  return out;
}

/** The buffer arguments whose bytes changed during the call: [index, bytes now]. */
function filledSince(args: unknown[], before: (number | null)[]): [number, Buffer][] | null {
  let out: [number, Buffer][] | null = null;
  for (let i = 0; i < args.length; i++) {
    if (before[i] === null) continue;
    const b = bytesOf(args[i])!;
    if (crc32(b) !== before[i]) (out ??= []).push([i, Buffer.from(b)]);
  }
  return out;
}

/** Arrays up to this length are watched for elements the library sets (see objectsIn). */
const WATCHED_ARRAY_MAX = 4096;

/**
 * The program's plain objects and arrays among the arguments, as they were before the call
 * (libsql fills an array it is given with the next rows).
 */
function objectsIn(args: unknown[]): (PropertyDescriptorMap | null)[] | null {
  let out: (PropertyDescriptorMap | null)[] | null = null;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === null || typeof a !== 'object' || LOOK_ALIKES.has(a)) continue;
    const proto = Object.getPrototypeOf(a);
    const array = proto === Array.prototype && (a as unknown[]).length <= WATCHED_ARRAY_MAX;
    if (proto !== Object.prototype && proto !== null && !array) continue;
    (out ??= new Array(args.length).fill(null))[i] = Object.getOwnPropertyDescriptors(a);
  }
  return out;
}

/**
 * What the library set on the program's plain objects and arrays during the call (lmdb
 * fills an object it is given with functions, libsql an array with rows): [index, [key,
 * value now][]], read without getters.
 */
function setSince(args: unknown[], before: (PropertyDescriptorMap | null)[]): [number, [string, unknown][]][] | null {
  let out: [number, [string, unknown][]][] | null = null;
  for (let i = 0; i < args.length; i++) {
    const was = before[i];
    if (was === null) continue;
    const o = args[i] as object;
    let set: [string, unknown][] | null = null;
    for (const k of Object.keys(o)) {
      const d = Object.getOwnPropertyDescriptor(o, k)!;
      if (!('value' in d) || (Object.hasOwn(was, k) && 'value' in was[k] && was[k].value === d.value)) continue;
      (set ??= []).push([k, d.value]);
    }
    if (set) (out ??= []).push([i, set]);
  }
  return out;
}

// Objects one library hands out may be passed by the program to another (by their
// library's number and id): every membrane of this thread, its look-alikes and (record)
// the real objects behind them.
const LIBRARIES: Membrane[] = [];
const LOOK_ALIKES = new WeakMap<object, [Membrane, number]>();
const REALS = new WeakMap<object, [Membrane, number]>();

/** An own data property, as assignment makes one, but never a prototype (a key "__proto__" in a log is data). */
function define(o: object, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
}

export interface MembraneOwner {
  /** Shown in messages: the addon's package name, or "node:sqlite". */
  label: string;
}

/**
 * One membrane per native library. Object ids, class numbers and the program's objects
 * are numbered in the order they cross, which is the same in both runs.
 */
export class Membrane {
  private readonly record: RecordSession | null;
  private readonly replay: ReplaySession | null;
  // record: the real objects behind the look-alikes
  private readonly reals = new Map<number, object>();
  private readonly realIds = new WeakMap<object, number>();
  private nextId = 1;
  private readonly realClasses = new Map<object, number>();
  /** record: the real prototype of each class number (see mirror). */
  private readonly realProtos = new Map<number, object>();
  private readonly pending: Promise<unknown>[] = [];
  // both modes: the look-alikes
  private readonly fakes = new Map<number, object>();
  private readonly fakeIds = new WeakMap<object, number>();
  private readonly classes: object[] = [];
  /** The program's own objects the library was given (or a callback of it returned), by order. */
  private readonly program: unknown[] = [];
  private readonly programIds = new WeakMap<object, number>();
  /** The program's functions the library was given: op ids, and (record) what the library calls. */
  private readonly fnOps = new WeakMap<object, number>();
  private readonly fnsByOp = new Map<number, Fn>();
  private readonly trampolines = new WeakMap<object, Fn>();
  private readonly trampolined = new WeakMap<object, Fn>();
  private depth = 0;
  private broken = false;

  constructor(
    private readonly s: Session,
    readonly owner: MembraneOwner,
    /** Which library this is, in the order they were loaded: part of every call's summary. */
    private readonly index: number,
    /** Runs before each call into the library (both modes). */
    private readonly beforeCall: (() => void) | null = null,
  ) {
    this.record = s.mode === 'record' ? s : null;
    LIBRARIES[index] = this;
    this.replay = s.mode === 'replay' ? s : null;
  }

  /** Record: the library's exports become look-alikes; returns [wire, exports the program gets]. */
  wrapExports(real: unknown): Wire {
    return this.toWire(real);
  }

  /** The program-facing value of a wire (both modes). */
  open(w: Wire): unknown {
    return this.fromWire(w);
  }

  // ---- calls -------------------------------------------------------------------------------

  /** One call into the library: summary checked at replay, result (or throw) from the log. */
  private cross(summary: unknown[], real: () => unknown, newTarget?: object, args?: unknown[]): unknown {
    if (this.beforeCall !== null) this.beforeCall();
    this.depth++;
    let w: Wire;
    try {
      if (this.replay) this.takeNested();
      w = this.s.call(Api['native.call'], [this.index, ...summary], () => {
        // Replay runs this only off the log, for a debugger's evaluation while paused.
        if (this.replay)
          throw new Error(
            `rewind: calling into ${this.owner.label} is refused while the replay is paused in a debugger: its native code is not loaded at replay.`,
          );
        const before = args && buffersIn(args);
        const shapes = args && objectsIn(args);
        let result: unknown;
        try {
          result = real();
        } catch (e) {
          throw ['!', this.thrownWire(e)];
        }
        const wire = this.toWire(result);
        // Bytes the library wrote into a buffer the program passed are part of the result,
        // and so are properties it set on the program's objects.
        const filled = before && filledSince(args!, before);
        const set = shapes && setSince(args!, shapes);
        if (!set) return filled ? ['W', wire, filled] : wire;
        const wired = set.map(([i, kv]) => [i, kv.map(([k, v]) => [k, this.toWire(v)])]);
        return ['W', wire, filled ?? [], wired];
      });
    } catch (e) {
      if (Array.isArray(e) && e[0] === '!') throw this.fromWire(e[1]);
      throw e;
    } finally {
      this.depth--;
    }
    if (!Array.isArray(w) || w[0] !== 'W') return this.fromWire(w, newTarget);
    for (const [i, bytes] of w[2] as [number, Uint8Array][]) bytesOf(args![i])?.set(bytes);
    // The result first, as recording wired it (a class is described with its first object).
    const result = this.fromWire(w[1], newTarget);
    // Both modes: the program's object gets look-alikes, never the library's own values.
    for (const [i, kv] of (w[3] ?? []) as [number, [string, Wire][]][])
      for (const [k, x] of kv) define(args![i] as object, k, this.fromWire(x));
    return result;
  }

  private realOf(fake: unknown): any {
    if ((typeof fake === 'object' || typeof fake === 'function') && fake !== null) {
      const id = this.fakeIds.get(fake);
      if (id !== undefined) return this.reals.get(id);
    }
    return this.unwrap(fake);
  }

  invoke(target: object, key: string, args: unknown[]): unknown {
    return this.cross(
      ['m', this.summary(target), key, this.summaries(args)],
      () => {
        const real = this.realOf(target);
        return Reflect.apply(
          real[keyOf(key)],
          real,
          args.map((a) => this.unwrap(a)),
        );
      },
      undefined,
      args,
    );
  }

  get(target: object, key: string): unknown {
    return this.cross(['g', this.summary(target), key], () => this.realOf(target)[keyOf(key)]);
  }

  set(target: object, key: string, v: unknown): void {
    this.cross(['s', this.summary(target), key, this.summary(v)], () => {
      this.realOf(target)[keyOf(key)] = this.unwrap(v);
    });
  }

  apply(id: number, self: unknown, args: unknown[]): unknown {
    // `this` is checked shallowly: an exports object would otherwise be summarized whole.
    const selfId =
      (typeof self === 'object' || typeof self === 'function') && self !== null ? this.fakeIds.get(self) : undefined;
    const summary = ['c', id, selfId ?? typeof self, this.summaries(args)];
    // Recording unwraps `this` whole (a program's object holding functions: each an op); the
    // replay never unwraps, so it makes the same ops here, in the same order.
    if (this.replay && selfId === undefined) this.callbackOpsIn(self);
    return this.cross(
      summary,
      () =>
        Reflect.apply(
          this.reals.get(id) as Fn,
          this.unwrap(self),
          args.map((a) => this.unwrap(a)),
        ),
      undefined,
      args,
    );
  }

  construct(id: number, args: unknown[], newTarget: object): unknown {
    const fake = this.fakes.get(id);
    return this.cross(
      ['n', id, this.summaries(args)],
      () =>
        Reflect.construct(
          this.reals.get(id) as Fn,
          args.map((a) => this.unwrap(a)),
        ),
      newTarget === fake ? undefined : newTarget,
      args,
    );
  }

  // ---- what the program hands over -------------------------------------------------------

  private summaries(args: unknown[]): unknown[] {
    const out = new Array(args.length);
    for (let i = 0; i < args.length; i++) out[i] = this.summary(args[i]);
    return out;
  }

  /** What a call's argument is, as checked at replay (never the program's code). */
  private summary(v: unknown, depth = 0): unknown {
    if (v === null || (typeof v !== 'object' && typeof v !== 'function')) {
      if (typeof v === 'string' && v.length > ARG_STRING_MAX) return ['S', v.length, crc32(v)];
      if (typeof v === 'symbol') return ['y', String(v)];
      return v;
    }
    const id = this.fakeIds.get(v);
    if (id !== undefined) return ['o', id];
    const other = LOOK_ALIKES.get(v);
    if (other) return ['x', other[0].index, other[1]];
    if (typeof v === 'function') return ['f', this.callbackOp(v as Fn)];
    if (ArrayBuffer.isView(v)) return ['b', v.byteLength, crc32(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))];
    if (v instanceof ArrayBuffer) return ['b', v.byteLength, crc32(new Uint8Array(v))];
    if (v instanceof Date) return ['d', v.getTime()];
    if (depth < 8 && Array.isArray(v)) return ['a', ...v.map((x) => this.summary(x, depth + 1))];
    const proto = Object.getPrototypeOf(v);
    if (depth < 8 && (proto === Object.prototype || proto === null)) {
      const o: Record<string, unknown> = {};
      for (const k of Object.keys(v)) o[k] = this.summary((v as Record<string, unknown>)[k], depth + 1);
      return ['O', o];
    }
    return ['p', this.programId(v)];
  }

  private programId(v: object): number {
    let n = this.programIds.get(v);
    if (n === undefined) {
      n = this.program.push(v) - 1;
      this.programIds.set(v, n);
    }
    return n;
  }

  /** A function of the program's the library was given: an op whose calls are events. */
  private callbackOp(fn: Fn): number {
    let op = this.fnOps.get(fn);
    if (op !== undefined) return op;
    op = this.s.newOp();
    this.fnOps.set(fn, op);
    this.fnsByOp.set(op, fn);
    this.programId(fn);
    if (this.replay) {
      const rs = this.replay;
      this.replay.register(op, {
        tag: Tag.Callback,
        api: Api['native.callback'],
        repeat: true,
        what: `${this.owner.label} calling ${fn.name || 'a function'} back`,
        fire: (payload) => {
          this.callBack(fn, payload);
          // The callbacks the same native work made next, before any microtask: now.
          rs.runJoined(Api['native.callback'], isJoined);
        },
      });
    }
    return op;
  }

  /**
   * Runs the program's callback with what the library passed it (both modes): its
   * arguments, and its `this` when that is one of the library's objects the program holds
   * a look-alike of (sqlite3 calls `db.emit('open')` and a statement's callback with the
   * statement as `this`), with the properties the library set on it since (`lastID`).
   */
  private callBack(fn: Fn, payload: unknown): unknown {
    const [isNew, wires, , selfW, changes] = payload as [number, Wire[], number?, Wire?, [string, Wire][]?];
    const self: unknown = selfW === undefined ? undefined : this.fromWire(selfW);
    if (changes && typeof self === 'object' && self !== null)
      for (const [k, x] of changes) define(self, k, this.fromWire(x));
    const args = wires.map((w) => this.fromWire(w));
    const result = isNew ? Reflect.construct(fn, args) : Reflect.apply(fn, self, args);
    if ((typeof result === 'object' && result !== null) || typeof result === 'function') this.programId(result);
    return result;
  }

  /** Replay: the callbacks the library made during the call at hand, before it returned. */
  private takeNested(): void {
    for (;;) {
      const next = this.replay!.takeNested(Api['native.nested']);
      if (!next) return;
      const fn = this.fnsByOp.get(next.op);
      if (!fn) this.replay!.mismatch(`${this.owner.label} called back op #${next.op}, which it was never given`);
      this.callBack(fn!, next.payload);
    }
  }

  /** Record: what the real library gets for a look-alike, a callback or a container of them. */
  private unwrap(v: unknown, depth = 0): any {
    if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return v;
    const id = this.fakeIds.get(v);
    if (id !== undefined) return this.reals.get(id);
    // Another library's object, handed over by the program: the real one.
    const other = LOOK_ALIKES.get(v);
    if (other) return other[0].reals.get(other[1]);
    if (typeof v === 'function') return this.trampoline(v as Fn);
    if (depth < 8 && Array.isArray(v)) {
      let out: unknown[] | null = null;
      for (let i = 0; i < v.length; i++) {
        const u = this.unwrap(v[i], depth + 1);
        if (u !== v[i]) (out ??= v.slice())[i] = u;
      }
      return out ?? v;
    }
    if (depth < 8 && Object.getPrototypeOf(v) === Object.prototype) {
      let out: Record<string, unknown> | null = null;
      for (const k of Object.keys(v)) {
        const x = (v as Record<string, unknown>)[k];
        const u = this.unwrap(x, depth + 1);
        if (u !== x) (out ??= { ...(v as object) } as Record<string, unknown>)[k] = u;
      }
      return out ?? v;
    }
    return v;
  }

  /** Replay: the ops unwrap() makes when recording, for the program's functions in `v`. */
  private callbackOpsIn(v: unknown, depth = 0): void {
    if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return;
    if (this.fakeIds.has(v) || LOOK_ALIKES.has(v)) return;
    if (typeof v === 'function') this.callbackOp(v as Fn);
    else if (depth < 8 && Array.isArray(v)) for (const x of v) this.callbackOpsIn(x, depth + 1);
    else if (depth < 8 && Object.getPrototypeOf(v) === Object.prototype)
      for (const k of Object.keys(v)) this.callbackOpsIn((v as Record<string, unknown>)[k], depth + 1);
  }

  /** Record: the function the library really gets for the program's `fn`: logs each call. */
  private trampoline(fn: Fn): Fn {
    const known = this.trampolines.get(fn);
    if (known) return known;
    const op = this.callbackOp(fn);
    const m = this;
    const rs = this.record!;
    const t = function (this: unknown, ...args: unknown[]) {
      const payload: unknown[] = [new.target ? 1 : 0, args.map((a) => m.toWire(a))];
      const self = new.target ? null : m.selfWire(this);
      const nested = m.depth > 0;
      const joined = !nested && joinsTurn();
      if (joined || self) payload.push(joined ? JOINED : 0);
      if (self) payload.push(...self);
      rs.callback(op, Api[nested ? 'native.nested' : 'native.callback'], payload);
      return m.unwrap(m.callBack(fn, payload));
    };
    this.trampolines.set(fn, t);
    this.trampolined.set(t, fn);
    return t;
  }

  /**
   * Record: `this` of a call the library makes into the program, when it is an object of the
   * library's the program has a look-alike of (or the program's own object): its wire and
   * the own data properties the library added or changed on it since it crossed.
   */
  private selfWire(self: unknown): [Wire, [string, Wire][]] | null {
    if ((typeof self !== 'object' && typeof self !== 'function') || self === null) return null;
    const pid = this.programIds.get(self);
    if (pid !== undefined) return [['p', pid], []];
    const id = this.realIds.get(self);
    const fake = id === undefined ? undefined : this.fakes.get(id);
    if (fake === undefined) return null;
    const changes: [string, Wire][] = [];
    for (const k of Object.keys(self)) {
      const d = Object.getOwnPropertyDescriptor(self, k);
      if (!d || !('value' in d)) continue;
      const f = Object.getOwnPropertyDescriptor(fake, k);
      if (f && (!('value' in f) || !f.configurable)) continue; // read through, or a constant
      const v: unknown = d.value;
      const primitive = v === null || (typeof v !== 'object' && typeof v !== 'function');
      if (f && (!primitive || Object.is(f.value, v))) continue;
      changes.push([k, this.toWire(v)]);
    }
    return [['R', id!], changes];
  }

  /**
   * A property the program set on a look-alike class's prototype that the real prototype
   * lacks (sqlite3's JS copies EventEmitter's methods onto its classes, and its native code
   * calls `emit` on its own objects): the real prototype gets it too, a function as a
   * trampoline, so the library finds it. Both modes make the same ops (replay has no real
   * prototype: whether the key is new is read on the look-alike's, which lists the same keys).
   */
  private mirror(n: number, key: string | symbol, v: unknown, isNew: boolean, mirrored: Set<string>): void {
    if (typeof key !== 'string' || key === 'constructor' || (!isNew && !mirrored.has(key))) return;
    mirrored.add(key);
    if (this.replay) return this.callbackOpsIn(v);
    const value: unknown = this.unwrap(v);
    const real = this.realProtos.get(n);
    try {
      if (real) Object.defineProperty(real, key, { value, writable: true, enumerable: true, configurable: true });
    } catch {
      // A frozen prototype: the library does not find it, as before.
    }
  }

  // ---- what the library hands back -----------------------------------------------------

  /** The library could not be served from the log: said once, loudly; replay refuses it. */
  private cannot(why: string): void {
    if (this.broken) return;
    this.broken = true;
    writeStderr(
      `rewind: warning: ${this.owner.label} handed the program ${why}, which rewind cannot record; a replay of this recording will be refused.\n`,
    );
    this.record!.writer.call(Api['native.unservable'], { args: { addon: this.owner.label, why }, status: 0 }, false);
  }

  /** Record: a value the real library returned, as data for the log. */
  private toWire(v: unknown, depth = 0): Wire {
    if (v === null || (typeof v !== 'object' && typeof v !== 'function')) {
      if (typeof v === 'symbol') {
        this.cannot(`a symbol (${String(v)})`);
        return undefined;
      }
      return v;
    }
    const pid = this.programIds.get(v);
    if (pid !== undefined) return ['p', pid];
    const back = this.trampolined.get(v);
    if (back) return ['p', this.programId(back)];
    const rid = this.realIds.get(v);
    if (rid !== undefined) return ['R', rid];
    const other = REALS.get(v);
    if (other) return ['X', other[0].index, other[1]];
    if (typeof v === 'function') return this.functionWire(v as Fn);
    if (depth > 32) {
      this.cannot('a value nested too deeply');
      return null;
    }
    if (isPlainData(v)) return ['D', v];
    if (Array.isArray(v) && Object.getPrototypeOf(v) === Array.prototype)
      return ['A', v.map((x) => this.toWire(x, depth + 1))];
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      const name = Object.getPrototypeOf(v) === Buffer.prototype ? 'Buffer' : v.constructor.name;
      if (name !== 'Buffer' && !TYPED[name]) this.cannot(`a ${name}`);
      return ['T', name, Buffer.from(v.buffer, v.byteOffset, v.byteLength)];
    }
    if (v instanceof ArrayBuffer) return ['B', Buffer.from(v)];
    if (v instanceof Promise) return ['P', this.pending.push(v) - 1];
    if (v instanceof Error) return this.errorWire(v);
    const proto = Object.getPrototypeOf(v);
    // An external (napi_create_external: neon's JsBox, libsql's database handle) has no
    // prototype and no keys, yet it is the library's object: by id, below, not an empty one.
    if ((proto === Object.prototype || (proto === null && !types.isExternal(v))) && !hasHiddenKeys(v)) {
      const o: Record<string, Wire> = {};
      for (const k of Object.keys(v)) o[k] = this.toWire((v as Record<string, unknown>)[k], depth + 1);
      return ['O', proto === null ? 1 : 0, o];
    }
    if (v instanceof Map || v instanceof Set || v instanceof WeakMap || v instanceof WeakSet || v instanceof RegExp) {
      this.cannot(`a ${v.constructor.name}`);
      return null;
    }
    // A native object: by id, with its class and its own properties.
    const id = this.newReal(v);
    const own: [string, number, Wire?][] = [];
    for (const k of Reflect.ownKeys(v)) {
      const name = keyName(k);
      if (name === null) continue;
      const d = Object.getOwnPropertyDescriptor(v, k)!;
      // Constants are copied once; what can change (writable, accessors) is read through.
      if ('value' in d && !d.writable && !d.configurable)
        own.push([name, d.enumerable ? 1 : 0, this.toWire(d.value, depth + 1)]);
      else own.push([name, d.enumerable ? 3 : 2]);
    }
    return ['I', id, this.classWire(proto), own];
  }

  private newReal(v: object): number {
    const id = this.nextId++;
    this.reals.set(id, v);
    this.realIds.set(v, id);
    REALS.set(v, [this, id]);
    return id;
  }

  /** A class's shape: its methods, accessors and constants, up to an intrinsic prototype. */
  private classWire(proto: object | null): Wire {
    if (proto === null) return null;
    const base = INTRINSIC.get(proto);
    if (base) return base;
    const known = this.realClasses.get(proto);
    if (known !== undefined) return known;
    const n = this.realClasses.size;
    this.realClasses.set(proto, n);
    this.realProtos.set(n, proto);
    const props: [string, string, Wire?][] = [];
    const seen = new Set<string>();
    let p: object | null = proto;
    for (; p && !INTRINSIC.has(p); p = Object.getPrototypeOf(p)) {
      for (const k of Reflect.ownKeys(p)) {
        const name = keyName(k);
        if (name === null || name === 'constructor' || seen.has(name)) continue;
        seen.add(name);
        const d = Object.getOwnPropertyDescriptor(p, k)!;
        if (d.get || d.set) props.push([name, `${d.get ? 'g' : ''}${d.set ? 's' : ''}`]);
        else if (typeof d.value === 'function') props.push([name, 'm']);
        else props.push([name, 'c', this.toWire(d.value)]);
      }
    }
    const ctor = Object.prototype.hasOwnProperty.call(proto, 'constructor')
      ? (proto as { constructor: unknown }).constructor
      : undefined;
    return [n, typeof ctor === 'function' ? ctor.name : '', props, p ? INTRINSIC.get(p)! : null];
  }

  private functionWire(f: Fn): Wire {
    const id = this.newReal(f);
    const statics: Record<string, Wire> = {};
    for (const k of Object.keys(f)) statics[k] = this.toWire((f as unknown as Record<string, unknown>)[k]);
    const proto = (f as { prototype?: unknown }).prototype;
    return ['F', id, f.name, typeof proto === 'object' && proto !== null ? this.classWire(proto) : null, statics];
  }

  private errorWire(e: Error): Wire {
    const props: Record<string, Wire> = {};
    for (const k of Object.keys(e)) props[k] = this.toWire((e as unknown as Record<string, unknown>)[k]);
    return [
      'E',
      e.name,
      e.message,
      e.stack ?? '',
      props,
      INTRINSIC_ERRORS.has(e.constructor as never) ? e.constructor.name : 'Error',
    ];
  }

  private thrownWire(e: unknown): Wire {
    return this.toWire(e);
  }

  /** The program-facing value of a wire: look-alikes, data, the program's own objects. */
  private fromWire(w: Wire, newTarget?: object): any {
    if (!Array.isArray(w)) return w;
    switch (w[0]) {
      case 'D':
        return this.replay !== null ? ownBuffers(w[1]) : w[1];
      case 'A':
        return (w[1] as Wire[]).map((x) => this.fromWire(x));
      case 'T': {
        const bytes = w[2] as Uint8Array;
        if (w[1] === 'Buffer') return ownBuffer(bytes);
        const copy = new Uint8Array(bytes.byteLength);
        copy.set(bytes);
        return new TYPED[w[1] as string](copy.buffer);
      }
      case 'B': {
        const bytes = w[1] as Uint8Array;
        const copy = new Uint8Array(bytes.byteLength);
        copy.set(bytes);
        return copy.buffer;
      }
      case 'O': {
        const o = w[1] ? Object.create(null) : {};
        for (const [k, x] of Object.entries(w[2] as Record<string, Wire>)) define(o, k, this.fromWire(x));
        return o;
      }
      case 'p':
        return this.program[w[1] as number];
      case 'R':
        return this.fakes.get(w[1] as number);
      case 'X':
        return LIBRARIES[w[1] as number]?.fakes.get(w[2] as number);
      case 'F':
        return this.fakeFunction(w);
      case 'I':
        return this.fakeObject(w, newTarget);
      case 'P':
        return this.fakePromise(w[1] as number);
      case 'E':
        return this.fakeError(w);
      default:
        return undefined;
    }
  }

  private adopt(id: number, fake: object): void {
    this.fakes.set(id, fake);
    this.fakeIds.set(fake, id);
    LOOK_ALIKES.set(fake, [this, id]);
  }

  private classProto(w: Wire): object | null {
    if (w === null) return null;
    if (typeof w === 'string') return INTRINSIC_BY_NAME.get(w) ?? Object.prototype;
    if (typeof w === 'number') return this.classes[w];
    const [n, , props, base] = w as [number, string, [string, string, Wire?][], string | null];
    const proto = Object.create(base ? (INTRINSIC_BY_NAME.get(base) ?? Object.prototype) : null) as object;
    // What the program sets on the prototype reaches the real one too (see mirror).
    const mirrored = new Set<string>();
    const proxy: object = new Proxy(proto, {
      set: (target, k, v, receiver) => {
        // An instance's own property, set through the prototype chain: not the class's.
        if (receiver !== proxy) return Reflect.set(target, k, v, receiver);
        const isNew = !(k in target);
        const ok = Reflect.set(target, k, v);
        if (ok) this.mirror(n, k, v, isNew, mirrored);
        return ok;
      },
      defineProperty: (target, k, d) => {
        const isNew = !(k in target);
        const ok = Reflect.defineProperty(target, k, d);
        if (ok && 'value' in d) this.mirror(n, k, d.value, isNew, mirrored);
        return ok;
      },
    });
    this.classes[n] = proxy;
    const m = this;
    for (const [name, kind, value] of props) {
      const key = keyOf(name);
      if (kind === 'm') {
        const method = {
          [name](this: object, ...args: unknown[]) {
            return m.invoke(this, name, args);
          },
        }[name];
        Object.defineProperty(proto, key, { value: method, writable: true, enumerable: true, configurable: true });
      } else if (kind === 'c') {
        Object.defineProperty(proto, key, {
          value: this.fromWire(value),
          writable: true,
          enumerable: false,
          configurable: true,
        });
      } else {
        Object.defineProperty(proto, key, {
          get: kind.includes('g')
            ? function (this: object) {
                return m.get(this, name);
              }
            : undefined,
          set: kind.includes('s')
            ? function (this: object, v: unknown) {
                m.set(this, name, v);
              }
            : undefined,
          enumerable: true,
          configurable: true,
        });
      }
    }
    return proxy;
  }

  private fakeFunction(w: Wire[]): Fn {
    const [, id, name, protoW, statics] = w as [string, number, string, Wire, Record<string, Wire>];
    const m = this;
    const ctor = function (this: unknown, ...args: unknown[]) {
      return new.target ? m.construct(id, args, new.target) : m.apply(id, this, args);
    };
    Object.defineProperty(ctor, 'name', { value: name });
    this.adopt(id, ctor);
    const proto = this.classProto(protoW);
    if (proto) {
      Object.defineProperty(proto, 'constructor', {
        value: ctor,
        writable: true,
        enumerable: false,
        configurable: true,
      });
      ctor.prototype = proto;
    }
    for (const [k, x] of Object.entries(statics)) if (k !== 'prototype') define(ctor, k, this.fromWire(x));
    return ctor;
  }

  private fakeObject(w: Wire[], newTarget?: object): object {
    const [, id, clsW, own] = w as [string, number, Wire, [string, number, Wire?][]];
    const proto = this.classProto(clsW);
    const target = newTarget as { prototype?: object } | undefined;
    const o = Object.create(target?.prototype ?? proto);
    this.adopt(id, o);
    const m = this;
    for (const [name, flags, value] of own) {
      const enumerable = (flags & 1) === 1;
      if (flags & 2) {
        Object.defineProperty(o, keyOf(name), {
          get() {
            return m.get(o, name);
          },
          set(v: unknown) {
            m.set(o, name, v);
          },
          enumerable,
          configurable: true,
        });
      } else
        Object.defineProperty(o, keyOf(name), {
          value: this.fromWire(value),
          writable: false,
          enumerable,
          configurable: false,
        });
    }
    return o;
  }

  private fakePromise(k: number): Promise<unknown> {
    const op = this.s.newOp();
    return new Promise((resolve, reject) => {
      const settle = (payload: unknown) => {
        const [failed, w] = payload as [number, Wire];
        const v = this.fromWire(w);
        if (failed) reject(v);
        else resolve(v);
      };
      if (this.replay) {
        this.replay.register(op, {
          tag: Tag.Callback,
          api: Api['native.settle'],
          repeat: false,
          what: `a promise of ${this.owner.label}`,
          fire: settle,
        });
        return;
      }
      const rs = this.record!;
      const log = (payload: unknown) => {
        rs.callback(op, Api['native.settle'], payload);
        settle(payload);
      };
      this.pending[k].then(
        (v) => log([0, this.toWire(v)]),
        (e) => log([1, this.thrownWire(e)]),
      );
    });
  }

  private fakeError(w: Wire[]): Error {
    const [, name, message, stack, props, ctorName] = w as [
      string,
      string,
      string,
      string,
      Record<string, Wire>,
      string,
    ];
    const Ctor = (ERROR_CLASSES[ctorName] ?? Error) as ErrorConstructor;
    const e = new Ctor(message);
    if (e.name !== name)
      Object.defineProperty(e, 'name', { value: name, writable: true, enumerable: false, configurable: true });
    for (const [k, x] of Object.entries(props)) define(e, k, this.fromWire(x));
    Object.defineProperty(e, 'stack', { value: stack, writable: true, enumerable: false, configurable: true });
    return e;
  }
}

const INTRINSIC_ERRORS = new Set<unknown>(Object.values(ERROR_CLASSES));
