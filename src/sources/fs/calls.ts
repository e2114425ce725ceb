// Every function of Node's fs binding, recorded where JavaScript calls into native code.
// Recording, each call runs for real and is logged with a summary of its arguments (paths,
// flags, descriptors, lengths, crc32 of written data) and what it brought back, including
// what it wrote into the caller's memory (a read's buffer, the shared stat arrays). A
// callback completion (FSReqCallback.oncomplete) or a promise settling (kUsePromises) is
// the turn it ran in. At replay no binding function touches the disk: the log answers,
// writes and deletions are checked against it and not performed, and a call the log does
// not have is a divergence. Node's own fs code and any userland patch of `fs` above the
// binding run again, for real, in both runs.
import { ownIo } from '../../node/originals.js';
import { currentSession, type ResultCodec, type Session } from '../../session/session.js';
import { decodeValue, encodeValue, unformattedStack } from '../../trace/values.js';
import { stdioWriting } from '../stdio.js';
import { FUNCTIONS, NOT_CALLS, fsBinding, type FsBinding, type Kind, type Spec } from './binding.js';
import { SAME, closedFd, fileKey, loadContent, openedFd, readKey, statKey, storeContent } from './content.js';
import { installHandle, replayHandle } from './handle.js';
import { installJobs } from './jobs.js';
import {
  calledFromLoader,
  changesOf,
  inLoader,
  inTurn,
  isLoaderPath,
  loaderCallOn,
  loaderFds,
  madeDir,
  unorderedCalls,
  programFds,
  resolving,
  unorderedFds,
} from './loader.js';
import { guard } from './public.js';
import { crc32 } from '../../node/bindings.js';
import type { ArgsPacking, FastPacker } from '../../trace/fastpack.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Fn = (...args: any[]) => any;
type Results = unknown[];
type Form = 'sync' | 'cb' | 'promise';
type Bytes = Uint8Array | typeof SAME;

const isView = ArrayBuffer.isView;
const bytesOf = (v: ArrayBufferView, offset = 0, length = v.byteLength - offset): Uint8Array =>
  new Uint8Array(v.buffer, v.byteOffset + offset, length);

let B: FsBinding;

/** Replaces every function of the binding by a recording one. */
export function installBinding(s: Session): void {
  const binding = fsBinding();
  if (binding === null) {
    const what = 'the file system';
    const why = "rewind could not reach Node's fs binding (the permission model refuses process.binding)";
    s.unsupported(what, why);
    if (s.mode === 'replay') s.mismatch(`used ${what}, which rewind could not record (${why})`);
    return;
  }
  B = binding;
  for (const name of Object.keys(B)) {
    const fn = B[name];
    if (typeof fn !== 'function' || NOT_CALLS.has(name)) continue;
    const spec = FUNCTIONS[name];
    B[name] = spec ? recorded(name, spec, fn) : unknown(name, fn);
  }
  installJobs(B);
  installHandle(s, B);
}

/** Calls that are not the program's: rewind's own I/O, a call a public-API wrapper records whole, the module loaders. */
export const passThrough = (): boolean => ownIo.depth > 0 || guard.depth > 0 || inLoader.depth > 0;

