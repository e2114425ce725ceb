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
// Except on a path the program itself changed earlier in the run (see `changed`).
import { constants } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { cjsLoader, thread } from '../../node/fields.js';
import { original } from '../../node/originals.js';
import { isRewindFile } from '../../paths.js';
import { currentSession, type Session } from '../../session/session.js';
import { Api } from '../../trace/format.js';
import { completions } from '../background.js';
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

export function installLoaderExemption(s: Session): void {
  // The file a CommonJS module's load reads is the loader's; its code, once compiled and
  // running, is the program's again.
  whileLoading('load', (args) => args[0] as string);
  whileLoading('_compile', () => null);
  recordFindPath(s);
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
const programFiles = new Map<string, Set<string>>();
let programFilesCount = 0;

/** Paths the program itself resolved (lstat, stat, readlink): kept up to this many. */
const MAX_PROGRAM_FILES = 100_000;

/** The path of the last lstat asking for bigint stats (as realpathSync's do). */
let bigintLstat: unknown = null;

/**
 * What a resolving binding call (lstat, stat, readlink, internalModuleStat; `name`, `args`)
 * may be. The loaders' stats are internalModuleStat's (Node 20-24); they lstat, stat and
 * readlink only inside realpathSync, which lstats each part of a path asking for bigint stats,
 * stats a part only right after that lstat said it is a link, then reads the link (POSIX; on
 * Windows it also lstats roots without bigint). A program's statSync or lstatSync of another
 * shape is then its own without a look at the stack: ~5 µs a call, most of what recording a
 * program that stats thousands of files cost (a build's or a test runner's crawl).
 */
export function resolving(name: string, args: unknown[]): LoaderCall {
  if (process.platform === 'win32') return 'any';
  if (name === 'lstat') {
    if (args[1] !== true) return 'program';
    bigintLstat = args[0];
    return 'any';
  }
  if (name === 'stat') return args[0] === bigintLstat ? 'any' : 'program';
  return 'any';
}

/**
 * How a binding call on a path may be a module loader's: 'any' path (realpathSync's lstat,
 * stat and readlink on every part of a path, internalModuleStat), 'module' files only (opens,
 * reads), or none but the file being loaded ('program': a stat or lstat of a shape only
 * programs make; see `resolving`).
 */
export type LoaderCall = 'any' | 'module' | 'program';

/**
 * A binding call on path `p` that Node's module loader makes (`fn`: the binding wrapper).
 * realpathSync's calls come here when the ESM resolver calls it with the loaders' cache from
 * a reference of its own (Node 20 with rewind as an `--import`).
 */
export function isLoaderPath(p: string, fn: (...a: never[]) => unknown, call: LoaderCall): boolean {
  // Whether the program changed `p` (an ancestor walk, ~1.5 µs) is asked last: only a call that
  // is the loaders' otherwise depends on it.
  if (p === loadingFile) return !changedByProgram(p);
  if (call === 'program' || (call === 'module' && !MODULE_FILE.test(p))) return false;
  if (changedByProgram(p)) return false;
  const anyPath = call === 'any';
  // By function, then path: the program's own path string (its hash kept), no new key per call.
  let files = programFiles.get(fn.name);
  if (files?.has(p)) return anyPath && inLoadersRealpath(fn);
  if (calledFromLoader(fn)) return true;
  if (programFilesCount < MAX_PROGRAM_FILES) {
    if (files === undefined) programFiles.set(fn.name, (files = new Set()));
    files.add(p);
    programFilesCount++;
  }
  return false;
}

/**
 * Whether the loaders have come to the program's entry (the main thread's argv[1]). Node loads
 * the `--import` preloads and the entry differently when rewind's own preload is among them
 * (`--import rewind-replay/register` when recording: the session starts halfway through them;
 * the preload first at replay; the ESM one, through which a CommonJS entry is read
 * asynchronously, when a debugger drives the replay): so reads are turns only after the entry's
 * own, which are left out like rewind's. Workers and `-e` never get there: unordered, as before.
 */
let entrySeen = false;
let entryPaths: string[] | null = null;

function isEntry(p: string): boolean {
  if (entryPaths === null) {
    const main = process.argv[1];
    entryPaths = [];
    if (thread.isMain && typeof main === 'string' && main !== '') {
      entryPaths.push(resolve(main));
      try {
        entryPaths.push(original.fs.realpathSync(main));
      } catch {
        // not a file (-e's first argument, a directory): no entry to see
      }
    }
  }
  return entryPaths.includes(p);
}

/**
 * Descriptors the loaders opened on rewind's own files (its modules loaded on demand, which a
 * replay may load where the recording did not: a debugger's) or on the entry, and > 0 while a
 * call on one runs: their completions are not the program's turns.
 */
export const unorderedFds = new Set<number>();
export const unorderedCalls = { depth: 0 };

/** Runs a loader's call `call` on `fd` or `path`: unordered when the file is rewind's own or the entry. */
export function loaderCallOn<T>(fd: number | null, path: string | null, call: () => T): T {
  const entry = path !== null && isEntry(path);
  const unordered =
    fd !== null ? unorderedFds.size > 0 && unorderedFds.has(fd) : path !== null && (entry || isRewindFile(path));
  if (!unordered) return call();
  if (entry) entrySeen = true; // what follows the entry's first call is in turns; its own calls never
  unorderedCalls.depth++;
  try {
    return call();
  } finally {
    unorderedCalls.depth--;
  }
}

/**
 * A loader's asynchronous call, as it returned (`v`). The ESM loader reads modules with
 * fs/promises (Node 20, 22): the data is the disk's in both runs, but when each read completes
 * decides when an import() settles, against the program's timers and I/O. So the completion
 * is a turn: logged when recording; at replay the real read's result waits for its turn.
 */
export function inTurn(v: unknown): unknown {
  if (!(v instanceof Promise) || unorderedCalls.depth > 0) return v;
  if (!entrySeen) return v;
  const done = completions(currentSession(), Api['loader.fs'], 'a module loader reading a file', false);
  return new Promise((resolve, reject) => {
    v.then(done.wrap(resolve), done.wrap(reject));
  });
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

/**
 * `fn` is called by Node's realpathSync, called by a module loader (with its private cache).
 * The loaders' realpathSync is rewind's (fs/index.ts: its calls are theirs), but for Node's ESM
 * loader when it loaded before rewind (rewind as an `--import`: `node --import rewind-replay/register`): it holds
 * Node's own, and its calls come here. A path the program itself resolved before is then still
 * the loader's, as it was when recording.
 */
function inLoadersRealpath(fn: (...a: never[]) => unknown): boolean {
  const sites = callSites(fn, 2);
  return (
    Array.isArray(sites) &&
    sites.length === 2 &&
    sites[0].getFunctionName() === 'realpathSync' &&
    sites[0].getFileName() === 'node:fs' &&
    (sites[1].getFileName() ?? '').startsWith('node:internal/modules/')
  );
}

/**
 * Whether that caller is the loader; null when it is not among the first `limit` frames.
 * An fs/promises call that continues after an await (the ESM loader's readFile: open, then
 * fstat) has below its own frames whatever ran the promise job (Node's task queues, timers, a
 * stream's read callback), never its caller: that one is among the async frames.
 */
function firstCallerIsLoader(fn: (...a: never[]) => unknown, limit: number): boolean | null {
  const frames = framesOf(callSites(fn, limit));
  const resumed = frames.some((f) => f.async);
  for (const f of frames) {
    if (f.file === 'node:fs' || f.file.startsWith('node:internal/fs/') || isRewindFile(f.file)) continue;
    if (!f.async && f.file.startsWith('node:') && !isLoaderFile(f.file)) {
      if (resumed) continue; // what ran the promise job
      if (frames.length >= limit) return null; // its async frames may be further down
    }
    return isLoaderFile(f.file);
  }
  return frames.length < limit ? false : null;
}

const isLoaderFile = (file: string): boolean =>
  file.startsWith('node:internal/modules/') || file.startsWith('node:internal/source_map/');

const FRAME = /^\s+at (async )?(?:.*\()?(.+?):\d+:\d+\)?$/;

/**
 * The file of each frame, and whether it is an async frame (a caller awaiting). Inside the
 * program's Error.prepareStackTrace (which may read files: source maps) V8 does not call a
 * hook again and gives its own text instead.
 */
function framesOf(stack: ReturnType<typeof callSites>): { file: string; async: boolean }[] {
  if (Array.isArray(stack))
    return stack.map((site) => ({
      file: site.getFileName() ?? '',
      async: (site as { isAsync?(): boolean }).isAsync?.() === true,
    }));
  if (typeof stack !== 'string') return [];
  return stack
    .split('\n')
    .slice(1)
    .map((line) => {
      const m = FRAME.exec(line);
      return { file: m?.[2] ?? '', async: m?.[1] !== undefined };
    });
}

// ---- what the program changed -------------------------------------------------------------------
// A module the program writes and then loads (a build's manifests, generated code), or looks for
// before it writes it: the disk at replay holds the run's last version of it, or none (a replay
// writes nothing), not what the loader found at that moment. So the loaders' calls on a path the
// program changed earlier in the run (wrote, created, renamed, removed, copied onto: the path
// itself or a directory above it, or a directory its mkdir made) are recorded as the program's, and come from the log at
// replay. Which paths those are follows from the program's own calls, the same in both runs.

/** Resolved paths the program changed; a directory stands for everything under it. */
const changed = new Set<string>();

const WRITES = constants.O_WRONLY | constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC | constants.O_APPEND;

const pathAt = (i: number) => (args: unknown[]) => [args[i]];
/** The paths each binding call (or Node 26 job) changes, from its arguments. */
const CHANGES: Record<string, (args: unknown[]) => unknown[]> = {
  open: (args) => (typeof args[1] === 'number' && (args[1] & WRITES) !== 0 ? [args[0]] : []),
  writeFileUtf8: pathAt(0),
  rename: (args) => [args[0], args[1]],
  copyFile: pathAt(1),
  link: pathAt(1),
  symlink: pathAt(1),
  unlink: pathAt(0),
  rmdir: pathAt(0),
  rmSync: pathAt(0),
  cpSyncCopyDir: pathAt(1),
  cpSyncOverrideFile: pathAt(1),
  WriteFileJob: pathAt(0),
  CpDirJob: pathAt(1),
};
CHANGES.openFileHandle = CHANGES.open;

/** What a call of binding function (or job) `name` changes; null when it changes no path. */
export function changesOf(name: string): ((args: unknown[]) => void) | null {
  const paths = CHANGES[name];
  if (paths === undefined) return null;
  return (args) => {
    for (const p of paths(args)) {
      const text = typeof p === 'string' ? p : Buffer.isBuffer(p) ? p.toString() : null;
      if (text !== null) changed.add(resolve(text));
    }
  };
}

/**
 * Module._findPath(request, paths): the file a require() finds, or false. The CommonJS loader
 * tries each candidate with a binding function it took when Node started (internalModuleStat on
 * Node 20), which rewind cannot record; so where a candidate lies in what the program changed,
 * what was found is logged whole (the file's path, or false).
 */
function recordFindPath(s: Session): void {
  const findPath = cjsLoader._findPath;
  cjsLoader._findPath = function (this: unknown, request: string, paths: unknown) {
    if (changed.size === 0 || typeof request !== 'string' || !Array.isArray(paths)) {
      return findPath.apply(this, arguments as never);
    }
    const inChanged = (dir: unknown) => typeof dir === 'string' && changedByProgram(resolve(dir, request));
    if (!paths.some(inChanged)) return findPath.apply(this, arguments as never);
    const args = arguments as never;
    return loggedWhole(s, Api['module.findPath'], request, () => findPath.apply(this, args)) as string | false;
  };
}

/**
 * A directory the program's mkdir made (args: path, mode, recursive; a recursive one returns the
 * first it made): what is found under it is the run's output. Not a mkdir of one that existed.
 */
export function madeDir(args: unknown[], result: unknown): void {
  const made = args[2] === true ? result : args[0];
  if (typeof made === 'string') changed.add(resolve(made));
}

/**
 * A loader's call on what the program changed, logged whole (`key`, and what it returned or
 * threw): its own binding calls are inside it, so not logged one by one. Node's realpathSync
 * (its private cache in the options) is one: recorded lstat by lstat, what it asks depends on
 * that cache, which a findPath served from the log never filled at replay.
 */
export function loggedWhole(s: Session, api: number, key: string, real: () => unknown): unknown {
  return s.call(api, [key], () => {
    inLoader.depth++;
    try {
      return real();
    } finally {
      inLoader.depth--;
    }
  });
}

/** `p` or a directory above it was changed by the program. */
export function changedByProgram(p: string): boolean {
  if (changed.size === 0) return false;
  for (let at = resolve(p), up = dirname(at); ; at = up, up = dirname(at)) {
    if (changed.has(at)) return true;
    if (up === at) return false;
  }
}
