// fs/promises FileHandle. Node's FileHandle calls the native binding with its descriptor,
// so at replay, with no file open, it could do nothing. The program gets this class in
// both runs instead: recording, it wraps the real FileHandle and logs what each method
// brought; at replay it serves the log. Its state (descriptor, pending operations, closing)
// follows Node's logic in both runs, so that the program sees the same sequence of events.
import EventEmitter from 'node:events';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type * as Readline from 'node:readline';
import type { FileHandle as RealFileHandle } from 'node:fs/promises';
import type { ResultCodec } from '../session/session.js';
import { Api } from '../trace/format.js';
import { decodeValue, encodeValue } from '../trace/values.js';
import { argOf, digestOfAll, promiseCall } from './fs-core.js';
import { fill, gather, readBytes, readTargetHandle, scatter, targetBuffer, writeDigest, type ReadTarget } from './fs-io.js';

type Results = unknown[];
type Callback = (...a: unknown[]) => void;
const noResult: ResultCodec<Results> = {
  encode: ([err]) => (err ? [encodeValue(err)] : [null]),
  decode: (p) => {
    const [err] = p as [unknown];
    return err ? [decodeValue(err)] : [null, undefined];
  },
};

function readResultCodec(t: ReadTarget): ResultCodec<Results> {
  return {
    encode([err, r]) {
      if (err) return [encodeValue(err)];
      const { bytesRead, buffer } = r as { bytesRead: number; buffer: ArrayBufferView };
      return [null, bytesRead, readBytes(t, buffer, bytesRead)];
    },
    decode(p) {
      const [err, n, bytes] = p as [unknown, number, Uint8Array];
      if (err) return [decodeValue(err)];
      const buffer = targetBuffer(t);
      fill(t, buffer, bytes);
      return [null, { __proto__: null, bytesRead: n, buffer }];
    },
  };
}

const writeResultCodec = (buffer: unknown, key: 'buffer' | 'buffers'): ResultCodec<Results> => ({
  encode: ([err, r]) => (err ? [encodeValue(err)] : [null, (r as { bytesWritten: number }).bytesWritten]),
  decode(p) {
    const [err, n] = p as [unknown, number];
    return err ? [decodeValue(err)] : [null, { __proto__: null, bytesWritten: n, [key]: buffer }];
  },
});

/** fsp.writeFile/appendFile data that is an (async) iterable or stream: its chunks, collected. */
export async function collect(data: AsyncIterable<unknown> | Iterable<unknown>, encoding: unknown): Promise<Buffer> {
  const enc = typeof encoding === 'string' && Buffer.isEncoding(encoding) ? encoding : 'utf8';
  const chunks: Buffer[] = [];
  for await (const chunk of data as AsyncIterable<unknown>) {
    chunks.push(ArrayBuffer.isView(chunk) ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) : Buffer.from(chunk as string, enc));
  }
  return Buffer.concat(chunks);
}

export const isCustomIterable = (data: unknown): data is AsyncIterable<unknown> =>
  data !== null && typeof data === 'object' && !ArrayBuffer.isView(data) &&
  (typeof (data as Record<symbol, unknown>)[Symbol.asyncIterator] === 'function' || typeof (data as Record<symbol, unknown>)[Symbol.iterator] === 'function');

const encodingOf = (options: unknown): unknown => (typeof options === 'string' ? options : (options as { encoding?: unknown } | null)?.encoding);

/** The error Node's FileHandle gives for any operation on a closed handle. */
function closedError(syscall: string): Error {
  const err = new Error('file closed') as NodeJS.ErrnoException;
  err.code = 'EBADF';
  err.syscall = syscall;
  return err;
}

export class FileHandle extends EventEmitter {
  #real: RealFileHandle | null;
  #fd: number;
  #refs = 1;
  #closing: Promise<void> | null = null;
  #closeResolve: (() => void) | null = null;
  #closeReject: ((e: unknown) => void) | null = null;
  #locked = false;

  /** `real` is the FileHandle Node opened (recording), or null (replay). */
  constructor(real: RealFileHandle | null, fd: number) {
    super();
    this.#real = real;
    this.#fd = fd;
  }

  static isFileHandle(v: unknown): v is FileHandle {
    return v instanceof FileHandle;
  }

  get fd(): number {
    return this.#fd;
  }

