// How fs results are stored in the log and rebuilt at replay as objects of Node's own
// classes: Stats, BigIntStats, Dirent, StatFs. Nothing here calls a deprecated
// constructor (fs.Stats is deprecated from Node 22, DEP0180): objects are created from
// the prototypes and given their own properties in the order Node gives them.
import fs from 'node:fs';
import { registerValueClass, type ValueClass } from '../../trace/values.js';
import { original } from '../../node/originals.js';

/** The fs classes, registered by registerFsValueClasses (an explicit call, not an import's side effect). */
const FS_CLASSES: (() => void)[] = [];
const fsClass = <T>(name: string, cls: ValueClass<T>): void =>
  void FS_CLASSES.push(() => registerValueClass(name, cls));

/** Registers how fs's classes (Stats, BigIntStats, Dirent, StatFs) are stored in a log. */
export function registerFsValueClasses(): void {
  for (const register of FS_CLASSES.splice(0)) register();
}

const STAT_FIELDS = [
  'dev',
  'mode',
  'nlink',
  'uid',
  'gid',
  'rdev',
  'blksize',
  'ino',
  'size',
  'blocks',
  'atimeMs',
  'mtimeMs',
  'ctimeMs',
  'birthtimeMs',
] as const;
const BIGINT_FIELDS = [...STAT_FIELDS, 'atimeNs', 'mtimeNs', 'ctimeNs', 'birthtimeNs'] as const;
const DATE_FIELDS = ['atime', 'mtime', 'ctime', 'birthtime'] as const;

type Fields = Record<string, unknown>;
const StatsProto = fs.Stats.prototype as object;
const StatsBaseProto = Object.getPrototypeOf(StatsProto) as object;
// Node 22+ computes the Date fields lazily from getters on the prototype; Node 20 sets them
// as own properties, from the ms fields, exactly as below.
const lazyDates = Object.getOwnPropertyDescriptor(StatsProto, 'atime') !== undefined;

/** BigIntStats is not exported: its prototype is taken from one real object, when first needed. */
let bigintProto: object | null = null;
function bigIntStatsProto(): object {
  if (!bigintProto) {
    // fstat of stderr: a descriptor every Node process has; only the prototype is used.
    const st = original.fs.fstatSync(2, { bigint: true });
    bigintProto = Object.getPrototypeOf(st) as object;
  }
  return bigintProto;
}

function isBigIntStats(v: unknown): boolean {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as Fields).dev === 'bigint' &&
    Object.getPrototypeOf(Object.getPrototypeOf(v)) === StatsBaseProto
  );
}

function buildStats(proto: object, fields: readonly string[], values: unknown[]): object {
  const st = Object.create(proto) as Fields;
  for (let i = 0; i < fields.length; i++) st[fields[i]] = values[i];
  if (!lazyDates) {
    for (let i = 0; i < DATE_FIELDS.length; i++)
      st[DATE_FIELDS[i]] = new Date(Math.round(Number(st[`${DATE_FIELDS[i]}Ms`])));
  }
  return st;
}

fsClass<Fields>('Stats', {
  is: (v): v is Fields => v instanceof fs.Stats,
  encode: (st) => STAT_FIELDS.map((k) => st[k]),
  decode: (d) => buildStats(StatsProto, STAT_FIELDS, d as unknown[]) as Fields,
  leaf: true,
});

fsClass<Fields>('BigIntStats', {
  is: (v): v is Fields => isBigIntStats(v),
  encode: (st) => BIGINT_FIELDS.map((k) => st[k]),
  decode: (d) => buildStats(bigIntStatsProto(), BIGINT_FIELDS, d as unknown[]) as Fields,
});

const C = fs.constants as unknown as Record<string, number>;
/** A Dirent's type, as the libuv constant Node keeps privately. */
function direntType(d: fs.Dirent): number {
  if (d.isFile()) return C.UV_DIRENT_FILE;
  if (d.isDirectory()) return C.UV_DIRENT_DIR;
  if (d.isSymbolicLink()) return C.UV_DIRENT_LINK;
  if (d.isFIFO()) return C.UV_DIRENT_FIFO;
  if (d.isSocket()) return C.UV_DIRENT_SOCKET;
  if (d.isCharacterDevice()) return C.UV_DIRENT_CHAR;
  if (d.isBlockDevice()) return C.UV_DIRENT_BLOCK;
  return C.UV_DIRENT_UNKNOWN;
}

// Dirent's constructor sets `parentPath` (and `path` before Node 24) as that Node does.
const DirentCtor = fs.Dirent as unknown as new (name: unknown, type: number, parentPath: unknown) => fs.Dirent;
fsClass<fs.Dirent>('Dirent', {
  is: (v): v is fs.Dirent => v instanceof fs.Dirent,
  encode: (d) => [d.name, direntType(d), (d as { parentPath?: unknown }).parentPath],
  decode: (x) => {
    const [name, type, parentPath] = x as [unknown, number, unknown];
    return new DirentCtor(name, type, parentPath);
  },
  leaf: true,
});

/** statfs results: Node's class is not exported and has no methods; this one prints the same. */
class StatFs {
  constructor(
    readonly type: number | bigint,
    readonly bsize: number | bigint,
    readonly blocks: number | bigint,
    readonly bfree: number | bigint,
    readonly bavail: number | bigint,
    readonly files: number | bigint,
    readonly ffree: number | bigint,
  ) {}
}
const STATFS_FIELDS = ['type', 'bsize', 'blocks', 'bfree', 'bavail', 'files', 'ffree'] as const;
fsClass<Fields>('StatFs', {
  is: (v): v is Fields => typeof v === 'object' && v !== null && v.constructor?.name === 'StatFs' && 'bavail' in v,
  encode: (st) => STATFS_FIELDS.map((k) => st[k]),
  decode: (d) => new StatFs(...(d as [number, number, number, number, number, number, number])) as unknown as Fields,
});
