// Node's handle classes (TCP, Pipe, TTY, Process) and the shared stream state they report
// reads and writes through. Node's own net, child_process and tty modules hold these
// classes privately; `process.binding` returns the very same classes, so patching their
// prototypes reaches every handle Node creates (but Signal on Node 24: see signalClass).
// Verified on Node 20, 22 and 24.
import { createHook } from 'node:async_hooks';
import { builtinModule } from './fields.js';
import { binding, lookup } from './internals.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
export interface HandleClass {
  new (type?: number, ...rest: unknown[]): any;
  prototype: any;
}

export interface Bindings {
  TCP: HandleClass;
  TCPConstants: { SOCKET: number; SERVER: number };
  Pipe: HandleClass;
  PipeConstants: { SOCKET: number; SERVER: number; IPC: number };
  TTY: HandleClass;
  Process: HandleClass;
  /** zlib's handle classes (Zlib, BrotliEncoder/Decoder, Zstd* on newer Node), by name. */
  zlib: Record<string, HandleClass>;
  /** cares_wrap: getaddrinfo, getnameinfo and the c-ares channel behind dns. */
  cares: any;
  /** The handle behind process.on(signal) (signal_wrap; on Node 24 caught as Node creates one), or null if not found. */
  Signal: HandleClass | null;
  /** The TLS layer's handle (tls_wrap), or null in a Node built without crypto. */
  TLSWrap: HandleClass | null;
  /** spawn_sync: the one function behind spawnSync, execSync and execFileSync. */
  spawnSync: { spawn(options: any): any };
  /** LibuvStreamWrap.prototype: readStart, writeBuffer, shutdown... shared by TCP, Pipe, TTY. */
  StreamPrototype: any;
  /** HandleWrap.prototype: close, ref, unref, hasRef. */
  HandlePrototype: any;
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kArrayBufferOffset: number;
  kBytesWritten: number;
  kLastWriteWasAsync: number;
}

let cached: Bindings | null | undefined;

/**
 * The Signal class, caught as Node creates the handle behind a signal listener: Node 24
 * left signal_wrap out of process.binding. SIGURG is ignored by default and unused by Node.
 */
function signalClass(): HandleClass {
  let found: HandleClass | null = null;
  const hook = createHook({
    init(_id, type, _trigger, resource) {
      if (type === 'SIGNALWRAP') found = (resource as { constructor: HandleClass }).constructor;
    },
  }).enable();
  const listener = () => {};
  try {
    process.on('SIGURG', listener);
  } finally {
    process.off('SIGURG', listener);
    hook.disable();
  }
  if (!found) throw new Error('no Signal handle class');
  return found;
}

/**
 * zlib's BrotliEncoder handle class, for the log's own chunk compression (trace/compressor.ts),
 * or null. Not a gap when missing (nothing goes unrecorded): compressor.ts then uses
 * zlib.brotliCompressSync.
 */
export function brotliEncoderClass(): HandleClass | null {
  return optional(() => (cached?.zlib ?? binding('zlib')).BrotliEncoder ?? null);
}

/**
 * zlib's native crc32(data, value): what node:zlib's crc32 checks its arguments for and calls,
 * taken from the binding so that neither the log's chunks nor the checks of a program's
 * writes load node:zlib (and the streams it needs) into a process that does not.
 */
export function crc32(data: string | Uint8Array, value = 0): number {
  return (nativeCrc32 ??= findCrc32())(data, value);
}
type Crc32 = (data: string | Uint8Array, value: number) => number;
let nativeCrc32: Crc32 | undefined;

function findCrc32(): Crc32 {
  const fn = optional(() => (cached?.zlib ?? binding('zlib')).crc32 as unknown);
  if (typeof fn === 'function') return fn as Crc32;
  return builtinModule<typeof import('node:zlib')>('node:zlib').crc32;
}

/** zlib's constants (modes, flush values, strategies) without loading node:zlib; null if out of reach. */
export function zlibConstants(): Record<string, number> | null {
  return optional(() => binding('constants').zlib as Record<string, number>);
}

function optional<T>(get: () => T): T | null {
  try {
    return get();
  } catch {
    return null;
  }
}

const NEEDED = {
  tcp_wrap: 'TCP sockets and servers (net, http, https, fetch)',
  pipe_wrap: "pipes and unix sockets (child processes' stdio, IPC)",
  stream_wrap: 'every socket, pipe and terminal read and write',
  tty_wrap: 'terminal input',
  process_wrap: 'child processes (spawn, exec, fork)',
  spawn_sync: 'spawnSync, execSync, execFileSync',
  cares_wrap: 'dns',
  zlib: 'zlib completions',
} as const;

/** Bindings a single source needs on its own, looked up by that source (through bindingNamed). */
const SOURCE_BINDINGS = {
  fs: "the file system (fs, fs/promises; the module loaders' reads are not the program's)",
  udp_wrap: 'UDP sockets (dgram)',
} as const;

/**
 * One binding a single source records through (see SOURCE_BINDINGS), or null when this Node
 * does not give it: then it is listed as missing, with what it affects.
 */
export function bindingNamed<T>(name: keyof typeof SOURCE_BINDINGS): T | null {
  return lookup(`process.binding('${name}')`, SOURCE_BINDINGS[name], () => binding(name) as T);
}