function recorded(name: string, spec: Spec, fn: Fn): Fn {
  const s = currentSession();
  const { api, kind } = spec;
  const what = `fs ${name}()`;
  const resolves = name === 'lstat' || name === 'stat' || name === 'readlink' || name === 'internalModuleStat';
  const changes = changesOf(name);
  // A synchronous call's summary, written into its event or made, how it runs and how its
  // result is stored: per binding function, not per call.
  const syncArgs: ArgsPacking<unknown[]> = {
    pack: (f, args) => packSummary(f, kind, args),
    summary: (args) => summarize(kind, 'sync', args),
  };
  const syncReal = (args: unknown[]) => unformatted(fn, args);
  const syncResult = syncCodec(name, kind);
  const wrapper = function (this: unknown, ...args: unknown[]): unknown {
    if (kind === 'loader' || passThrough()) return fn.apply(this, args);
    const a0 = args[0];
    if (typeof a0 === 'number') {
      // At replay the program's descriptors are the logged numbers, which a loader's real one may share.
      if (
        loaderFds.size > 0 &&
        loaderFds.has(a0) &&
        (s.mode === 'record' || !programFds.has(a0) || calledFromLoader(wrapper))
      ) {
        const v = loaderCallOn(a0, null, () => inTurn(fn.apply(this, args)));
        if (kind === 'close') {
          loaderFds.delete(a0);
          unorderedFds.delete(a0);
        }
        return v;
      }
      if ((a0 === 1 || a0 === 2) && (kind === 'write' || kind === 'writev' || kind === 'writeString'))
        return output(kind, fn, args);
    } else {
      const path = typeof a0 === 'string' ? a0 : resolves && typeof args[1] === 'string' ? args[1] : null;
      if (path !== null && isLoaderPath(path, wrapper, resolves ? resolving(name, args) : 'module')) {
        return loaderCallOn(null, path, () => loaderCall(kind, fn, args));
      }
    }
    changes?.(args);
    const req = requestOf(args);
    const form: Form = req === undefined ? 'sync' : req === B.kUsePromises ? 'promise' : 'cb';
    if (kind === 'close') {
      closedFd(a0);
      programFds.delete(a0 as number);
    }
    if (form === 'sync') {
      const ctx = ctxOf(args);
      syncResult?.prepare(args);
      let v: unknown;
      try {
        v =
          ctx === null
            ? s.callPacked(api, syncArgs, args, syncReal, syncResult)
            : s.call(api, summarize(kind, form, args), () => syncReal(args), withCtx(ctx, syncResult));
      } catch (e) {
        // The binding's error, its stack taken again below this call: the same frames in
        // both runs, formatted when the program reads it (see unformattedStack).
        if (unformattedStack.has(e as object)) Error.captureStackTrace(e as object, wrapper);
        throw e;
      }
      if (kind === 'open') programOpened(v, a0);
      else if (name === 'mkdir') madeDir(args, v);
      return v;
    }
    const sum = summarize(kind, form, args);
    const codec = resultsCodec(name, kind, args);
    const after =
      kind === 'open' || kind === 'openHandle'
        ? (r: Results) => r[0] == null && programOpened(kind === 'open' ? r[1] : (r[1] as { fd: number }).fd, a0)
        : name === 'mkdir'
          ? (r: Results) => r[0] == null && madeDir(args, r[1])
          : null;
    if (form === 'cb') {
      const r = req as { oncomplete: Fn };
      const oncomplete = r.oncomplete;
      s.async({
        api,
        args: sum,
        what: `${what} callback`,
        start(done) {
          r.oncomplete = done;
          fn.apply(B, args);
        },
        cb(...results) {
          after?.(results);
          r.oncomplete = oncomplete; // Node's own function, as its frame then reads "[as oncomplete]"
          oncomplete.apply(r, results);
        },
        codec,
      });
      return undefined;
    }
    return new Promise((resolve, reject) => {
      s.async({
        api,
        args: sum,
        what,
        start(done) {
          (fn.apply(B, args) as Promise<unknown>).then(
            (v) => done(null, v),
            (e) => done(e),
          );
        },
        cb(...results) {
          after?.(results);
          if (results[0] != null) reject(results[0]);
          else resolve(results[1]);
        },
        codec,
      });
    });
  };
  Object.defineProperty(wrapper, 'name', { value: name });
  return wrapper;
}

/** A synchronous binding call; what it throws is stored without reading its stack. */
function unformatted(fn: Fn, args: unknown[]): unknown {
  try {
    return fn.apply(B, args);
  } catch (e) {
    if (e instanceof Error) unformattedStack.add(e);
    throw e;
  }
}

export function programOpened(fd: unknown, path: unknown): void {
  openedFd(fd, path);
  if (typeof fd === 'number') programFds.add(fd);
}

/** The FSReqCallback or kUsePromises among the arguments; undefined for a synchronous call. */
function requestOf(args: unknown[]): unknown {
  for (let i = args.length - 1; i > 0; i--) {
    const x = args[i];
    if (x === B.kUsePromises || x instanceof B.FSReqCallback) return x;
  }
  return undefined;
}

