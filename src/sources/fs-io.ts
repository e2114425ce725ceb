// Reads into the caller's buffers and writes from them: which bytes a call covers, parsed
// the way Node parses the arguments, so that replay fills the same buffer at the same
// offset (and a write is checked by the crc32 of exactly the bytes it would have sent).
import type { ResultCodec } from '../session/session.js';
import { decodeValue, encodeValue } from '../trace/values.js';
import { digestOf } from './fs-core.js';

type Results = unknown[];
const isView = ArrayBuffer.isView;
const bytesOf = (v: ArrayBufferView): Uint8Array => new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
/** Node reads into a buffer of its own when the program gives none. */
const DEFAULT_READ_SIZE = 16384;

export interface ReadTarget {
  /** The program's buffer, or null when Node allocates one (16 KiB). */
  buffer: ArrayBufferView | null;
  offset: number;
  length: number;
  position: unknown;
}

interface ReadParams {
  buffer?: ArrayBufferView;
  offset?: number;
  length?: number;
  position?: unknown;
}

function fromParams(p: ReadParams | null | undefined, buffer: ArrayBufferView | null): ReadTarget {
  const buf = buffer ?? p?.buffer ?? null;
  const offset = p?.offset ?? 0;
  const size = buf ? buf.byteLength : DEFAULT_READ_SIZE;
  return { buffer: buf, offset, length: p?.length ?? size - offset, position: p?.position ?? null };
}

/** fs.read(fd, ...) with `n` arguments including the callback (Node decides by arguments.length). */
export function readTargetCb(args: ArrayLike<unknown>): ReadTarget {
  const n = args.length;
  if (n <= 4) {
    if (n === 4) return fromParams(args[2] as ReadParams, args[1] as ArrayBufferView);
    if (n === 3) return isView(args[1]) ? fromParams(undefined, args[1]) : fromParams(args[1] as ReadParams, null);
    return fromParams(undefined, null);
  }
  return explicit(args[1] as ArrayBufferView, args[2], args[3], args[4]);
}

/** fs.readSync(fd, buffer, offsetOrOptions?, length?, position?) */
export function readTargetSync(args: ArrayLike<unknown>): ReadTarget {
  if (args.length <= 3 || typeof args[2] === 'object') return fromParams(args[2] as ReadParams, args[1] as ArrayBufferView);
  return explicit(args[1] as ArrayBufferView, args[2], args[3], args[4]);
}

/** filehandle.read(buffer?, offsetOrOptions?, length?, position?) */
export function readTargetHandle(args: ArrayLike<unknown>): ReadTarget {
  if (!isView(args[0])) return fromParams(args[0] as ReadParams, null);
  if (args[1] !== null && typeof args[1] === 'object') return fromParams(args[1] as ReadParams, args[0]);
  return explicit(args[0], args[1], args[2], args[3]);
}

function explicit(buffer: ArrayBufferView, offset: unknown, length: unknown, position: unknown): ReadTarget {
  const off = typeof offset === 'number' ? offset : 0;
  const len = typeof length === 'number' ? length : (isView(buffer) ? buffer.byteLength : 0) - off;
  return { buffer: isView(buffer) ? buffer : null, offset: off, length: len, position: position ?? null };
}

/** The summary of a read: where from, how much; never the buffer. */
export const readArgs = (form: string, fd: unknown, t: ReadTarget): unknown[] => [form, fd, t.length, t.position];

/** The buffer a read lands in at replay: the program's, or a fresh one as Node would allocate. */
export const targetBuffer = (t: ReadTarget): ArrayBufferView => t.buffer ?? Buffer.alloc(DEFAULT_READ_SIZE);

/** Stores the bytes a read brought, and puts them back into the target at replay. */
export function fill(t: ReadTarget, buf: ArrayBufferView, bytes: Uint8Array): void {
  bytesOf(buf).set(bytes, t.offset);
}
/** A view of the bytes a read brought (the log copies them when the event is written). */
export const readBytes = (t: ReadTarget, buf: ArrayBufferView, n: number): Uint8Array =>
  Buffer.from(buf.buffer, buf.byteOffset + t.offset, n);

/** Callback results (err, bytesRead, buffer): the buffer's new bytes are the payload. */
export function readCodec(t: ReadTarget): ResultCodec<Results> {
  return {
    encode([err, n, buf]) {
      if (err) return [encodeValue(err)];
      return [null, n, readBytes(t, buf as ArrayBufferView, n as number)];
    },
    decode(p) {
      const [err, n, bytes] = p as [unknown, number, Uint8Array];
      const buf = targetBuffer(t);
      if (err) return [decodeValue(err), 0, buf];
      fill(t, buf, bytes);
      return [null, n, buf];
    },
  };
}

/** readv: the bytes read, scattered over the buffers in order at replay. */
export function scatter(buffers: ArrayBufferView[], bytes: Uint8Array): void {
  let at = 0;
  for (const b of buffers) {
    if (at >= bytes.length) break;
    const chunk = bytes.subarray(at, at + b.byteLength);
    bytesOf(b).set(chunk);
    at += chunk.length;
  }
}

