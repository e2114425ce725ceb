// Node's fs binding: the native functions lib/fs.js, lib/internal/fs/*.js and the module
// loaders call, looked up at call time on this one object. This file is the one place that
// knows its functions, what each one does (Node 20.20 to 26), and how its arguments
// and results are shaped.
//
// Forms, told apart by the request argument (see requestOf):
//  - synchronous: no request; returns or throws (fs.openSync → open(path, flags, mode)).
//    writeBuffer/writeString take (…, undefined, ctx) and report errors in ctx;
//  - callback: an FSReqCallback whose `oncomplete` Node set before the call;
//  - promise: the kUsePromises symbol; returns a promise (FileHandle methods, fs/promises).

/* eslint-disable @typescript-eslint/no-explicit-any */
import { bindingNamed } from '../../node/bindings.js';
import { Api } from '../../trace/format.js';

export interface FsBinding {
  [name: string]: any;
  FSReqCallback: new (bigint?: boolean) => { oncomplete: (...a: unknown[]) => void; context?: unknown };
  FileHandle: { prototype: any };
  kUsePromises: symbol;
  kFsStatsFieldsNumber: number;
  statValues: Float64Array;
  bigintStatValues: BigInt64Array;
  statFsValues: Float64Array;
  bigintStatFsValues: BigInt64Array;
}

let cached: FsBinding | null | undefined;

/**
 * process.binding('fs') is the very object Node's fs code calls (NODE-NOTES); null where
 * Node refuses it (the permission model).
 */
export function fsBinding(): FsBinding | null {
  if (cached === undefined) cached = bindingNamed<FsBinding>('fs');
  return cached;
}

/**
 * How a function's arguments and results are treated:
 *  - plain: arguments summarized as they are, results stored as values;
 *  - open: returns a descriptor (remembered with its path, for content savings);
 *  - close: the descriptor is done;
 *  - read / readv: bytes land in the caller's buffer(s) (args[1]);
 *  - write / writev / writeString / writeFile: data sent (summarized by length and crc32);
 *  - readFile: a whole file's content (readFileUtf8), stored once per unchanged content;
 *  - stat / statfs: fill Node's shared typed arrays (sync) or the request's own (async);
 *  - openHandle: resolves with a native FileHandle (see handle.ts);
 *  - loader: only Node's module loaders call it: never recorded (see loader.ts).
 */
export type Kind =
  | 'plain'
  | 'open'
  | 'close'
  | 'read'
  | 'readv'
  | 'write'
  | 'writev'
  | 'writeString'
  | 'writeFile'
  | 'readFile'
  | 'stat'
  | 'statfs'
  | 'openHandle'
  | 'loader';

export interface Spec {
  api: number;
  kind: Kind;
}

const S = (api: number, kind: Kind = 'plain'): Spec => ({ api, kind });

/** Every function of the binding on Node 20.20, 22, 24 and 26, by name. */
export const FUNCTIONS: Record<string, Spec> = {
  access: S(Api['fs.access']),
  close: S(Api['fs.close'], 'close'),
  existsSync: S(Api['fs.exists']),
  open: S(Api['fs.open'], 'open'),
  openFileHandle: S(Api['fs.open'], 'openHandle'),
  read: S(Api['fs.read'], 'read'),
  readBuffers: S(Api['fs.readv'], 'readv'),
  readFileUtf8: S(Api['fs.readFile'], 'readFile'),
  fdatasync: S(Api['fs.fdatasync']),
  fsync: S(Api['fs.fsync']),
  rename: S(Api['fs.rename']),
  ftruncate: S(Api['fs.ftruncate']),
  rmdir: S(Api['fs.rmdir']),
  rmSync: S(Api['fs.rm']), // Node 24
  mkdir: S(Api['fs.mkdir']),
  readdir: S(Api['fs.readdir']),
  stat: S(Api['fs.stat'], 'stat'),
  lstat: S(Api['fs.lstat'], 'stat'),
  fstat: S(Api['fs.fstat'], 'stat'),
  statfs: S(Api['fs.statfs'], 'statfs'),
  link: S(Api['fs.link']),
  symlink: S(Api['fs.symlink']),
  readlink: S(Api['fs.readlink']),
  unlink: S(Api['fs.unlink']),
  writeBuffer: S(Api['fs.write'], 'write'),
  writeBuffers: S(Api['fs.writev'], 'writev'),
  writeString: S(Api['fs.write'], 'writeString'),
  writeFileUtf8: S(Api['fs.writeFile'], 'writeFile'),
  realpath: S(Api['fs.realpath']),
  copyFile: S(Api['fs.copyFile']),
  chmod: S(Api['fs.chmod']),
  fchmod: S(Api['fs.fchmod']),
  chown: S(Api['fs.chown']),
  fchown: S(Api['fs.fchown']),
  lchown: S(Api['fs.lchown']),
  utimes: S(Api['fs.utimes']),
  futimes: S(Api['fs.futimes']),
  lutimes: S(Api['fs.lutimes']),
  mkdtemp: S(Api['fs.mkdtemp']),
  // Node 26: readdir(…, { recursive }) in one native walk; readdir's arguments and forms.
  readdirRecursive: S(Api['fs.readdirRecursive']),
  // Node 22+: fs.cpSync's native parts.
  cpSyncCheckPaths: S(Api['fs.cpSyncCheckPaths']),
  cpSyncOverrideFile: S(Api['fs.cpSyncOverrideFile']),
  cpSyncCopyDir: S(Api['fs.cpSyncCopyDir']),
  // The module loaders', but Node 20's fs.promises.readdir(…, { recursive }) uses it too.
  // Node 22+ passes (receiver, path).
  internalModuleStat: S(Api['fs.internalModuleStat']),
  // The module loaders' own.
  internalModuleReadJSON: S(0, 'loader'), // Node 20
  legacyMainResolve: S(0, 'loader'),
  getFormatOfExtensionlessFile: S(0, 'loader'),
};

/**
 * Node 26's one-round-trip jobs (lib/fs.js readFile/writeFile, fs/promises, fs.cp): classes,
 * not functions. `new Job(...args)`, then `job.ondone = fn` (and `job.context`), then
 * `job.run(...)`, which returns an access error or schedules the work; the thread pool's
 * result comes back as `job.ondone(...results)` (see jobs.ts).
 *  - ReadFileJob(path, flags, chunkLength, trackFd?): ondone(err, buffer, fd, size, closeErr);
 *    a file larger than one chunk comes back open (fd, size), buffer undefined.
 *  - WriteFileJob(path, flags, mode, data): ondone(err).
 *  - CpDirJob(src, dest, force, dereference, errorOnExist, verbatimSymlinks, preserveTimestamps,
 *    mode): ondone(err, specialFileKind, specialFilePath).
 */
export const JOBS: Record<string, Spec> = {
  ReadFileJob: S(Api['fs.readFileJob'], 'readFile'),
  WriteFileJob: S(Api['fs.writeFileJob'], 'writeFile'),
  CpDirJob: S(Api['fs.cpDirJob']),
};

/** Classes and values on the binding that are not calls into native code. */
export const NOT_CALLS = new Set(['FSReqCallback', 'FileHandle', 'StatWatcher', ...Object.keys(JOBS)]);