/** A binding function this Node has and rewind does not know: said when recording, refused at replay. */
function unknown(name: string, fn: Fn): Fn {
  const s = currentSession();
  // A class (Node 26 added job classes) must still be constructed: called, native code aborts.
  return function (this: unknown, ...args: unknown[]): unknown {
    const call = (): unknown => (new.target ? Reflect.construct(fn, args) : fn.apply(this, args));
    if (passThrough()) return call();
    s.unsupported(`the fs binding function ${name}`, 'this Node version has a native fs call rewind does not know');
    if (s.mode === 'replay') s.mismatch(`called the fs binding function ${name}, which rewind cannot replay`);
    return call();
  };
}

/** A module loader's call: not recorded, in both runs; the descriptors it opens are the loader's. */
function loaderCall(kind: Kind, fn: Fn, args: unknown[]): unknown {
  const v = fn.apply(B, args);
  const unordered = unorderedCalls.depth > 0;
  const opened = (fd: number) => {
    loaderFds.add(fd);
    if (unordered) unorderedFds.add(fd);
  };
  if (kind === 'open' && typeof v === 'number') opened(v);
  if (kind === 'openHandle' && v instanceof Promise) {
    return inTurn(
      v.then((h: { fd: number }) => {
        opened(h.fd);
        return h;
      }),
    );
  }
  return inTurn(v);
}

// ---- output: writes to fds 1 and 2 --------------------------------------------------------------
// The program's output, written in both runs and checked like stdout (unless process.stdout
// itself is writing, which the stdio source has logged already).

function output(kind: Kind, fn: Fn, args: unknown[]): unknown {
  const s = currentSession();
  if (stdioWriting.depth > 0) return fn.apply(B, args);
  const fd = args[0] as number;
  s.output(fd, writtenBytes(kind, args));
  const req = requestOf(args);
  if (req === undefined) return fn.apply(B, args);
  const realArgs = args.map((x) => (x === req ? undefined : x));
  if (s.mode === 'replay') fn.apply(B, [...realArgs, {}]);
  const settle = (start: (done: Fn) => void, cb: Fn) =>
    s.async({ api: FUNCTIONS.writeBuffer.api, what: `fs write to fd ${fd}`, start, cb });
  if (req === B.kUsePromises) {
    return new Promise((resolve, reject) => {
      settle(
        (done) =>
          (fn.apply(B, args) as Promise<unknown>).then(
            (v) => done(null, v),
            (e) => done(e),
          ),
        (err, v) => (err != null ? reject(err) : resolve(v)),
      );
    });
  }
  const r = req as { oncomplete: Fn };
  const oncomplete = r.oncomplete;
  settle(
    (done) => {
      r.oncomplete = done;
      fn.apply(B, args);
    },
    (...results) => {
      r.oncomplete = oncomplete;
      oncomplete.apply(r, results);
    },
  );
  return undefined;
}

function writtenBytes(kind: Kind, args: unknown[]): Uint8Array {
  if (kind === 'write') return bytesOf(args[1] as ArrayBufferView, args[2] as number, args[3] as number);
  if (kind === 'writev') return Buffer.concat((args[1] as ArrayBufferView[]).map((b) => bytesOf(b)));
  return Buffer.from(args[1] as string, typeof args[3] === 'string' && Buffer.isEncoding(args[3]) ? args[3] : 'utf8');
}

// ---- argument summaries ---------------------------------------------------------------------------

const MAX_ARG_BYTES = 4096;

