// Node's module-hooks thread runs live at replay, unrecorded (sources/workers.ts says why its
// log cannot be replayed yet). A replay never performs an external effect, so that thread
// sees a read-only world: what would change a file fails as on a read-only file system
// (EROFS), a directory it makes is there only for it, empty, and a connection fails as
// refused. Reads are real (the hooks read the program's sources, as the loader does). Hooks
// that cache what they compile (tsx: its cache directory, its expiry of old entries) skip the
// cache; hooks that fail outright make the program's replay diverge, which it reports. Child processes are left alone (esbuild's service, which
// computes): a limit, in the README.
import fs, { constants as fsConstants } from 'node:fs';
import { bindings } from '../node/bindings.js';
import { ENV } from './env.js';
import { fsBinding } from '../sources/fs/binding.js';

/* eslint-disable @typescript-eslint/no-explicit-any */

/** Binding functions that change the file system, with the syscall Node's error would name. */
const CHANGES: Record<string, string> = {
  rename: 'rename',
  ftruncate: 'ftruncate',
  rmdir: 'rmdir',
  rmSync: 'rm',
  link: 'link',
  symlink: 'symlink',
  unlink: 'unlink',
  writeBuffer: 'write',
  writeBuffers: 'write',
  writeString: 'write',
  writeFileUtf8: 'open',
  copyFile: 'copyfile',
  chmod: 'chmod',
  fchmod: 'fchmod',
  chown: 'chown',
  fchown: 'fchown',
  lchown: 'lchown',
  utimes: 'utime',
  futimes: 'futime',
  lutimes: 'lutime',
  mkdtemp: 'mkdtemp',
  cpSyncOverrideFile: 'cp',
  cpSyncCopyDir: 'cp',
};

const WRITE_FLAGS =
  fsConstants.O_WRONLY | fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_TRUNC | fsConstants.O_APPEND;

const UV_EROFS = -30;
const UV_EEXIST = -17;
const UV_ECONNREFUSED = -111;

function fsError(errno: number, code: string, syscall: string, path: unknown): Error {
  const where = typeof path === 'string' ? ` '${path}'` : '';
  const message = code === 'EROFS' ? 'read-only file system' : 'file already exists';
  return Object.assign(new Error(`${code}: ${message}, ${syscall}${where}`), {
    errno,
    code,
    syscall,
    ...(typeof path === 'string' ? { path } : {}),
  });
}

/** The call's FSReqCallback or kUsePromises; undefined for a synchronous call. */
function requestOf(B: any, args: unknown[]): unknown {
  for (let i = args.length - 1; i >= 0; i--) {
    const x = args[i];
    if (x === B.kUsePromises || x instanceof B.FSReqCallback) return x;
  }
  return undefined;
}

/** Fails a binding call in its form: thrown (sync), to its FSReqCallback, or as a rejected promise. */
function fail(B: any, args: unknown[], err: Error): unknown {
  const req = requestOf(B, args);
  if (req === undefined) throw err;
  if (req === B.kUsePromises) return Promise.reject(err);
  process.nextTick(() => (req as { oncomplete(e: Error): void }).oncomplete(err));
  return undefined;
}

/** Ends a binding call with `result`, in its form. */
function succeed(B: any, args: unknown[], result?: unknown): unknown {
  const req = requestOf(B, args);
  if (req === undefined) return result;
  if (req === B.kUsePromises) return Promise.resolve(result);
  process.nextTick(() => (req as { oncomplete(e: null, r: unknown): void }).oncomplete(null, result));
  return undefined;
}

