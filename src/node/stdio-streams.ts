// process.stdout and process.stderr as Node makes them (lib/internal/bootstrap/switches/
// is_main_thread.js: getStdout, createWritableStdioStream), for replay to make the class the
// recorded process had over the replay's own fd: Node picks the class from what the fd is
// (libuv's uv_guess_handle), and programs see it (`constructor.name`, the "[Socket]" of a
// MaxListenersExceededWarning, `_handle`, `_type`). Checked on Node 20.20, 22.23, 24.21.
import fs from 'node:fs';
import type * as Net from 'node:net';
import type * as Stream from 'node:stream';
import { bindings, isatty } from './bindings.js';
import { builtinModule } from './fields.js';
import { original } from './originals.js';

export type StdioKind = 'tty' | 'pipe' | 'file';

/**
 * What Node will make of fd `fd`, as libuv guesses it: a terminal, a pipe or socket, or a file
 * (a regular file or a device; a closed fd 0-2 is one too: Node opens /dev/null in its place).
 */
export function fdKind(fd: number): StdioKind {
  if (isatty(fd)) return 'tty';
  try {
    const st = original.fs.fstatSync(fd);
    return st.isFIFO() || st.isSocket() ? 'pipe' : 'file';
  } catch {
    return 'file';
  }
}

// Taken as rewind loads: Node's SyncWriteStream calls the fs module's own writeSync, through
// the fs binding (not as rewind's own I/O), so the fs source sees its writes as it saw them recorded.
const writeSync = fs.writeSync;
const retry = new Int32Array(new SharedArrayBuffer(4));

type Writable = Stream.Writable & Record<string, unknown>;
interface SyncWriteStreamClass {
  new (fd: number, options?: { autoClose?: boolean }): Writable;
}
let syncWriteStream: SyncWriteStreamClass | undefined;

/**
 * Node's internal/fs/sync_write_stream, which programs cannot reach (fs.SyncWriteStream is
 * gone since Node 20): the same constructor name, prototype chain and methods. Unlike Node's,
 * its write waits out EAGAIN: the recorded file never refused a write, but the replay's fd may
 * be a pipe another process made non-blocking.
 */
function SyncWriteStreamClass(): SyncWriteStreamClass {
  if (syncWriteStream) return syncWriteStream;
  const { Writable } = builtinModule<typeof Stream>('node:stream');
  function SyncWriteStream(this: Writable, fd: number, options?: { autoClose?: boolean }) {
    Reflect.apply(Writable, this, [{ autoDestroy: true }]);
    this.fd = fd;
    this.readable = false;
    this.autoClose = options?.autoClose === undefined ? true : options.autoClose;
  }
  Object.setPrototypeOf(SyncWriteStream.prototype, Writable.prototype);
  Object.setPrototypeOf(SyncWriteStream, Writable);
  const proto = SyncWriteStream.prototype as Writable;
  proto._write = function (this: Writable, chunk: Uint8Array, _encoding: unknown, cb: () => void) {
    for (let done = 0; done < chunk.byteLength;) {
      try {
        done += writeSync(this.fd as number, chunk, done);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
        original.Atomics.wait(retry, 0, 0, 1);
      }
    }
    cb();
    return true;
  };
  proto._destroy = function (this: Writable, err: Error | null, cb: (err: Error | null) => void) {
    if (this.fd === null) return cb(err);
    if (this.autoClose) fs.closeSync(this.fd as number);
    this.fd = null;
    cb(err);
  };
  proto.destroySoon = proto.destroy;
  return (syncWriteStream = SyncWriteStream as unknown as SyncWriteStreamClass);
}

/** getStdout's stand-in for Stream#_destroy: the fd is never closed, but 'close' is still seen. */
function dummyDestroy(this: Writable, err: Error | null, cb: (err: Error | null) => void): void {
  cb(err);
  if (!(this._writableState as { emitClose: boolean }).emitClose) process.nextTick(() => this.emit('close'));
}

/**
 * process.stdout (fd 1) or process.stderr (2) as Node makes it when the fd is a pipe ('pipe':
 * a net.Socket on a Pipe handle) or a file ('file': a SyncWriteStream), but writing to fd
 * `fd` whatever it is now. Null when it cannot be made so (no Pipe handle class, libuv
 * refuses the fd, the fd carries the IPC channel): then Node makes its own.
 */
export function stdioStreamOfKind(fd: 1 | 2, kind: 'pipe' | 'file'): NodeJS.WriteStream | null {
  let stream: Writable;
  if (kind === 'file') {
    stream = new (SyncWriteStreamClass())(fd, { autoClose: false });
    stream._type = 'fs';
  } else {
    if ((process as { channel?: { fd?: number } }).channel?.fd === fd) return null;
    const b = bindings();
    if (!b) return null;
    // What `new net.Socket({ fd })` does for a pipe, without its check that the fd is one:
    // libuv writes to a file or a terminal through a pipe handle alike.
    const handle = new b.Pipe(b.PipeConstants.SOCKET);
    if (handle.open(fd) !== 0) {
      handle.close();
      return null;
    }
    const net = builtinModule<typeof Net>('node:net');
    stream = new net.Socket({
      handle,
      readable: false,
      writable: true,
    } as Net.SocketConstructorOpts) as unknown as Writable;
    stream._type = 'pipe';
  }
  stream.fd = fd;
  stream._isStdio = true;
  stream.destroySoon = stream.destroy;
  stream._destroy = dummyDestroy;
  return stream as unknown as NodeJS.WriteStream;
}
