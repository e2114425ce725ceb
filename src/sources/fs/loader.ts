// Module loading is not an input: the program's code is checked by hash, not recorded.
// Node's loaders call the same fs binding as the program (CommonJS: readFileUtf8 through
// fs.readFileSync, lstat through fs.realpathSync; ESM: fs.readFileSync(url) or
// fs/promises readFile; require(esm) on Node 20: open/read/close), and a few functions of
// their own (internalModuleStat, legacyMainResolve...), so their calls must be told apart
// from the program's, by rules that hold the same way in record and replay:
//  - the loaders' own binding functions (binding.ts, kind 'loader');
//  - the file Module.prototype.load is loading, read outside the module's own code;
//  - anything inside realpathSync given Node's private realpath cache (only the loaders
//    have it), when called through the fs exports;
//  - a module-like file (a path with a module extension) opened or read, or any path
//    resolved (lstat, stat, readlink), by a caller in node:internal/modules/ (found from
//    the stack, once per path);
//  - the descriptor such a read opened, until it is closed (Node 20's require(esm) and the
//    ESM loader's fs/promises readFile read by descriptor), whoever calls with it: Node's
//    readFileSync closes through the exported fs.closeSync, which userland may have patched.
import { cjsLoader } from '../../node/fields.js';
import { isRewindFile } from '../../paths.js';
import { callSites } from '../../session/stack.js';

/** The file Module.prototype.load is reading, while no module code runs; else null. */
let loadingFile: string | null = null;

// Source maps too: with --enable-source-maps (tap, ts runners) Node reads a module's map as it loads it.
const MODULE_FILE = /\.(?:[cm]?[jt]s|json|node|wasm|map)$/;

/** Wraps Module.prototype[name] so that `loadingFile` is what `file(args)` says while it runs. */
function whileLoading(name: 'load' | '_compile', file: (args: IArguments) => string | null): void {
  const real = cjsLoader.prototype[name];
  cjsLoader.prototype[name] = function (this: unknown) {
    const saved = loadingFile;
    loadingFile = file(arguments);
    try {
      return real.apply(this, arguments as unknown as unknown[]);
    } finally {
      loadingFile = saved;
    }
  };
}

export function installLoaderExemption(): void {
  // The file a CommonJS module's load reads is the loader's; its code, once compiled and
  // running, is the program's again.
  whileLoading('load', (args) => args[0] as string);
  whileLoading('_compile', () => null);
}

/** > 0 inside the loaders' realpathSync calls. */
export const inLoader = { depth: 0 };

/** Descriptors the loaders opened, until they close them. */
export const loaderFds = new Set<number>();

/**
 * Descriptors the program holds open (at replay, the logged numbers, which no real file
 * backs): a loader's real descriptor can have the same number only at replay, and only
 * then must the caller be told from the stack (which a userland patch of fs.closeSync, as
 * graceful-fs's, hides).
 */
export const programFds = new Set<number>();

/**
 * Module-like files the program itself read, by binding function: later calls of the same
 * function on them skip the stack check (a module is loaded once, and a program that reads a
 * file as data tends to read it again). By function, not by path alone: a program that
 * checks a module exists (existsSync, stat) before it imports it must not make the loader's
 * reads of it (internalModuleStat, open) the program's; recorded, they would be ops whose
 * order against the loader's own unrecorded reads is the disk's, not the log's.
 * What is decided depends only on the program's calls, so it is the same in both runs.
 */
const programFiles = new Set<string>();

/** Paths the program itself resolved (lstat, stat, readlink): kept up to this many. */
const MAX_PROGRAM_FILES = 100_000;

/**
 * A binding call on path `p` that Node's module loader makes (`fn`: the binding wrapper).
 * `anyPath`: the call is one realpathSync makes (lstat, stat, readlink) on every part of a
 * path, which the ESM resolver calls with the loaders' cache from a reference of its own.
 */
export function isLoaderPath(p: string, fn: (...a: never[]) => unknown, anyPath: boolean): boolean {
  if (p === loadingFile) return true;
  if (!(anyPath || MODULE_FILE.test(p))) return false;
  const key = `${fn.name}\0${p}`;
  if (programFiles.has(key)) return false;
  if (calledFromLoader(fn)) return true;
  if (programFiles.size < MAX_PROGRAM_FILES) programFiles.add(key);
  return false;
}

/** realpathSync(p, { [realpathCacheKey]: cache }): the cache key is Node's private symbol. */
export function isLoaderRealpath(options: unknown): boolean {
  return typeof options === 'object' && options !== null && Object.getOwnPropertySymbols(options).length > 0;
}

/**
 * The first caller of `fn` outside Node's fs code and rewind is Node's module loader (async
 * frames included: fs/promises reads continue after awaits). The first three frames decide
 * almost every call (a program's stat, a resolver's realpathSync): sixteen only when not.
 */
export function calledFromLoader(fn: (...a: never[]) => unknown): boolean {
  return firstCallerIsLoader(fn, 3) ?? firstCallerIsLoader(fn, 16) ?? false;
}

/** Whether that caller is the loader; null when it is not among the first `limit` frames. */
function firstCallerIsLoader(fn: (...a: never[]) => unknown, limit: number): boolean | null {
  const files = fileNames(callSites(fn, limit));
  for (const file of files) {
    if (file === 'node:fs' || file.startsWith('node:internal/fs/') || isRewindFile(file)) continue;
    return file.startsWith('node:internal/modules/') || file.startsWith('node:internal/source_map/');
  }
  return files.length < limit ? false : null;
}

const FRAME_FILE = /^\s+at (?:.*\()?(.+?):\d+:\d+\)?$/;

/**
 * The file of each frame. Inside the program's Error.prepareStackTrace (which may read
 * files: source maps) V8 does not call a hook again and gives its own text instead.
 */
function fileNames(stack: ReturnType<typeof callSites>): string[] {
  if (Array.isArray(stack)) return stack.map((site) => site.getFileName() ?? '');
  if (typeof stack !== 'string') return [];
  return stack
    .split('\n')
    .slice(1)
    .map((line) => FRAME_FILE.exec(line)?.[1] ?? '');
}