/** [form, ...arguments]: data sent as its length and crc32, a read's buffer as nothing; no request, no ctx. */
export function summarize(kind: Kind, form: Form, args: unknown[]): unknown[] {
  switch (kind) {
    case 'read':
      return [form, args[0], args[3], args[4]];
    case 'readv':
      return [form, args[0], totalLength(args[1]), args[2]];
    case 'write':
    case 'writev':
    case 'writeString': {
      const data = writtenBytes(kind, args);
      return [form, args[0], data.length, crc32(data), kind === 'writev' ? args[2] : args[kind === 'write' ? 4 : 2]];
    }
    case 'writeFile': {
      const data = typeof args[1] === 'string' ? Buffer.from(args[1]) : bytesOf(args[1] as ArrayBufferView);
      return [form, args[0], data.length, crc32(data), args[2], args[3]];
    }
  }
  const out: unknown[] = [form];
  for (const x of args) {
    if (x === null || x === undefined) out.push(null);
    else if (typeof x !== 'object') out.push(typeof x === 'function' || typeof x === 'symbol' ? null : x);
    else if (isView(x)) out.push(x.byteLength <= MAX_ARG_BYTES ? bytesOf(x) : x.byteLength);
    else if (Array.isArray(x)) out.push(x.length);
  }
  while (out.length > 1 && out[out.length - 1] === null) out.pop();
  return out;
}

/**
 * Writes summarize(kind, 'sync', args) into `f` as the writer packs a summary (FastPacker.put
 * with encodeValue), for arguments that are not objects, which the summary holds as they are
 * (null for undefined, a function or a symbol; trailing nulls left out); false for anything
 * else (a buffer, a bigint, non-ASCII text), whose summary is then made and packed so.
 */
export function packSummary(f: FastPacker, kind: Kind, args: unknown[]): boolean {
  if (kind === 'read') {
    f.arrayHeader(4);
    return f.primitive('sync') && item(f, args[0]) && item(f, args[3]) && item(f, args[4]);
  }
  if (kind !== 'plain' && kind !== 'open' && kind !== 'close' && kind !== 'stat' && kind !== 'readFile') return false;
  let n = args.length;
  while (n > 0 && summarizedAsNull(args[n - 1])) n--;
  f.arrayHeader(n + 1);
  if (!f.primitive('sync')) return false;
  for (let i = 0; i < n; i++) {
    const x = args[i];
    if (!(summarizedAsNull(x) ? f.primitive(null) : item(f, x))) return false;
  }
  return true;
}

const summarizedAsNull = (x: unknown): boolean =>
  x === null || x === undefined || typeof x === 'function' || typeof x === 'symbol';
/** `x` packed as FastPacker.value packs it, if it is not an object. */
const item = (f: FastPacker, x: unknown): boolean => (typeof x === 'object' && x !== null ? false : f.primitive(x));

const totalLength = (buffers: unknown): number =>
  Array.isArray(buffers)
    ? buffers.reduce((n: number, b: ArrayBufferView) => n + (isView(b) ? b.byteLength : 0), 0)
    : -1;

// ---- results --------------------------------------------------------------------------------------

/** Bytes a read brought into the caller's buffer, stored once per unchanged content. */
function readBytes(key: string | null, buf: ArrayBufferView, offset: number, n: number): Bytes {
  const bytes = bytesOf(buf, offset, n);
  return key === null ? bytes : (storeContent(key, bytes) as Bytes);
}
function fillRead(key: string | null, buf: ArrayBufferView, offset: number, stored: Bytes): void {
  bytesOf(buf).set(loadContent(key, stored) as Uint8Array, offset);
}

