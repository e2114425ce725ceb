// File contents read again unchanged are logged as "same as last time" instead of their
// bytes. Programs re-read their configuration and templates; the log then grows by a few
// bytes per read. The last content under each key is kept in both runs, updated in log
// order, so replay hands back the same bytes. Keys depend only on what the program asked
// for and what the log answered (paths, descriptors' paths, the how-many-th read since the
// open), so they are the same in both runs.

/** Stored in the log in place of content equal to the last one under the same key. */
export const SAME = 0;
const MAX_REMEMBERED = 64 * 1024;
/** Only a file's first reads after an open: a long stream's chunks are not worth keeping. */
const MAX_ORDINAL = 4;
const MAX_TOTAL = 32 * 1024 * 1024;

/**
 * The last content under each key; for a key read once so far, only its length: most
 * content is read once (a build reading its sources, a server its templates), and keeping
 * a copy of each was a sixth of what recording such a read cost (bench 7). A second read of the
 * same length is logged whole and kept; the third can be SAME. Both runs keep the same
 * things (the same function sees the same contents in the same order), so replay has the
 * content whenever the recording said SAME.
 */
const last = new Map<string, string | Uint8Array | number>();
let total = 0;

const kept = (x: string | Uint8Array | number | undefined): number =>
  x === undefined || typeof x === 'number' ? 0 : x.length;

/** Keeps `v` (or its length) under `key`, whose entry was `old`. */
function remember(key: string, v: string | Uint8Array, old: string | Uint8Array | number | undefined): void {
  total -= kept(old);
  if (v.length > MAX_REMEMBERED || total + v.length > MAX_TOTAL) {
    last.delete(key);
    return;
  }
  if (old === undefined || (typeof old === 'number' && old !== v.length)) {
    last.set(key, v.length);
    return;
  }
  last.set(key, typeof v === 'string' ? v : Uint8Array.prototype.slice.call(v));
  total += v.length;
}

const equal = (a: string | Uint8Array | number, b: string | Uint8Array): boolean =>
  typeof a === 'string'
    ? a === b
    : typeof a !== 'number' && typeof b !== 'string' && a.length === b.length && Buffer.compare(a, b) === 0;

/** Recording: what to store for content `v` read under `key` (null: no saving). */
export function storeContent(key: string | null, v: string | Uint8Array): string | Uint8Array | typeof SAME {
  if (key === null) return v;
  const old = last.get(key);
  if (old !== undefined && equal(old, v)) return SAME;
  // One lookup of the entry serves both (each is a hash of the whole key, a fresh string).
  remember(key, v, old);
  return v;
}

/** Replay: the content stored under `key` (SAME: the last one). */
export function loadContent(key: string | null, stored: string | Uint8Array | typeof SAME): string | Uint8Array {
  if (stored === SAME) return last.get(key!) as string | Uint8Array;
  if (key !== null) remember(key, stored, last.get(key));
  return stored;
}

// ---- descriptors ----------------------------------------------------------------------------

/** The path each open descriptor was opened with, and how many reads it has had. */
const opened = new Map<number, { path: string; reads: number }>();

export function openedFd(fd: unknown, path: unknown): void {
  if (typeof fd === 'number' && typeof path === 'string') opened.set(fd, { path, reads: 0 });
}

export function closedFd(fd: unknown): void {
  opened.delete(fd as number);
}

/** The key of a read of `length` bytes at `position` from `fd`, or null when not worth one. */
export function readKey(fd: unknown, length: unknown, position: unknown): string | null {
  const f = opened.get(fd as number);
  if (f === undefined) return null;
  const n = f.reads++;
  return n < MAX_ORDINAL ? `${f.path}\0${n}\0${length}\0${position}` : null;
}

export const fileKey = (path: unknown, flags: unknown): string | null =>
  typeof path === 'string' ? `${path}\0${flags}` : null;

/** The key of a stat (`fn`: stat, lstat, fstat, statfs) of a path or an open descriptor. */
export function statKey(fn: string, target: unknown, bigint: unknown): string | null {
  const path = typeof target === 'string' ? target : opened.get(target as number)?.path;
  return path === undefined ? null : `${fn}\0${path}\0${bigint === true}`;
}