/** A directory that exists already: mkdir's answer on a read-only file system too. */
function isDirectory(path: unknown): boolean {
  try {
    // Nothing of rewind's is installed in this thread: node:fs is Node's own.
    return typeof path === 'string' && fs.statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Node 26's one-round-trip jobs (fs/jobs.ts): fs.writeFile and fs/promises' writeFile open,
 * write and close in the thread pool through a WriteFileJob, fs.cp copies a directory through
 * a CpDirJob: their `run` fails as on a read-only file system, to the job's `ondone`. A
 * ReadFileJob made through the binding with flags that would create or truncate fails too;
 * lib/fs.js's own (callback readFile) took the class before rewind and opens read-only.
 */
function readOnlyJobs(B: any): void {
  const failRun = (syscall: string) =>
    function run(this: { ondone?: (err: Error) => void }, path: unknown): undefined {
      const err = fsError(UV_EROFS, 'EROFS', syscall, path);
      process.nextTick(() => this.ondone?.(err));
      return undefined;
    };
  if (typeof B.WriteFileJob === 'function') B.WriteFileJob.prototype.run = failRun('open');
  if (typeof B.CpDirJob === 'function') B.CpDirJob.prototype.run = failRun('cp');
  const Read = B.ReadFileJob;
  if (typeof Read === 'function') {
    const writes = new WeakSet<object>();
    B.ReadFileJob = class ReadFileJob extends Read {
      constructor(...args: unknown[]) {
        super(...args);
        if (typeof args[1] === 'number' && (args[1] & WRITE_FLAGS) !== 0) writes.add(this);
      }
    };
    const run = Read.prototype.run;
    const refused = failRun('open');
    Read.prototype.run = function (this: object, ...args: unknown[]) {
      return writes.has(this) ? refused.apply(this, args as [unknown]) : run.apply(this, args);
    };
  }
}

/** Makes this thread's file system read-only and its connections refused. */
export function readOnlyWorld(): void {
  // Its environment is the recorded one, in which rewind records: a thread or Node process it
  // starts would record again, into the recording. They run without rewind instead.
  process.env[ENV.MODE] = 'off';
  const B = fsBinding() as any;
  if (B !== null) {
    for (const [name, syscall] of Object.entries(CHANGES)) {
      if (typeof B[name] !== 'function') continue;
      B[name] = (...args: unknown[]) => fail(B, args, fsError(UV_EROFS, 'EROFS', syscall, args[0]));
    }
    for (const name of ['open', 'openFileHandle']) {
      const open = B[name];
      if (typeof open !== 'function') continue;
      B[name] = function (this: unknown, ...args: unknown[]) {
        const flags = args[1];
        if (typeof flags === 'number' && (flags & WRITE_FLAGS) !== 0)
          return fail(B, args, fsError(UV_EROFS, 'EROFS', 'open', args[0]));
        return open.apply(this, args);
      };
    }
    // A directory the hooks make (tsx: its cache directory, on a machine that has none) is
    // made only in appearance: it is there, empty, for this thread; nothing can be written in it.
    const made = new Set<string>();
    const mkdir = B.mkdir;
    if (typeof mkdir === 'function') {
      // (path, mode, recursive, req): an existing directory is fine recursively, EEXIST otherwise.
      B.mkdir = (...args: unknown[]) => {
        const path = args[0];
        const exists = isDirectory(path) || (typeof path === 'string' && made.has(path));
        if (exists && args[2] === true) return succeed(B, args);
        if (exists) return fail(B, args, fsError(UV_EEXIST, 'EEXIST', 'mkdir', path));
        if (typeof path !== 'string') return fail(B, args, fsError(UV_EROFS, 'EROFS', 'mkdir', path));
        made.add(path);
        return succeed(B, args, args[2] === true ? path : undefined);
      };
    }
    readOnlyJobs(B);
    const readdir = B.readdir;
    if (typeof readdir === 'function') {
      // (path, encoding, withFileTypes, req)
      B.readdir = function (this: unknown, ...args: unknown[]) {
        if (typeof args[0] !== 'string' || !made.has(args[0])) return readdir.apply(this, args);
        return succeed(B, args, args[2] === true ? [[], []] : []);
      };
    }
  }
  const b = bindings();
  if (b !== null) {
    for (const C of [b.TCP, b.Pipe]) {
      const P = C.prototype as any;
      for (const name of ['connect', 'connect6']) if (typeof P[name] === 'function') P[name] = () => UV_ECONNREFUSED;
    }
  }
}
