// The file system, recorded at the native boundary: every call Node's fs code makes into
// the fs binding (calls.ts). Node's own fs JavaScript (readFile's contexts, streams, rm, cp,
// realpath, fs/promises) and whatever userland patched onto `fs` (graceful-fs, mocks,
// instrumentation) then run again at replay, for real, on the logged answers.
//
// Recorded above the binding, because they do not go through it: opendir's Dir (its
// directory handle belongs to another binding, dir.ts) and the watchers (libuv handles,
// watch.ts). Module loading is exempt (loader.ts).
import fs from 'node:fs';
import { nodeLoaded, whenLoaded } from '../../node/fields.js';
import type { Session, Source } from '../../session/session.js';
import { Api } from '../../trace/format.js';
import { installBinding } from './calls.js';
import { newDir } from './dir.js';
import { changedByProgram, inLoader, installLoaderExemption, isLoaderRealpath, loggedWhole } from './loader.js';
import { callbackCall, guard, promiseCall, summary, syncCall } from './public.js';
import { decodeValue, encodeValue } from '../../trace/values.js';
import { nestedWatch, unwatchFile, watch, watchFile, watchIterator } from './watch.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Fn = (...args: any) => any;
type Table = Record<string, any>;
type Results = unknown[];

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

// The Dir itself is rebuilt from the path: the log only says the directory opened.
const dirCodec = {
  encode: ([err]: Results) => (err ? [encodeValue(err)] : [null]),
  decode: (p: unknown) => {
    const [err] = p as [unknown];
    return err ? [decodeValue(err)] : [null, null];
  },
};

/**
 * fs's getters that load a module of their own, not read at start-up. Dir, opendir and
 * opendirSync load internal/fs/dir (~0.1 ms): read as the program first opens a directory
 * where Node lets that be told (onFirstUse).
 */
const LOADS_MODULES = new Set([
  'promises',
  'ReadStream',
  'WriteStream',
  'FileReadStream',
  'FileWriteStream',
  'Utf8Stream',
  'Dir',
  'opendir',
  'opendirSync',
]);

/**
 * Puts `wrapper` in place of fs[name] and returns how to get Node's function. Node 20 makes
 * it a getter that loads its module: read at its first use, which makes the property a plain
 * one holding Node's function, which `wrapper` then takes back. Node 22 and 24 make it a lazy
 * data property, which loads its module as soon as anything looks at it, its descriptor
 * included: read now.
 */
function onFirstUse(F: Table, name: string, wrapper: Fn): () => Fn {
  const getter = Object.getOwnPropertyDescriptor(F, name)?.get;
  if (!getter) {
    const now = F[name] as Fn;
    replace(F, name, wrapper);
    return () => now;
  }
  let real: Fn | undefined;
  Object.defineProperty(wrapper, 'name', { value: name, configurable: true });
  F[name] = wrapper;
  return () => {
    if (real === undefined) {
      real = getter.call(F) as Fn;
      F[name] = wrapper;
    }
    return real;
  };
}

