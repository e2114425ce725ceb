// Module loading is not an input: the program's code is checked by hash, not recorded.
// Node's loaders read through the public fs object (CommonJS: fs.readFileSync and
// fs.realpathSync; ESM on Node 22+: fs.readFileSync(url); require(esm) on Node 20:
// openSync/readSync/closeSync), so their calls must be told apart from the program's, by
// rules that hold the same way in record and replay:
//  - the file Module.prototype.load is loading, read outside the module's own code;
//  - realpathSync given Node's private realpath cache (only the loaders have it);
//  - a module-like file (a URL, or a path with a module extension) read by a caller in
//    node:internal/modules/ (found from the stack, once per file);
//  - the descriptor such a read opened, until it is closed (Node 20's require(esm) reads
//    by descriptor).
import Module from 'node:module';
import { isRewindFile } from '../paths.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
const M = Module as any;

/** The file Module.prototype.load is reading, while no module code runs; else null. */
let loadingFile: string | null = null;

const MODULE_FILE = /\.(?:[cm]?[jt]s|json|node|wasm)$/;

export function installLoaderExemption(): void {
  const load = M.prototype.load;
  M.prototype.load = function (this: unknown, filename: string) {
    const saved = loadingFile;
    loadingFile = filename;
    try {
      return load.apply(this, arguments);
    } finally {
      loadingFile = saved;
    }
  };
  const compile = M.prototype._compile;
  M.prototype._compile = function (this: unknown) {
    const saved = loadingFile;
    loadingFile = null;
    try {
      return compile.apply(this, arguments);
    } finally {
      loadingFile = saved;
    }
  };
}

const isUrl = (p: unknown): boolean => typeof p === 'object' && p !== null && typeof (p as { href?: unknown }).href === 'string';

/**
 * Module-like files the program itself read: later reads of them skip the stack check (a
 * module is loaded once, and a program that reads a file as data tends to read it again).
 * What is decided depends only on the program's calls, so it is the same in both runs.
 */
const programFiles = new Set<string>();

/** A read (readFileSync, openSync, fs.promises.readFile) of `p` that Node's module loader makes. */
export function isLoaderRead(p: unknown, fn: Function): boolean {
  if (p === loadingFile && p !== null) return true;
  let key: string;
  if (typeof p === 'string') {
    if (!MODULE_FILE.test(p)) return false;
    key = p;
  } else if (isUrl(p)) key = (p as URL).href;
  else return false;
  if (programFiles.has(key)) return false;
  if (calledFromLoader(fn)) return true;
  programFiles.add(key);
  return false;
}

/** realpathSync(p, { [realpathCacheKey]: cache }): the cache key is Node's private symbol. */
export function isLoaderRealpath(options: unknown): boolean {
  return typeof options === 'object' && options !== null && Object.getOwnPropertySymbols(options).length > 0;
}

interface CallSite {
  getFileName(): string | null | undefined;
}

/** The first caller of `fn` outside node:fs and rewind is Node's module loader. */
function calledFromLoader(fn: Function): boolean {
  const E = Error as unknown as { prepareStackTrace?: unknown; stackTraceLimit: number };
  const prepare = E.prepareStackTrace;
  const limit = E.stackTraceLimit;
  E.prepareStackTrace = (_e: unknown, sites: CallSite[]) => sites;
  E.stackTraceLimit = 8;
  const holder: { stack?: CallSite[] } = {};
  try {
    Error.captureStackTrace(holder, fn);
    for (const site of holder.stack ?? []) {
      const file = site.getFileName() ?? '';
      if (file === 'node:fs' || isRewindFile(file)) continue;
      return file.startsWith('node:internal/modules/');
    }
    return false;
  } finally {
    E.prepareStackTrace = prepare;
    E.stackTraceLimit = limit;
  }
}
