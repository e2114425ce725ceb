// How the results of I/O calls (errors, Stats, Dirents, address objects, buffers...) are
// stored in Call and Callback payloads, and rebuilt at replay so that the program sees
// objects of the same class with the same properties.
//
// Values are turned into msgpack-safe trees. Plain data (numbers, strings, booleans, null,
// undefined, Buffers, Dates, arrays, plain objects) is stored as is; anything else becomes
// a one-key map whose key names its class ("\u0000Error", "\u0000Stats", ...), built by
// the ValueClass registered under that name. Sources register the classes of their API
// (fs registers Stats and Dirent, os SystemError); errors and a few built-ins are registered here.

export interface ValueClass<T = unknown> {
  /** True for values this class encodes; the latest registered class is asked first. */
  is(v: unknown): v is T;
  encode(v: T): unknown;
  decode(data: unknown): T;
  /** encode returns plain data (numbers, ASCII strings, arrays) and encodes nothing nested: the fast path may use it. */
  leaf?: boolean;
}

const classes = new Map<string, ValueClass>();
/** Latest first: a source's class (os's SystemError) is asked before the generic one it refines (Error). */
const byPrecedence: [string, ValueClass, LeafClass | null][] = [];

interface LeafClass {
  name: string;
  encode(v: unknown): unknown;
}
const TAG = '\u0000';

/** Registers how values of one class are stored; `name` is part of the log format. */
export function registerValueClass<T>(name: string, cls: ValueClass<T>): void {
  classes.set(TAG + name, cls as ValueClass);
  byPrecedence.unshift([
    TAG + name,
    cls as ValueClass,
    cls.leaf ? { name: TAG + name, encode: cls.encode as (v: unknown) => unknown } : null,
  ]);
}

/** The class encodeValue would store `v` as, with its name, if that class is a leaf; else null. */
export function leafClassOf(v: object): LeafClass | null {
  for (const [, cls, leaf] of byPrecedence) if (cls.is(v)) return leaf;
  return null;
}

// The objects being encoded (or decoded), outermost first: a value that contains itself
// (a self-signed certificate is its own issuer) is stored as a reference to its ancestor.
const encoding: object[] = [];
const decoding: unknown[] = [];
const REF = `${TAG}Ref`;

export function encodeValue(v: unknown): unknown {
  if (v === null || typeof v !== 'object') {
    if (typeof v === 'bigint' && (v > 0x7fffffffffffffffn || v < -0x8000000000000000n))
      return { [`${TAG}BigInt`]: v.toString() };
    if (typeof v === 'function' || typeof v === 'symbol') return undefined;
    return v;
  }
  if (Buffer.isBuffer(v) || v instanceof Date) return v;
  const at = encoding.lastIndexOf(v);
  if (at >= 0) return { [REF]: encoding.length - 1 - at };
  encoding.push(v);
  try {
    if (Array.isArray(v)) return v.map(encodeValue);
    for (const [name, cls] of byPrecedence) if (cls.is(v)) return { [name]: cls.encode(v) };
    if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    // Plain objects, and objects of classes rewind does not know: their own enumerable data.
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = encodeValue(x);
    return out;
  } finally {
    encoding.pop();
  }
}

export function decodeValue(x: unknown): unknown {
  if (x === null || typeof x !== 'object' || Buffer.isBuffer(x) || x instanceof Date) return x;
  const keys = Array.isArray(x) ? null : Object.keys(x);
  if (keys && keys.length === 1 && keys[0] === REF)
    return decoding[decoding.length - 1 - (x as Record<string, number>)[REF]];
  if (keys && keys.length === 1 && keys[0] === `${TAG}BigInt`) return BigInt((x as Record<string, string>)[keys[0]]);
  const out: unknown = Array.isArray(x) ? [] : keys!.length === 1 && keys![0].startsWith(TAG) ? undefined : {};
  decoding.push(out); // a class's value does not exist yet while its parts decode: refs to it read undefined
  try {
    if (Array.isArray(x)) {
      for (const e of x) (out as unknown[]).push(decodeValue(e));
      return out;
    }
    if (out === undefined) {
      const cls = classes.get(keys![0]);
      if (!cls) throw new Error(`unknown value class ${JSON.stringify(keys![0].slice(1))}`);
      return cls.decode((x as Record<string, unknown>)[keys![0]]);
    }
    for (const k of keys!) (out as Record<string, unknown>)[k] = decodeValue((x as Record<string, unknown>)[k]);
    return out;
  } finally {
    decoding.pop();
  }
}

// ---- errors ---------------------------------------------------------------------------

/** The intrinsic error classes, by name: an error of one of them is rebuilt as that class. */
// A null-prototype table: a name read from a log ("constructor", "toString") finds nothing.
export const ERROR_CLASSES: Readonly<Record<string, ErrorConstructor | undefined>> = Object.assign(
  Object.create(null),
  {
    Error,
    TypeError,
    RangeError,
    SyntaxError,
    ReferenceError,
    EvalError,
    URIError,
  },
);

/** The closest built-in Error class of an error, by its prototype chain. */
function builtinClassOf(e: Error): string {
  for (let p = Object.getPrototypeOf(e); p && p !== Error.prototype; p = Object.getPrototypeOf(p)) {
    const name = p.constructor?.name;
    if (name && ERROR_CLASSES[name] === p.constructor) return name;
  }
  return 'Error';
}