function gather(buffers: ArrayBufferView[], n: number): Uint8Array {
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
function scatter(buffers: ArrayBufferView[], bytes: Uint8Array): void {
  let at = 0;
  for (const b of buffers) {
    if (at >= bytes.length) break;
    const chunk = bytes.subarray(at, at + b.byteLength);
    bytesOf(b).set(chunk);
    at += chunk.length;
  }
}

/** A stat's values: the first `fields` of a Float64Array or BigInt64Array, as raw bytes. */
const statFields = (kind: Kind) => (kind === 'stat' ? B.kFsStatsFieldsNumber : 7);
const statBytes = (kind: Kind, a: Float64Array | BigInt64Array): Uint8Array => bytesOf(a, 0, statFields(kind) * 8);
/** Synchronous stats land in Node's shared arrays; asynchronous ones in the request's own. */
function statArray(kind: Kind, bigint: boolean, shared: boolean, bytes: Uint8Array): Float64Array | BigInt64Array {
  let a: Float64Array | BigInt64Array;
  if (shared)
    a = kind === 'stat' ? (bigint ? B.bigintStatValues : B.statValues) : bigint ? B.bigintStatFsValues : B.statFsValues;
  else a = bigint ? new BigInt64Array(statFields(kind) * 2) : new Float64Array(statFields(kind) * 2);
  bytesOf(a).set(bytes);
  return a;
}

/** What a read(fd, buffer, offset, length, position) fills: its content key, the buffer and the offset in it. */
function readTarget(args: unknown[]): { key: ReturnType<typeof readKey>; buf: ArrayBufferView; offset: number } {
  return { key: readKey(args[0], args[3], args[4]), buf: args[1] as ArrayBufferView, offset: args[2] as number };
}

/** How a synchronous call's return value (and what it wrote into its arguments) is stored. */
function syncCodec(name: string, kind: Kind): SyncCodec | undefined {
  switch (kind) {
    case 'read':
      return new ReadResult();
    case 'readv':
      return new ReadvResult();
    case 'readFile':
      return new ReadFileResult();
    case 'stat':
    case 'statfs':
      return new StatResult(name, kind);
  }
  return undefined;
}

/**
 * How a synchronous call's result (and what it wrote into its arguments) is stored: one
 * object per binding function, told each call's arguments before the call runs (a read's
 * content key counts the descriptor's reads, so it is taken whether or not the call then
 * succeeds, as the recording took it). Synchronous calls do not interleave, so the arguments
 * held are the call's in progress; the buffers are let go once used.
 */
interface SyncCodec extends ResultCodec<unknown> {
  prepare(args: unknown[]): void;
}

/** read(fd, buffer, offset, length, position): the bytes read into the buffer. */
class ReadResult implements SyncCodec {
  private key: string | null = null;
  private buf: ArrayBufferView | null = null;
  private offset = 0;
  prepare(args: unknown[]): void {
    this.key = readKey(args[0], args[3], args[4]);
    this.buf = args[1] as ArrayBufferView;
    this.offset = args[2] as number;
  }
  encode(n: unknown): unknown {
    const buf = this.buf!;
    this.buf = null;
    return (n as number) > 0 ? [n, readBytes(this.key, buf, this.offset, n as number)] : n;
  }
  decode(x: unknown): unknown {
    const buf = this.buf!;
    this.buf = null;
    if (!Array.isArray(x)) return x;
    fillRead(this.key, buf, this.offset, x[1] as Bytes);
    return x[0];
  }
}

/** readv(fd, buffers, position): the bytes read, across the buffers. */
class ReadvResult implements SyncCodec {
  private buffers: ArrayBufferView[] = [];
  prepare(args: unknown[]): void {
    this.buffers = args[1] as ArrayBufferView[];
  }
  encode(n: unknown): unknown {
    const { buffers } = this;
    this.buffers = [];
    return [n, gather(buffers, n as number)];
  }
  decode(x: unknown): unknown {
    const { buffers } = this;
    this.buffers = [];
    const [n, bytes] = x as [number, Uint8Array];
    scatter(buffers, bytes);
    return n;
  }
}

/** readFileUtf8(path, flags): the text, stored once per unchanged content. */
class ReadFileResult implements SyncCodec {
  private key: string | null = null;
  prepare(args: unknown[]): void {
    this.key = fileKey(args[0], args[1]);
  }
  encode(v: unknown): unknown {
    return storeContent(this.key, v as string);
  }
  decode(x: unknown): unknown {
    return loadContent(this.key, x as string);
  }
}

/** stat/lstat/fstat/statfs(target, bigint, …): the values written into Node's shared array. */
class StatResult implements SyncCodec {
  private key: string | null = null;
  private bigint = false;
  constructor(
    private readonly name: string,
    private readonly kind: Kind,
  ) {}
  prepare(args: unknown[]): void {
    this.key = statKey(this.name, args[0], args[1]);
    this.bigint = args[1] === true;
  }
  encode(a: unknown): unknown {
    return a === undefined ? null : storeContent(this.key, statBytes(this.kind, a as Float64Array));
  }
  decode(x: unknown): unknown {
    return x === null || x === undefined
      ? undefined
      : statArray(this.kind, this.bigint, true, loadContent(this.key, x as Bytes) as Uint8Array);
  }
}

/**
 * A synchronous call that reports its error in a context object, (…, undefined, ctx), not
 * by throwing: writeSync on Node 20-24 (and more functions on older Node 20 releases).
 */
function ctxOf(args: unknown[]): Record<string, unknown> | null {
  const n = args.length;
  const ctx = args[n - 1];
  return n >= 2 &&
    args[n - 2] === undefined &&
    ctx !== null &&
    typeof ctx === 'object' &&
    Object.getPrototypeOf(ctx) === Object.prototype
    ? (ctx as Record<string, unknown>)
    : null;
}

/** `codec`, plus what the call put in its ctx (errno, code, syscall…), stored only when it put something. */
function withCtx(ctx: Record<string, unknown>, codec: ResultCodec<unknown> | undefined): ResultCodec<unknown> {
  const encode = codec ? (v: unknown) => codec.encode(v) : encodeValue;
  const decode = codec ? (x: unknown) => codec.decode(x) : decodeValue;
  return {
    encode: (v) =>
      Object.keys(ctx).length > 0
        ? { v: v === undefined ? null : encode(v), ctx: encodeValue({ ...ctx }) }
        : [encode(v)],
    decode(x) {
      if (Array.isArray(x)) return decode(x[0]);
      const { v, ctx: c } = x as { v: unknown; ctx: unknown };
      Object.assign(ctx, decodeValue(c));
      return v === null ? undefined : decode(v);
    },
  };
}

export const DEFAULT_RESULTS: ResultCodec<Results> = {
  encode: (r) => encodeValue(r),
  decode: (p) => decodeValue(p) as Results,
};
export const errorOnly = (r: Results): unknown[] | null => (r[0] != null ? [encodeValue(r[0])] : null);
export const decodedError = (p: unknown): Results | null => {
  const x = p as unknown[];
  return x.length === 1 ? [decodeValue(x[0])] : null;
};

/** How a callback's or promise's results, (err, value), are stored. */
function resultsCodec(name: string, kind: Kind, args: unknown[]): ResultCodec<Results> {
  switch (kind) {
    case 'read': {
      const { key, buf, offset } = readTarget(args);
      return {
        encode: (r) =>
          errorOnly(r) ??
          ((r[1] as number) > 0 ? [null, r[1], readBytes(key, buf, offset, r[1] as number)] : [null, r[1]]),
        decode(p) {
          const err = decodedError(p);
          if (err) return err;
          const [, n, bytes] = p as [null, number, Bytes?];
          if (bytes !== undefined) fillRead(key, buf, offset, bytes);
          return [null, n];
        },
      };
    }
    case 'readv': {
      const buffers = args[1] as ArrayBufferView[];
      return {
        encode: (r) => errorOnly(r) ?? [null, r[1], gather(buffers, r[1] as number)],
        decode(p) {
          const err = decodedError(p);
          if (err) return err;
          const [, n, bytes] = p as [null, number, Uint8Array];
          scatter(buffers, bytes);
          return [null, n];
        },
      };
    }
    case 'readFile': {
      const key = fileKey(args[0], args[1]);
      return {
        encode: (r) => errorOnly(r) ?? [null, storeContent(key, r[1] as string)],
        decode: (p) => decodedError(p) ?? [null, loadContent(key, (p as unknown[])[1] as string)],
      };
    }
    case 'stat':
    case 'statfs': {
      const key = statKey(name, args[0], args[1]);
      return {
        encode: (r) =>
          errorOnly(r) ?? [null, r[1] === undefined ? null : storeContent(key, statBytes(kind, r[1] as Float64Array))],
        decode: (p) => {
          const err = decodedError(p);
          if (err) return err;
          const bytes = (p as unknown[])[1];
          return [
            null,
            bytes === null
              ? undefined
              : statArray(kind, args[1] === true, false, loadContent(key, bytes as Bytes) as Uint8Array),
          ];
        },
      };
    }
    case 'openHandle':
      return {
        encode: (r) => errorOnly(r) ?? [null, (r[1] as { fd: number }).fd],
        decode: (p) => decodedError(p) ?? [null, replayHandle((p as unknown[])[1] as number)],
      };
  }
  return DEFAULT_RESULTS;
}