  /** One operation: refused on a closed handle, counted while pending, as Node counts it. */
  #op<T>(api: number, syscall: string, args: unknown[], real: (h: RealFileHandle) => Promise<unknown>, codec?: ResultCodec<Results>): Promise<T> {
    if (this.#fd === -1) return Promise.reject(closedError(syscall));
    this.#refs++;
    const p = promiseCall<T>(api, [this.#fd, ...args], `FileHandle.${syscall}()`, () => real(this.#real!) as Promise<T>, codec);
    return p.finally(() => this.#unref());
  }

  #unref(): void {
    if (--this.#refs === 0) {
      const fd = this.#fd;
      this.#fd = -1;
      this.#closeNow(fd).then(this.#closeResolve, this.#closeReject);
    }
  }

  #closeNow(fd: number): Promise<void> {
    return promiseCall<void>(Api['fs.handle.close'], [fd], 'FileHandle.close()', () => this.#real!.close(), noResult).then(() => undefined);
  }

  close = (): Promise<void> => {
    if (this.#fd === -1) return Promise.resolve();
    if (this.#closing) return this.#closing;
    this.#refs--;
    if (this.#refs === 0) {
      const fd = this.#fd;
      this.#fd = -1;
      this.#closing = this.#closeNow(fd).finally(() => {
        this.#closing = null;
      });
    } else {
      this.#closing = new Promise<void>((resolve, reject) => {
        this.#closeResolve = resolve;
        this.#closeReject = reject;
      }).finally(() => {
        this.#closing = this.#closeResolve = this.#closeReject = null;
      });
    }
    this.emit('close');
    return this.#closing;
  };

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  read(...args: unknown[]): Promise<{ bytesRead: number; buffer: ArrayBufferView }> {
    const t = readTargetHandle(args);
    if (t.length === 0 && this.#fd !== -1) return Promise.resolve({ __proto__: null, bytesRead: 0, buffer: targetBuffer(t) } as never);
    return this.#op(Api['fs.handle.read'], 'read', [t.length, argOf(t.position)], (h) => (h.read as Callback)(...args) as never, readResultCodec(t));
  }

  readv(buffers: ArrayBufferView[], position?: number | null): Promise<{ bytesRead: number; buffers: ArrayBufferView[] }> {
    const codec: ResultCodec<Results> = {
      encode([err, r]) {
        if (err) return [encodeValue(err)];
        const n = (r as { bytesRead: number }).bytesRead;
        return [null, n, gather(buffers, n)];
      },
      decode(p) {
        const [err, n, bytes] = p as [unknown, number, Uint8Array];
        if (err) return [decodeValue(err)];
        scatter(buffers, bytes);
        return [null, { __proto__: null, bytesRead: n, buffers }];
      },
    };
    const total = Array.isArray(buffers) ? buffers.reduce((n, b) => n + (b?.byteLength ?? 0), 0) : -1;
    return this.#op(Api['fs.handle.readv'], 'readv', [total, argOf(position)], (h) => h.readv(buffers as never, position as never), codec);
  }

  write(data: unknown, ...rest: unknown[]): Promise<{ bytesWritten: number; buffer: unknown }> {
    if ((data as ArrayBufferView | null)?.byteLength === 0 && this.#fd !== -1) {
      return Promise.resolve({ __proto__: null, bytesWritten: 0, buffer: data } as never);
    }
    const { n, crc, position } = writeDigest(data, rest[0], rest[1], rest[2]);
    return this.#op(Api['fs.handle.write'], 'write', [n, crc, argOf(position)], (h) => (h.write as Callback)(data, ...rest) as never, writeResultCodec(data, 'buffer'));
  }

  writev(buffers: ArrayBufferView[], position?: number | null): Promise<{ bytesWritten: number; buffers: ArrayBufferView[] }> {
    const { n, crc } = digestOfAll(buffers);
    return this.#op(Api['fs.handle.writev'], 'writev', [n, crc, argOf(position)], (h) => h.writev(buffers as never, position as never), writeResultCodec(buffers, 'buffers'));
  }

  readFile(options?: unknown): Promise<string | Buffer> {
    return this.#op(Api['fs.handle.readFile'], 'readFile', [argOf(options)], (h) => h.readFile(options as never));
  }

  writeFile(data: unknown, options?: unknown): Promise<void> {
    return this.#writeAll(Api['fs.handle.writeFile'], data, options, (h, d) => h.writeFile(d as never, options as never));
  }

  appendFile(data: unknown, options?: unknown): Promise<void> {
    return this.#writeAll(Api['fs.handle.appendFile'], data, options, (h, d) => h.appendFile(d as never, options as never));
  }

  async #writeAll(api: number, data: unknown, options: unknown, real: (h: RealFileHandle, d: unknown) => Promise<void>): Promise<void> {
    // Chunks of a stream or generator are the program's own values: gathered in both runs.
    if (isCustomIterable(data)) data = await collect(data, encodingOf(options));
    const { n, crc } = writeDigest(data, undefined, encodingOf(options), undefined);
    await this.#op(api, 'writeFile', [n, crc, argOf(options)], (h) => real(h, data), noResult);
  }

  stat(options?: unknown): Promise<fs.Stats> {
    return this.#op(Api['fs.handle.stat'], 'fstat', [argOf(options)], (h) => h.stat(options as never));
  }