function install(s: Session): void {
  const F = fs as unknown as Table;
  // Not read here: these getters would load node:fs/promises, readline, the watchers and fs
  // streams (0.7 ms) for every program. fs.promises is patched when it loads.
  const real: Table = {};
  for (const k of Object.keys(F)) if (!LOADS_MODULES.has(k)) real[k] = F[k];

  installLoaderExemption(s);
  installBinding(s);

  // The loaders resolve symlinks with Node's private realpath cache: its lstat calls are theirs
  // (on a path the program changed, its answer is logged whole: loader.ts).
  const realpathSync = real.realpathSync as Fn;
  replace(F, 'realpathSync', function (this: unknown, path: unknown, options?: unknown) {
    // Inside a call logged whole (findPath's, or this one's own), it is part of that call.
    if (!isLoaderRealpath(options) || inLoader.depth > 0) return realpathSync.call(this, path, options);
    if (typeof path === 'string' && changedByProgram(path)) {
      return loggedWhole(s, Api['module.realpath'], path, () => realpathSync.call(this, path, options));
    }
    inLoader.depth++;
    try {
      return realpathSync.call(this, path, options);
    } finally {
      inLoader.depth--;
    }
  });

  // ---- directories -------------------------------------------------------------------------------
  const opendir = onFirstUse(F, 'opendir', function (this: unknown, path: unknown, options?: unknown, cb?: unknown) {
    const callback = isFn(options) ? options : cb;
    if (guard.depth > 0 || !isFn(callback)) return opendir().apply(this, arguments as never);
    const opts = isFn(options) ? undefined : options;
    callbackCall(
      Api['fs.opendir'],
      summary('cb', [path, opts]),
      'fs.opendir() callback',
      (done) => opendir().call(this, path, opts, done),
      (err: unknown, dir: unknown) => (err ? callback(err) : callback(null, newDir(dir as fs.Dir, path, opts))),
      dirCodec,
    );
  });
  const opendirSync = onFirstUse(F, 'opendirSync', function (this: unknown, path: unknown, options?: unknown) {
    if (guard.depth > 0) return opendirSync().call(this, path, options);
    const dir = syncCall(
      Api['fs.opendir'],
      summary('sync', [path, options]),
      () => opendirSync().call(this, path, options),
      {
        encode: () => null,
        decode: () => null,
      },
    );
    return newDir(dir, path, options);
  });
  whenLoaded(
    'internal/fs/promises',
    () => installPromises(fs.promises as unknown as Table),
    () => fs.promises,
  );

  // ---- watchers -------------------------------------------------------------------------------------
  const realWatch = real.watch as Fn;
  replace(F, 'watch', function (this: unknown, filename: unknown, options?: unknown, listener?: unknown) {
    if (guard.depth > 0) return nestedWatch(realWatch, [...arguments]);
    return watch(realWatch, filename, options, listener);
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

  // Node's callback readFile (its ReadFileContext) takes the binding's read and close when
  // it first runs: if that was before rewind started (a preload ahead of rewind's), it holds
  // the unrecorded ones, and a replay would read real descriptors.
  if (nodeLoaded('internal/fs/read/context')) {
    const readFile = real.readFile as Fn;
    const what = 'fs.readFile (with a callback)';
    const why = "Node's readFile code first ran before rewind started, and reads through the fs binding unrecorded";
    replace(F, 'readFile', function (this: unknown, ...args: unknown[]) {
      s.unsupported(what, why);
      if (s.mode === 'replay') s.mismatch(`called ${what}, which rewind cannot replay here (${why})`);
      return readFile.apply(this, args);
    });
  }
  if (isFn(F.openAsBlob)) {
    const openAsBlob = F.openAsBlob as Fn;
    replace(F, 'openAsBlob', function (this: unknown, ...args: unknown[]) {
      s.unsupported('fs.openAsBlob', 'the Blob reads the file lazily, from native code');
      return openAsBlob.apply(this, args);
    });
  }
}

/** fs.promises' opendir and watch, as fs's: installed when node:fs/promises loads. */
function installPromises(P: Table): void {
  const realP: Table = { ...P };
  const opendirP = realP.opendir as Fn;
  replace(P, 'opendir', function (this: unknown, path: unknown, options?: unknown) {
    if (guard.depth > 0) return opendirP.call(this, path, options);
    return promiseCall<fs.Dir | null>(
      Api['fs.opendir'],
      summary('promise', [path, options]),
      'fs.promises.opendir()',
      () => opendirP.call(this, path, options),
      dirCodec,
    ).then((dir) => newDir(dir, path, options));
  });
  const realWatchP = realP.watch as Fn;
  replace(P, 'watch', function (this: unknown, filename: unknown, options?: unknown) {
    if (guard.depth > 0) return realWatchP.call(this, filename, options);
    return watchIterator(realWatchP, filename, options);
  });
}

export const fsSource: Source = {
  name: 'fs',
  install,
};