/**
 * The bindings, or null when this Node does not expose them all: then no socket, pipe,
 * child process, dns or zlib work is recorded, and src/node/internals.ts lists what is
 * missing and why (start.ts reports it when recording and refuses to replay).
 */
export function bindings(): Bindings | null {
  if (cached !== undefined) return cached;
  const found: Partial<Record<keyof typeof NEEDED, any>> = {};
  for (const [name, affects] of Object.entries(NEEDED) as [keyof typeof NEEDED, string][]) {
    found[name] = lookup(`process.binding('${name}')`, affects, () => binding(name));
  }
  const {
    tcp_wrap: tcp,
    pipe_wrap: pipe,
    stream_wrap: stream,
    tty_wrap: tty,
    process_wrap: proc,
    spawn_sync,
    cares_wrap,
    zlib,
  } = found;
  if (!tcp || !pipe || !stream || !tty || !proc || !spawn_sync || !cares_wrap || !zlib) return (cached = null);
  const StreamPrototype = lookup("the libuv stream prototype (TCP.prototype's)", NEEDED.stream_wrap, () =>
    Object.getPrototypeOf(tcp.TCP.prototype),
  );
  if (!StreamPrototype) return (cached = null);
  if (!lookup("process.binding('stream_wrap').streamBaseState", NEEDED.stream_wrap, () => stream.streamBaseState))
    return (cached = null);
  cached = {
    TCP: tcp.TCP,
    TCPConstants: tcp.constants,
    Pipe: pipe.Pipe,
    PipeConstants: pipe.constants,
    TTY: tty.TTY,
    Process: proc.Process,
    spawnSync: spawn_sync,
    Signal: optional(() => binding('signal_wrap').Signal) ?? optional(signalClass),
    cares: cares_wrap,
    zlib,
    TLSWrap: optional(() => binding('tls_wrap').TLSWrap),
    StreamPrototype,
    HandlePrototype: Object.getPrototypeOf(StreamPrototype),
    streamBaseState: stream.streamBaseState,
    kReadBytesOrError: stream.kReadBytesOrError,
    kArrayBufferOffset: stream.kArrayBufferOffset,
    kBytesWritten: stream.kBytesWritten,
    kLastWriteWasAsync: stream.kLastWriteWasAsync,
  };
  return cached;
}

/** A crypto job class: `new Job(mode, …)`, then `job.ondone = fn` and `job.run()` (mode async). */
export interface CryptoJobClass {
  readonly name: string;
  prototype: { run(...args: unknown[]): unknown };
}

/**
 * crypto's job classes (PBKDF2Job, HashJob, …: work on libuv's thread pool, finished through
 * `job.ondone`), where process.binding('crypto') gives them (Node 20, 22); none on Node 24,
 * where `catchCryptoJobs` finds each as Node makes its first job. Verified on 20, 22, 24, 26.
 */
export function cryptoJobClasses(): CryptoJobClass[] {
  const c = optional(() => binding('crypto') as Record<string, unknown>);
  if (!c) return [];
  return Object.entries(c)
    .filter(([name, v]) => name.endsWith('Job') && typeof v === 'function')
    .map(([, v]) => v as CryptoJobClass);
}

let jobCatcher: { hook: ReturnType<typeof createHook>; depth: number; found: (C: CryptoJobClass) => void } | null =
  null;

/**
 * Runs `fn` (a public crypto call), handing `found` the class of each crypto job Node makes
 * inside it, in the job's constructor, before Node runs the job. Node makes its jobs inside
 * the public call on every version (checked: pbkdf2, scrypt, hkdf, checkPrime, randomBytes,
 * subtle.digest and subtle.sign on Node 20, 24 and 26).
 */
export function catchCryptoJobs<T>(fn: () => T, found: (C: CryptoJobClass) => void): T {
  if (jobCatcher === null) {
    const catcher = {
      depth: 0,
      found,
      hook: createHook({
        init(_id, _type, _trigger, resource) {
          const C: unknown = (resource as { constructor?: unknown } | null)?.constructor;
          if (typeof C === 'function' && C.name.endsWith('Job')) catcher.found(C as unknown as CryptoJobClass);
        },
      }),
    };
    jobCatcher = catcher;
  }
  const c = jobCatcher;
  c.found = found;
  if (c.depth++ === 0) c.hook.enable();
  try {
    return fn();
  } finally {
    if (--c.depth === 0) c.hook.disable();
  }
}

let ttyWrap: { isTTY?: (fd: number) => boolean } | null | undefined;

/**
 * tty.isatty(fd), which every start asks of fds 0 and 2, without loading node:tty: the
 * program loads it if it needs it (~0.5 ms of a start otherwise). tty_wrap's isTTY is what
 * tty.isatty calls; where process.binding is refused, tty.isatty itself.
 */
export function isatty(fd: number): boolean {
  if (ttyWrap === undefined) ttyWrap = optional(() => binding('tty_wrap'));
  if (typeof ttyWrap?.isTTY === 'function') return ttyWrap.isTTY(fd);
  return builtinModule<typeof import('node:tty')>('node:tty').isatty(fd);
}