  truncate(len?: number): Promise<void> {
    return this.#op(Api['fs.handle.truncate'], 'ftruncate', [len], (h) => h.truncate(len), noResult);
  }

  sync(): Promise<void> {
    return this.#op(Api['fs.handle.sync'], 'fsync', [], (h) => h.sync(), noResult);
  }

  datasync(): Promise<void> {
    return this.#op(Api['fs.handle.datasync'], 'fdatasync', [], (h) => h.datasync(), noResult);
  }

  chmod(mode: unknown): Promise<void> {
    return this.#op(Api['fs.handle.chmod'], 'fchmod', [argOf(mode)], (h) => h.chmod(mode as never), noResult);
  }

  chown(uid: unknown, gid: unknown): Promise<void> {
    return this.#op(Api['fs.handle.chown'], 'fchown', [uid, gid], (h) => h.chown(uid as never, gid as never), noResult);
  }

  utimes(atime: unknown, mtime: unknown): Promise<void> {
    return this.#op(Api['fs.handle.utimes'], 'futimes', [argOf(atime), argOf(mtime)], (h) => h.utimes(atime as never, mtime as never), noResult);
  }

  /** Stream operations over this handle, as Node's FileHandleOperations (the descriptor is ignored). */
  #streamOps() {
    return {
      open() {
        throw new Error('open() is not implemented for a stream over a FileHandle');
      },
      close: (_fd: number, cb: Callback) => {
        this.#unref();
        this.close().then(() => cb(), cb);
      },
      read: (_fd: number, buf: ArrayBufferView, offset: number, length: number, pos: unknown, cb: Callback) => {
        this.read(buf, offset, length, pos).then((r) => cb(null, r.bytesRead, r.buffer), (err) => cb(err, 0, buf));
      },
      write: (_fd: number, buf: ArrayBufferView, offset: number, length: number, pos: unknown, cb: Callback) => {
        this.write(buf, offset, length, pos).then((r) => cb(null, r.bytesWritten, r.buffer), (err) => cb(err, 0, buf));
      },
      writev: (_fd: number, buffers: ArrayBufferView[], pos: unknown, cb: Callback) => {
        this.writev(buffers, pos as number).then((r) => cb(null, r.bytesWritten, r.buffers), (err) => cb(err, 0, buffers));
      },
    };
  }

  /** A stream whose reads and writes are this handle's (what Node does for `{ fd: filehandle }`). */
  #stream<T extends fs.ReadStream | fs.WriteStream>(Stream: new (path: undefined, options: object) => T, options: object | undefined): T {
    const stream = new Stream(undefined, { ...options, fd: this.#fd, fs: this.#streamOps() });
    this.#refs++;
    this.on('close', () => stream.close());
    return stream;
  }

  createReadStream(options?: object): fs.ReadStream {
    return this.#stream(fs.ReadStream as never, options);
  }

  createWriteStream(options?: object): fs.WriteStream {
    return this.#stream(fs.WriteStream as never, options);
  }

  readLines(options?: object): Readline.Interface {
    // Loaded when used: every recorded program starts with this module.
    const readline = createRequire(import.meta.url)('node:readline') as typeof Readline;
    return readline.createInterface({ input: this.createReadStream(options), crlfDelay: Infinity });
  }

  readableWebStream(options: { autoClose?: boolean } = {}): ReadableStream<Uint8Array> {
    if (this.#fd === -1) throw new Error('The FileHandle is closed');
    if (this.#closing) throw new Error('The FileHandle is closing');
    if (this.#locked) throw new Error('The FileHandle is locked');
    this.#locked = true;
    const autoClose = options.autoClose === true;
    const ondone = async () => {
      this.#unref();
      if (autoClose) await this.close();
    };
    this.#refs++;
    return new ReadableStream({
      type: 'bytes',
      autoAllocateChunkSize: 16384,
      pull: async (controller) => {
        const view = controller.byobRequest!.view!;
        const { bytesRead } = await this.read(view, view.byteOffset, view.byteLength);
        if (bytesRead === 0) {
          controller.close();
          await ondone();
        }
        controller.byobRequest!.respond(bytesRead);
      },
      cancel: ondone,
    });
  }
}

/** Recording: wraps the FileHandle Node opened. */
export const wrapHandle = (real: RealFileHandle): FileHandle => new FileHandle(real, real.fd);

/** How fs.promises.open's result is stored: its descriptor. */
export const openCodec: ResultCodec<Results> = {
  encode: ([err, fh]) => (err ? [encodeValue(err)] : [null, (fh as FileHandle).fd]),
  decode(p) {
    const [err, fd] = p as [unknown, number];
    return err ? [decodeValue(err)] : [null, new FileHandle(null, fd)];
  },
};