export function gather(buffers: ArrayBufferView[], n: number): Uint8Array {
  const out = Buffer.allocUnsafe(n);
  let at = 0;
  for (const b of buffers) {
    if (at >= n) break;
    const chunk = bytesOf(b).subarray(0, n - at);
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** Callback results (err, bytesRead, buffers) of readv. */
export function readvCodec(buffers: ArrayBufferView[]): ResultCodec<Results> {
  return {
    encode([err, n]) {
      return err ? [encodeValue(err)] : [null, n, gather(buffers, n as number)];
    },
    decode(p) {
      const [err, n, bytes] = p as [unknown, number, Uint8Array];
      if (err) return [decodeValue(err), 0, buffers];
      scatter(buffers, bytes);
      return [null, n, buffers];
    },
  };
}

/**
 * What a write sends, from its arguments after the fd: a buffer with (offset, length,
 * position) or an options object, or a string with (position, encoding).
 */
export function writeDigest(data: unknown, a: unknown, b: unknown, c: unknown): { n: number; crc: number; position: unknown } {
  const arg = (x: unknown) => (typeof x === 'function' ? undefined : x);
  a = arg(a);
  b = arg(b);
  c = arg(c);
  if (isView(data)) {
    let offset = a;
    let length = b;
    let position = c;
    if (offset !== null && typeof offset === 'object') {
      const o = offset as ReadParams;
      offset = o.offset ?? 0;
      length = o.length ?? data.byteLength - (offset as number);
      position = o.position ?? null;
    }
    const off = typeof offset === 'number' ? offset : 0;
    const len = typeof length === 'number' ? length : data.byteLength - off;
    return { ...digestOf(bytesOf(data).subarray(off, off + len)), position: position ?? null };
  }
  return { ...digestOf(data, b), position: a ?? null };
}

/** Callback results (err, bytesWritten, data): the program's own data comes back. */
export function writeCodec(data: unknown): ResultCodec<Results> {
  return {
    encode: ([err, n]) => (err ? [encodeValue(err)] : [null, n]),
    decode(p) {
      const [err, n] = p as [unknown, number];
      return err ? [decodeValue(err), 0, data] : [null, n, data];
    },
  };
}

/**
 * Whole-file reads (readFile in all its forms): a file read again with the same content is
 * logged as "same as last time" instead of its bytes. Programs re-read their configuration
 * and templates; the log then grows by a few bytes per read. The last content of each
 * (path, encoding) is kept in both runs, updated in log order, so replay hands back the
 * same value (a fresh copy for a Buffer, which the program may change).
 */
const SAME = { same: 1 };
const lastContent = new Map<string, string | Buffer>();
const MAX_REMEMBERED = 64 * 1024;

export function contentKey(path: unknown, options: unknown): string | null {
  if (typeof path !== 'string') return null;
  const o = typeof options === 'string' ? options : `${(options as { encoding?: unknown } | null)?.encoding}:${(options as { flag?: unknown } | null)?.flag}`;
  return `${path}\0${o}`;
}

function encodeContent(key: string | null, v: unknown): unknown {
  if (key === null || (typeof v !== 'string' && !Buffer.isBuffer(v))) return encodeValue(v);
  const last = lastContent.get(key);
  if (last !== undefined && (typeof v === 'string' ? last === v : Buffer.isBuffer(last) && last.equals(v as Buffer))) return SAME;
  if (v.length <= MAX_REMEMBERED) lastContent.set(key, typeof v === 'string' ? v : Buffer.from(v as Buffer));
  else lastContent.delete(key);
  return v;
}

function decodeContent(key: string | null, x: unknown): unknown {
  if (key === null) return decodeValue(x);
  if (x !== null && typeof x === 'object' && (x as { same?: unknown }).same === 1 && !Buffer.isBuffer(x)) {
    const last = lastContent.get(key)!;
    return typeof last === 'string' ? last : Buffer.from(last);
  }
  const v = decodeValue(x);
  if ((typeof v === 'string' || Buffer.isBuffer(v)) && v.length <= MAX_REMEMBERED) lastContent.set(key, typeof v === 'string' ? v : Buffer.from(v));
  else lastContent.delete(key);
  return v;
}

/** A synchronous readFile's result. */
export const contentCodec = (key: string | null): ResultCodec<unknown> => ({
  encode: (v) => encodeContent(key, v),
  decode: (x) => decodeContent(key, x),
});

/** A callback or promise readFile's results (err, content). */
export const contentResultsCodec = (key: string | null): ResultCodec<Results> => ({
  encode: ([err, v]) => (err ? [encodeValue(err)] : [null, encodeContent(key, v)]),
  decode(p) {
    const [err, x] = p as [unknown, unknown];
    return err ? [decodeValue(err)] : [null, decodeContent(key, x)];
  },
});
