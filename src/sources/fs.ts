// The file system. Recording, every fs call the program makes is logged with a small
// summary of its arguments (paths, flags, descriptors, lengths, crc32 of written data) and
// what it brought back; a callback or promise completion is the turn it ran in. At replay
// the log answers every call and nothing touches the disk: writes, deletions and renames
// are checked against the log and not performed. Replaying a call the log never saw (another
// path, another file) is a divergence.
//
// rewind patches the public module objects (fs, fs/promises), so CommonJS, ESM and named
// imports all see the patches (start.ts syncs the ESM exports). Where Node builds one fs
// function on others through the same public object (fs.writeFile → open/write/close,
// fs.realpath, fs.rm, fs.cp, streams), the parts are recorded, and replay runs Node's own
// code over them; a synchronous call is recorded whole and Node's calls inside it are not
// (see guard in fs-core.ts). Module loading is exempt (fs-loader.ts).
import fs from 'node:fs';
import type { Session, Source } from '../session/session.js';
import { Api, type ApiName } from '../trace/format.js';
import { decodeValue, encodeValue } from '../trace/values.js';
import './fs-values.js';
import {
  argOf,
  callbackCall,
  digestOf,
  digestOfAll,
  addNodeFd,
  closeNodeFd,
  guard,
  isNodeFd,
  promiseCall,
  recording,
  summary,
  syncCall,
  unsupported,
  useSession,
} from './fs-core.js';
import { newDir } from './fs-dir.js';
import { FileHandle, collect, isCustomIterable, openCodec, wrapHandle } from './fs-handle.js';
import { contentCodec, contentKey, contentResultsCodec, fill, readArgs, readBytes, readCodec, readTargetCb, readTargetSync, readvCodec, scatter, gather, targetBuffer, writeCodec, writeDigest } from './fs-io.js';
import { installLoaderExemption, isLoaderRead, isLoaderRealpath } from './fs-loader.js';
import { nestedWatch, unwatchFile, watch, watchFile, watchIterator } from './fs-watch.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Fn = (...args: any) => any;
type Table = Record<string, any>;
type Results = unknown[];

/** Functions with the same name in fs (callback and Sync) and fs/promises, by Api id. */
const FUNCTIONS: [string, ApiName][] = [
  ['access', 'fs.access'], ['appendFile', 'fs.appendFile'], ['chmod', 'fs.chmod'], ['chown', 'fs.chown'],
  ['close', 'fs.close'], ['copyFile', 'fs.copyFile'], ['cp', 'fs.cp'], ['exists', 'fs.exists'],
  ['fchmod', 'fs.fchmod'], ['fchown', 'fs.fchown'], ['fdatasync', 'fs.fdatasync'], ['fstat', 'fs.fstat'],
  ['fsync', 'fs.fsync'], ['ftruncate', 'fs.ftruncate'], ['futimes', 'fs.futimes'], ['glob', 'fs.glob'],
  ['lchmod', 'fs.lchmod'], ['lchown', 'fs.lchown'], ['link', 'fs.link'], ['lstat', 'fs.lstat'],
  ['lutimes', 'fs.lutimes'], ['mkdir', 'fs.mkdir'], ['mkdtemp', 'fs.mkdtemp'], ['open', 'fs.open'],
  ['readdir', 'fs.readdir'], ['readFile', 'fs.readFile'], ['readlink', 'fs.readlink'], ['realpath', 'fs.realpath'],
  ['rename', 'fs.rename'], ['rm', 'fs.rm'], ['rmdir', 'fs.rmdir'], ['stat', 'fs.stat'], ['statfs', 'fs.statfs'],
  ['symlink', 'fs.symlink'], ['truncate', 'fs.truncate'], ['unlink', 'fs.unlink'], ['utimes', 'fs.utimes'],
  ['writeFile', 'fs.writeFile'],
];

/**
 * Callback functions Node builds on other public fs functions alone, which are recorded
 * instead (replay runs Node's code over them). rm, cp and glob capture their parts when Node
 * first loads them: recorded part by part only if that happens after rewind patched fs.
 * (writeFile, truncate and lchmod also use the binding directly: recorded whole.)
 */
