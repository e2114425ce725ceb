// Node's handle classes (TCP, Pipe, TTY, Process) and the shared stream state they report
// reads and writes through. Node's own net, child_process and tty modules hold these
// classes privately; `process.binding` returns the very same classes, so patching their
// prototypes reaches every handle Node creates (but Signal on Node 24: see signalClass).
// Verified on Node 20, 22 and 24.
import { createHook } from 'node:async_hooks';

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

function optional<T>(get: () => T): T | null {
  try {
    return get();
  } catch {
    return null;
  }
}

/** The bindings, or null when this Node does not expose them (then I/O is not recorded). */
export function bindings(): Bindings | null {
  if (cached !== undefined) return cached;
  // process.binding is documentation-deprecated (DEP0111); with --pending-deprecation it
  // warns, which would add output the program did not write.
  const emitWarning = process.emitWarning;
  process.emitWarning = () => {};
  try {
    const b = (process as unknown as { binding(name: string): any }).binding;
    const tcp = b('tcp_wrap');
    const pipe = b('pipe_wrap');
    const stream = b('stream_wrap');
    const StreamPrototype = Object.getPrototypeOf(tcp.TCP.prototype);
    cached = {
      TCP: tcp.TCP,
      TCPConstants: tcp.constants,
      Pipe: pipe.Pipe,
      PipeConstants: pipe.constants,
      TTY: b('tty_wrap').TTY,
      Process: b('process_wrap').Process,
      spawnSync: b('spawn_sync'),
      Signal: optional(() => b('signal_wrap').Signal) ?? optional(signalClass),
      cares: b('cares_wrap'),
      zlib: b('zlib'),
      TLSWrap: optional(() => b('tls_wrap').TLSWrap),
      StreamPrototype,
      HandlePrototype: Object.getPrototypeOf(StreamPrototype),
      streamBaseState: stream.streamBaseState,
      kReadBytesOrError: stream.kReadBytesOrError,
      kArrayBufferOffset: stream.kArrayBufferOffset,
      kBytesWritten: stream.kBytesWritten,
      kLastWriteWasAsync: stream.kLastWriteWasAsync,
    };
  } catch {
    cached = null;
  } finally {
    process.emitWarning = emitWarning;
  }
  return cached;
}