/**
 * Errors whose stack V8 has not formatted yet, and which the source re-captures at the same
 * place in both runs (Error.captureStackTrace: see fs/calls.ts): stored without their stack.
 * Reading it would run the program's Error.prepareStackTrace (jest's and
 * source-map-support's read files) inside the call while recording, and never at replay;
 * left unread, V8 formats it when the program asks, in both runs.
 */
export const unformattedStack = new WeakSet<object>();

/**
 * Errors keep their class (as the nearest built-in), message, stack text and every own
 * property (code, errno, syscall, path, address, port, cause...). The stack is the
 * recorded one: the program sees the same text in both runs (unless it is unformatted, see
 * above). Node's internal errors have a toString of their own
 * (`TypeError [ERR_INVALID_ARG_TYPE]: …`): kept as the text it returned.
 */
registerValueClass<Error>('Error', {
  is: (v): v is Error => v instanceof Error,
  encode(e) {
    const props: Record<string, unknown> = {};
    const own = e as unknown as Record<string, unknown>;
    for (const k of Object.getOwnPropertyNames(e)) {
      if (k === 'stack' || k === 'message' || typeof own[k] === 'function') continue;
      props[k] = encodeValue(own[k]);
    }
    const stack = unformattedStack.has(e) ? null : typeof e.stack === 'string' ? e.stack : '';
    const data = [builtinClassOf(e), e.message, stack, props];
    if (typeof own.toString === 'function' && own.toString !== Error.prototype.toString) data.push(String(e));
    return data;
  },
  decode(data) {
    const [cls, message, stack, props, text] = data as [
      string,
      string,
      string | null,
      Record<string, unknown>,
      string?,
    ];
    const e = new (ERROR_CLASSES[cls] ?? Error)(message);
    if (stack === null) unformattedStack.add(e);
    else Object.defineProperty(e, 'stack', { value: stack, writable: true, configurable: true, enumerable: false });
    for (const [k, v] of Object.entries(props)) {
      Object.defineProperty(e, k, {
        value: decodeValue(v),
        writable: true,
        configurable: true,
        enumerable: k !== 'name',
      });
    }
    if (text !== undefined)
      Object.defineProperty(e, 'toString', {
        value: () => text,
        writable: true,
        configurable: true,
        enumerable: false,
      });
    return e;
  },
});

registerValueClass<Map<unknown, unknown>>('Map', {
  is: (v): v is Map<unknown, unknown> => v instanceof Map,
  encode: (m) => [...m].map(([k, v]) => [encodeValue(k), encodeValue(v)]),
  decode: (d) => new Map((d as [unknown, unknown][]).map(([k, v]) => [decodeValue(k), decodeValue(v)])),
});

registerValueClass<Set<unknown>>('Set', {
  is: (v): v is Set<unknown> => v instanceof Set,
  encode: (s) => [...s].map(encodeValue),
  decode: (d) => new Set((d as unknown[]).map(decodeValue)),
});

// DNS TLSA answers carry their certificate data as an ArrayBuffer.
registerValueClass<ArrayBuffer>('ArrayBuffer', {
  is: (v): v is ArrayBuffer => v instanceof ArrayBuffer,
  encode: (b) => Buffer.from(b),
  decode: (d) => {
    const bytes = d as Uint8Array;
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  },
});

/** A stored value as plain JSON, for `rewind events --json`: bytes as hex, classes by name. */
export function toJson(x: unknown): unknown {
  if (x === undefined) return null;
  if (typeof x === 'bigint') return x.toString();
  if (Buffer.isBuffer(x) || x instanceof Uint8Array) return { bytes: Buffer.from(x).toString('hex') };
  if (x instanceof Date) return x.toISOString();
  if (Array.isArray(x)) return x.map(toJson);
  if (x !== null && typeof x === 'object') {
    const keys = Object.keys(x);
    if (keys.length === 1 && keys[0].startsWith(TAG))
      return { class: keys[0].slice(1), value: toJson((x as Record<string, unknown>)[keys[0]]) };
    return Object.fromEntries(keys.map((k) => [k, toJson((x as Record<string, unknown>)[k])]));
  }
  return x;
}

/** A short, one-line rendering of a stored value, for event listings and reports. */
export function summarize(x: unknown, max = 60): string {
  const s = render(x, 2);
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

function render(x: unknown, depth: number): string {
  if (x === undefined) return 'undefined';
  if (x === null || typeof x === 'number' || typeof x === 'boolean') return String(x);
  if (typeof x === 'bigint') return `${x}n`;
  if (typeof x === 'string') return JSON.stringify(x);
  if (Buffer.isBuffer(x) || x instanceof Uint8Array) return `<${x.length} bytes>`;
  if (x instanceof Date) return x.toISOString();
  if (Array.isArray(x)) return depth <= 0 ? `[…${x.length}]` : `[${x.map((v) => render(v, depth - 1)).join(', ')}]`;
  if (typeof x === 'object') {
    const keys = Object.keys(x);
    if (keys.length === 1 && keys[0].startsWith(TAG)) {
      const name = keys[0].slice(1);
      const d = (x as Record<string, unknown>)[keys[0]];
      if (name === 'Error') {
        const [cls, message, , props] = d as [string, string, string, Record<string, unknown>];
        return props.code ? `${props.code}` : `${cls}: ${message}`;
      }
      return name;
    }
    if (depth <= 0) return '{…}';
    return `{${keys.map((k) => `${k}: ${render((x as Record<string, unknown>)[k], depth - 1)}`).join(', ')}}`;
  }
  return String(x);
}