const COMPOSITE_CB = new Set(['realpath']);
const LAZY_COMPOSITES: Record<string, string> = { rm: 'internal/fs/rimraf', cp: 'internal/fs/cp/cp', glob: 'internal/fs/glob' };

/** Installs `wrapper` as obj[name], keeping what Node hangs on the function (promisify hints, .native). */
function replace(obj: Table, name: string, wrapper: Fn): void {
  const orig = obj[name] as Fn;
  for (const key of Reflect.ownKeys(orig)) {
    if (key === 'length' || key === 'name' || key === 'prototype') continue;
    Object.defineProperty(wrapper, key, Object.getOwnPropertyDescriptor(orig, key)!);
  }
  Object.defineProperty(wrapper, 'name', { value: orig.name, configurable: true });
  obj[name] = wrapper;
}

const isFn = (x: unknown): x is Fn => typeof x === 'function';
/** fs.close's callback is optional: Node then throws the error, if any, from the callback. */
const defaultCloseCallback = (err: unknown) => {
  if (err != null) throw err;
};
const encodingOf = (options: unknown): unknown => (typeof options === 'string' ? options : (options as { encoding?: unknown } | null)?.encoding);
const isOutput = (fd: unknown): boolean => fd === 1 || fd === 2;

function install(s: Session): void {
  useSession(s);
  const F = fs as unknown as Table;
  const P = fs.promises as unknown as Table;
  const real: Table = { ...F };
  const realP: Table = { ...P };
  const loadedEarly = new Set((process as unknown as { moduleLoadList: string[] }).moduleLoadList);
  const lazyComposite = (name: string) => name in LAZY_COMPOSITES && !loadedEarly.has(`NativeModule ${LAZY_COMPOSITES[name]}`);

  installLoaderExemption();

  // ---- generic wrappers --------------------------------------------------------------------

  const wrapSync = (name: string, api: number, sum: (args: unknown[]) => unknown = (a) => summary('sync', a)) => {
    const fn = real[name] as Fn;
    if (!isFn(fn)) return;
    replace(F, name, function (this: unknown, ...args: unknown[]) {
      if (guard.depth > 0 || isNodeFd(args[0])) return fn.apply(this, args);
      return syncCall(api, sum(args), () => fn.apply(this, args));
    });
  };

  const wrapCallback = (name: string, api: number, sum?: (args: unknown[]) => unknown, codecOf?: (args: unknown[]) => any) => {
    const fn = real[name] as Fn;
    if (!isFn(fn)) return;
    const what = `fs.${name}() callback`;
    replace(F, name, function (this: unknown, ...args: unknown[]) {
      const last = args.length - 1;
      if (guard.depth > 0 || !isFn(args[last]) || isNodeFd(args[0])) return fn.apply(this, args);
      const cb = args[last] as Fn;
      callbackCall(api, sum ? sum(args) : summary('cb', args, last), what, (done) => {
        args[last] = done;
        fn.apply(this, args);
      }, cb, codecOf?.(args));
    });
  };

  const wrapPromise = (name: string, api: number) => {
    const fn = realP[name] as Fn;
    if (!isFn(fn)) return;
    const what = `fs.promises.${name}()`;
    replace(P, name, function (this: unknown, ...args: unknown[]) {
      if (guard.depth > 0) return fn.apply(this, args);
      return promiseCall(api, summary('promise', args), what, () => fn.apply(this, args));
    });
  };

  for (const [name, apiName] of FUNCTIONS) {
    const api = Api[apiName];
    wrapSync(`${name}Sync`, api);
    if (lazyComposite(name)) continue;
    if (!COMPOSITE_CB.has(name)) {
      wrapCallback(name, api, undefined, name === 'readFile' ? (a) => contentResultsCodec(contentKey(a[0], isFn(a[1]) ? undefined : a[1])) : undefined);
    }
    wrapPromise(name, api);
  }

  // ---- reads and writes of whole files -------------------------------------------------------

  const readFileSync = real.readFileSync as Fn;
  replace(F, 'readFileSync', function readFileSyncWrapper(this: unknown, path: unknown, options?: unknown) {
    if (guard.depth > 0 || isLoaderRead(path, readFileSyncWrapper)) return readFileSync.call(this, path, options);
    const args = options === undefined ? ['sync', argOf(path)] : ['sync', argOf(path), argOf(options)];
    return syncCall(Api['fs.readFile'], args, () => readFileSync.call(this, path, options), contentCodec(contentKey(path, options)));
  });

  const readFileP = realP.readFile as Fn;
  replace(P, 'readFile', function readFileWrapper(this: unknown, path: unknown, options?: unknown) {
    if (path instanceof FileHandle) return path.readFile(options);
    if (guard.depth > 0 || isLoaderRead(path, readFileWrapper)) return readFileP.call(this, path, options);
    return promiseCall(Api['fs.readFile'], summary('promise', arguments), 'fs.promises.readFile()', () => readFileP.call(this, path, options),
      contentResultsCodec(contentKey(path, options)));
  });

  const writeFileArgs = (form: string) => ([path, data, options]: unknown[]) => {
    const { n, crc } = digestOf(data, encodingOf(options));
    return options === undefined || isFn(options) ? [form, argOf(path), n, crc] : [form, argOf(path), n, crc, argOf(options)];
  };
  for (const [name, api] of [['writeFile', Api['fs.writeFile']], ['appendFile', Api['fs.appendFile']]] as const) {
    wrapSync(`${name}Sync`, api, writeFileArgs('sync'));
    wrapCallback(name, api, writeFileArgs('cb'));
  }

  // Inside a recorded call, a descriptor Node opens is Node's until closed (see isNodeFd).
  const openCb = F.open as Fn;
  replace(F, 'open', function (this: unknown, ...args: unknown[]) {
    const last = args.length - 1;
    if (guard.depth > 0 && isFn(args[last])) {
      const cb = args[last] as Fn;
      args[last] = (err: unknown, fd: number) => {
        if (!err) addNodeFd(fd);
        cb(err, fd);
      };
    }
    return openCb.apply(this, args);
  });
  for (const [name, api] of [['writeFile', Api['fs.writeFile']], ['appendFile', Api['fs.appendFile']]] as const) {
    const fn = realP[name] as Fn;
    replace(P, name, async function (this: unknown, path: unknown, data: unknown, options?: unknown) {
      if (path instanceof FileHandle) return path[name](data, options);
      if (guard.depth > 0) return fn.call(this, path, data, options);
      // A stream or generator is the program's own: consumed in both runs.
      if (isCustomIterable(data)) data = await collect(data, encodingOf(options));
      const { n, crc } = digestOf(data, encodingOf(options));
      return promiseCall(api, ['promise', argOf(path), n, crc, argOf(options)], `fs.promises.${name}()`, () => fn.call(this, path, data, options));
    });
  }

  // ---- descriptors ------------------------------------------------------------------------------

  const openSync = real.openSync as Fn;
  replace(F, 'openSync', function openSyncWrapper(this: unknown, ...args: unknown[]) {
    if (guard.depth > 0) return openSync.apply(this, args);
    if (isLoaderRead(args[0], openSyncWrapper)) {
      const fd = openSync.apply(this, args);
      addNodeFd(fd);
      return fd;
    }
    return syncCall(Api['fs.open'], summary('sync', args), () => openSync.apply(this, args));
  });

  const closeSync = real.closeSync as Fn;
  replace(F, 'closeSync', function (this: unknown, fd: unknown) {
    if (guard.depth > 0 || isNodeFd(fd)) {
      closeNodeFd(fd);
      return closeSync.call(this, fd);
    }
    return syncCall(Api['fs.close'], ['sync', fd], () => closeSync.call(this, fd));
  });

  const close = real.close as Fn;
  replace(F, 'close', function (this: unknown, fd: unknown, cb?: unknown) {
    if (guard.depth > 0 || isNodeFd(fd)) {
      closeNodeFd(fd);
      return close.apply(this, arguments as never);
    }
    const callback = cb === undefined ? defaultCloseCallback : cb;
    if (!isFn(callback)) return close.call(this, fd, callback);
    callbackCall(Api['fs.close'], ['cb', fd], 'fs.close() callback', (done) => close.call(this, fd, done), callback);
  });

  const openP = realP.open as Fn;
  replace(P, 'open', function (this: unknown, ...args: unknown[]) {
    if (guard.depth > 0) return openP.apply(this, args);
    return promiseCall(Api['fs.open'], summary('promise', args), 'fs.promises.open()', () => openP.apply(this, args).then(wrapHandle), openCodec);
  });

  // ---- reads into the program's buffers ---------------------------------------------------------

  const read = real.read as Fn;
  replace(F, 'read', function (this: unknown, fd: unknown) {
    const args = [...arguments];
    const last = args.length - 1;
    const t = readTargetCb(args);
    // A zero-length read calls back on the next tick without any I/O: Node's own, in both runs.
    if (guard.depth > 0 || !isFn(args[last]) || isNodeFd(fd) || (t.length | 0) === 0) return read.apply(this, args);
    const cb = args[last] as Fn;
    callbackCall(Api['fs.read'], readArgs('cb', fd, t), 'fs.read() callback', (done) => {
      args[last] = done;
      read.apply(this, args);
    }, cb, readCodec(t));
  });

  const readSync = real.readSync as Fn;
  replace(F, 'readSync', function (this: unknown, fd: unknown) {
    const args = [...arguments];
    if (guard.depth > 0 || isNodeFd(fd)) return readSync.apply(this, args);
    const t = readTargetSync(args);
    if ((t.length | 0) === 0) return readSync.apply(this, args);
    return syncCall(Api['fs.read'], readArgs('sync', fd, t), () => readSync.apply(this, args), {
      encode: (n: number) => [n, readBytes(t, t.buffer!, n)],
      decode(p) {
        const [n, bytes] = p as [number, Uint8Array];
        fill(t, targetBuffer(t), bytes);
        return n;
      },
    });
  });

  const readv = real.readv as Fn;
  replace(F, 'readv', function (this: unknown, fd: unknown, buffers: ArrayBufferView[], position?: unknown) {
    const args = [...arguments];
    const last = args.length - 1;
    if (guard.depth > 0 || !isFn(args[last]) || isNodeFd(fd) || !Array.isArray(buffers)) return readv.apply(this, args);
    const cb = args[last] as Fn;
    const pos = isFn(position) ? undefined : position;
    callbackCall(Api['fs.readv'], ['cb', fd, digestOfAll(buffers).n, argOf(pos)], 'fs.readv() callback', (done) => {
      args[last] = done;
      readv.apply(this, args);
    }, cb, readvCodec(buffers));
  });

  const readvSync = real.readvSync as Fn;
  replace(F, 'readvSync', function (this: unknown, fd: unknown, buffers: ArrayBufferView[], position?: unknown) {
    if (guard.depth > 0 || !Array.isArray(buffers)) return readvSync.apply(this, arguments as never);
    const args = [...arguments];
    return syncCall(Api['fs.readv'], ['sync', fd, digestOfAll(buffers).n, argOf(position)], () => readvSync.apply(this, args), {
      encode: (n: number) => [n, gather(buffers, n)],
      decode(p) {
        const [n, bytes] = p as [number, Uint8Array];
        scatter(buffers, bytes);
        return n;
      },
    });
  });

  // ---- writes from the program's buffers -----------------------------------------------------------
  // A write to fd 1 or 2 is the program's output: checked like stdout and written in both runs.

  const write = real.write as Fn;
  replace(F, 'write', function (this: unknown, fd: unknown, data: unknown, a?: unknown, b?: unknown, c?: unknown) {
    const args = [...arguments];
    const last = args.length - 1;
    if (guard.depth > 0 || !isFn(args[last]) || isNodeFd(fd)) return write.apply(this, args);
    const { n, crc, position } = writeDigest(data, a, b, c);
    if (n < 0) return write.apply(this, args); // Node rejects the data
    const cb = args[last] as Fn;
    const codec = writeCodec(data);
    if (isOutput(fd)) {
      const span = spanOf(data, a, b);
      s.output(fd as number, span);
      if (!recording()) (real.writeSync as Fn)(fd, span);
      s.async({ api: Api['fs.write'], what: 'fs.write() callback', start: (done) => {
        args[last] = done;
        write.apply(this, args);
      }, cb, codec });
      return;
    }
    callbackCall(Api['fs.write'], ['cb', fd, n, crc, argOf(position)], 'fs.write() callback', (done) => {
      args[last] = done;
      write.apply(this, args);
    }, cb, codec);
  });

  const writeSync = real.writeSync as Fn;
  replace(F, 'writeSync', function (this: unknown, fd: unknown, data: unknown, a?: unknown, b?: unknown) {
    if (guard.depth > 0 || isNodeFd(fd)) return writeSync.apply(this, arguments as never);
    const args = [...arguments];
    if (isOutput(fd)) {
      s.output(fd as number, spanOf(data, a, b));
      return writeSync.apply(this, args);
    }
    const { n, crc, position } = writeDigest(data, a, b, args[4]);
    return syncCall(Api['fs.write'], ['sync', fd, n, crc, argOf(position)], () => writeSync.apply(this, args));
  });

  const writev = real.writev as Fn;
  replace(F, 'writev', function (this: unknown, fd: unknown, buffers: unknown, position?: unknown) {
    const args = [...arguments];
    const last = args.length - 1;
    if (guard.depth > 0 || !isFn(args[last]) || isNodeFd(fd) || !Array.isArray(buffers) || buffers.length === 0) return writev.apply(this, args);
    const cb = args[last] as Fn;
    const codec = writeCodec(buffers);
    if (isOutput(fd)) {
      const bytes = Buffer.concat(buffers as Uint8Array[]);
      s.output(fd as number, bytes);
      if (!recording()) (real.writeSync as Fn)(fd, bytes);
      s.async({ api: Api['fs.writev'], what: 'fs.writev() callback', start: (done) => {
        args[last] = done;
        writev.apply(this, args);
      }, cb, codec });
      return;
    }
    const { n, crc } = digestOfAll(buffers);
    callbackCall(Api['fs.writev'], ['cb', fd, n, crc, argOf(isFn(position) ? undefined : position)], 'fs.writev() callback', (done) => {
      args[last] = done;
      writev.apply(this, args);
    }, cb, codec);
  });

  const writevSync = real.writevSync as Fn;
  replace(F, 'writevSync', function (this: unknown, fd: unknown, buffers: unknown, position?: unknown) {
    if (guard.depth > 0 || !Array.isArray(buffers)) return writevSync.apply(this, arguments as never);
    const args = [...arguments];
    if (isOutput(fd)) {
      s.output(fd as number, Buffer.concat(buffers as Uint8Array[]));
      return writevSync.apply(this, args);
    }
    const { n, crc } = digestOfAll(buffers);
    return syncCall(Api['fs.writev'], ['sync', fd, n, crc, argOf(position)], () => writevSync.apply(this, args));
  });

  // ---- paths ------------------------------------------------------------------------------------

  const realpathSync = real.realpathSync as Fn;
  replace(F, 'realpathSync', function (this: unknown, path: unknown, options?: unknown) {
    if (guard.depth > 0 || isLoaderRealpath(options)) return realpathSync.call(this, path, options);
    return syncCall(Api['fs.realpath'], summary('sync', arguments), () => realpathSync.call(this, path, options));
  });
  // realpath.native is one libuv call (realpath itself is Node's walk over lstat/readlink).
  const nativeSync = (realpathSync as Table).native as Fn;
  F.realpathSync.native = function (this: unknown, path: unknown, options?: unknown) {
    if (guard.depth > 0) return nativeSync.call(this, path, options);
    return syncCall(Api['fs.realpath'], ['sync.native', argOf(path), argOf(options)], () => nativeSync.call(this, path, options));
  };
  const nativeCb = (real.realpath as Table).native as Fn;
  F.realpath.native = function (this: unknown, ...args: unknown[]) {
    const last = args.length - 1;
    if (guard.depth > 0 || !isFn(args[last])) return nativeCb.apply(this, args);
    const cb = args[last] as Fn;
    callbackCall(Api['fs.realpath'], ['cb.native', ...summary('cb', args, last).slice(1)], 'fs.realpath.native() callback', (done) => {
      args[last] = done;
      nativeCb.apply(this, args);
    }, cb);
  };

  // ---- directories -------------------------------------------------------------------------------

  // The Dir itself is rebuilt from the path: the log only says the directory opened.
  const dirCodec = {
    encode: ([err]: Results) => (err ? [encodeValue(err)] : [null]),
    decode: (p: unknown) => {
      const [err] = p as [unknown];
      return err ? [decodeValue(err)] : [null, null];
    },
  };
  const opendir = real.opendir as Fn;
  replace(F, 'opendir', function (this: unknown, path: unknown, options?: unknown, cb?: unknown) {
    const callback = isFn(options) ? options : cb;
    if (guard.depth > 0 || !isFn(callback)) return opendir.apply(this, arguments as never);
    const opts = isFn(options) ? undefined : options;
    callbackCall(Api['fs.opendir'], summary('cb', [path, opts]), 'fs.opendir() callback', (done) => opendir.call(this, path, opts, done),
      (err: unknown, dir: unknown) => (err ? callback(err) : callback(null, newDir(dir as fs.Dir, path, opts))), dirCodec);
  });
  const opendirSync = real.opendirSync as Fn;
  replace(F, 'opendirSync', function (this: unknown, path: unknown, options?: unknown) {
    if (guard.depth > 0) return opendirSync.call(this, path, options);
    const dir = syncCall(Api['fs.opendir'], summary('sync', [path, options]), () => opendirSync.call(this, path, options), {
      encode: () => null,
      decode: () => null,
    });
    return newDir(dir, path, options);
  });
  const opendirP = realP.opendir as Fn;
  replace(P, 'opendir', function (this: unknown, path: unknown, options?: unknown) {
    if (guard.depth > 0) return opendirP.call(this, path, options);
    return promiseCall<fs.Dir | null>(Api['fs.opendir'], summary('promise', [path, options]), 'fs.promises.opendir()', () => opendirP.call(this, path, options), dirCodec)
      .then((dir) => newDir(dir, path, options));
  });

  // Node 24: a temporary directory removed on dispose.
  const mkdtempDisposableSync = real.mkdtempDisposableSync as Fn | undefined;
  if (mkdtempDisposableSync) {
    replace(F, 'mkdtempDisposableSync', function (this: unknown, prefix: unknown, options?: unknown) {
      if (guard.depth > 0) return mkdtempDisposableSync.call(this, prefix, options);
      let made: { path: unknown; remove(): void } | null = null;
      const path = syncCall(Api['fs.mkdtemp'], ['sync.disposable', argOf(prefix), argOf(options)], () => {
        made = mkdtempDisposableSync.call(this, prefix, options);
        return made!.path;
      });
      const remove = () => syncCall(Api['fs.rm'], ['sync.disposable', argOf(path)], () => made!.remove());
      return { path, remove, [Symbol.dispose]: remove };
    });
  }
  const mkdtempDisposable = realP.mkdtempDisposable as Fn | undefined;
  if (mkdtempDisposable) {
    replace(P, 'mkdtempDisposable', async function (this: unknown, prefix: unknown, options?: unknown) {
      if (guard.depth > 0) return mkdtempDisposable.call(this, prefix, options);
      let made: { path: unknown; remove(): Promise<void> } | null = null;
      const path = await promiseCall(Api['fs.mkdtemp'], ['promise.disposable', argOf(prefix), argOf(options)], 'fs.promises.mkdtempDisposable()', async () => {
        made = await mkdtempDisposable.call(this, prefix, options);
        return made!.path;
      });
      const remove = () => promiseCall<void>(Api['fs.rm'], ['promise.disposable', argOf(path)], 'remove()', () => made!.remove());
      return { __proto__: null, path, remove, async [Symbol.asyncDispose]() {
        await remove();
      } };
    });
  }

  // ---- functions that call the program back from inside a recorded call -----------------------------
  for (const name of ['cpSync', 'globSync']) {
    const wrapped = F[name] as Fn | undefined;
    if (!wrapped) continue;
    replace(F, name, function (this: unknown, ...args: unknown[]) {
      const options = args[name === 'cpSync' ? 2 : 1] as Table | undefined;
      if (guard.depth === 0 && options && Object.values(options).some(isFn)) {
        unsupported(`fs.${name} with a function option`, 'the function runs inside the recorded call and is not called at replay');
      }
      return wrapped.apply(this, args);
    });
  }

  // ---- streams over a FileHandle --------------------------------------------------------------------
  for (const name of ['createReadStream', 'createWriteStream'] as const) {
    const fn = real[name] as Fn;
    replace(F, name, function (this: unknown, _path: unknown, options?: { fd?: unknown }) {
      if (options?.fd instanceof FileHandle) {
        const { fd, ...rest } = options;
        return (fd as FileHandle)[name](rest);
      }
      return fn.apply(this, arguments as never);
    });
  }

  // ---- watchers -------------------------------------------------------------------------------------
  const realWatch = real.watch as Fn;
  replace(F, 'watch', function (this: unknown, filename: unknown, options?: unknown, listener?: unknown) {
    if (guard.depth > 0) return nestedWatch(realWatch, [...arguments]);
    return watch(realWatch, filename, options, listener);
  });
  const realWatchP = realP.watch as Fn;
  replace(P, 'watch', function (this: unknown, filename: unknown, options?: unknown) {
    if (guard.depth > 0) return realWatchP.call(this, filename, options);
    return watchIterator(realWatchP, filename, options);
  });
  const statWatching = { watchFile: real.watchFile as Fn, unwatchFile: real.unwatchFile as Fn };
  replace(F, 'watchFile', function (this: unknown, filename: unknown, options?: unknown, listener?: unknown) {
    const fn = options === null || typeof options !== 'object' ? options : listener;
    if (guard.depth > 0 || !isFn(fn)) return statWatching.watchFile.apply(this, arguments as never);
    return watchFile(statWatching, filename, options, listener);
  });
  replace(F, 'unwatchFile', function (this: unknown, filename: unknown, listener?: unknown) {
    if (guard.depth > 0) return statWatching.unwatchFile.apply(this, arguments as never);
    return unwatchFile(statWatching, filename, listener);
  });

  // ---- not recorded ---------------------------------------------------------------------------------
  if (isFn(F.openAsBlob)) {
    const openAsBlob = F.openAsBlob as Fn;
    replace(F, 'openAsBlob', function (this: unknown, ...args: unknown[]) {
      unsupported('fs.openAsBlob', 'the Blob reads the file lazily, from native code');
      return openAsBlob.apply(this, args);
    });
  }
}

/** The bytes a write to stdout or stderr sends (for the output check). */
function spanOf(data: unknown, a: unknown, b: unknown): Uint8Array {
  if (ArrayBuffer.isView(data)) {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (a !== null && typeof a === 'object') {
      const o = a as { offset?: number; length?: number };
      const off = o.offset ?? 0;
      return bytes.subarray(off, off + (o.length ?? bytes.length - off));
    }
    const off = typeof a === 'number' ? a : 0;
    return bytes.subarray(off, off + (typeof b === 'number' ? b : bytes.length - off));
  }
  return Buffer.from(String(data), typeof b === 'string' && Buffer.isEncoding(b) ? b : 'utf8');
}

export const fsSource: Source = {
  name: 'fs',
  install,
};
