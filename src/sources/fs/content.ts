// File contents read again unchanged are logged as "same as last time" instead of their
// bytes. Programs re-read their configuration and templates; the log then grows by a few
// bytes per read. The last content under each key is kept in both runs, updated in log
// order, so replay hands back the same bytes. Keys depend only on what the program asked
// for and what the log answered (paths, descriptors' paths, the how-many-th read since the
// open), so they are the same in both runs.

import { currentSession, replaying } from '../../session/session.js';

/** Stored in the log in place of content equal to the last one under the same key. */
export const SAME = 0;

type Kept = string | Uint8Array | number;

export interface ContentLimits {
  /** Content larger than this is never kept (its key is forgotten). */
  maxRemembered: number;
  /** Bytes of content kept in all. */
  maxTotal: number;
  /**
   * Keys remembered in all, the oldest forgotten first: most keys are read once (a build
   * reading its sources, a server its files), and each keeps an entry, so without a bound a
   * long run reading ever new files (or a growing file at ever new offsets) grew the store
   * in both runs without end.
   */
  maxKeys: number;
}

const LIMITS: ContentLimits = { maxRemembered: 64 * 1024, maxTotal: 32 * 1024 * 1024, maxKeys: 16 * 1024 };

/**
 * The last content under each key; for a key read once so far, only its length: most
 * content is read once, and keeping a copy of each was a sixth of what recording such a read
 * cost (bench 7). A second read of the same length is logged whole and kept; the third can
 * be SAME. Both runs keep and forget the same things (the same code sees the same contents in
 * the same order), so replay has the content whenever the recording said SAME.
 */
export class ContentStore {
  private readonly last = new Map<string, Kept>();
  private total = 0;
  /**
   * The keys in the order they came (from `head` on), which decides what is forgotten first:
   * the order of `last`'s insertions, which is what the store forgot by before. Taking the
   * oldest from the Map itself (`keys().next()`) walks every entry deleted since V8 last
   * compacted the table: ~6 µs a key at 16K keys, so recording a program that read more than
   * ~5,000 distinct files slowed with every new one (40,000 reads: 2.3x plain, was 1.7x at 10,000).
   */
  private readonly order: string[] = [];
  private head = 0;
  /** Per key, how many of its places in `order` are stale: it was dropped (too large) since it took them. */
  private readonly dropped = new Map<string, number>();

  constructor(private readonly limits: ContentLimits = LIMITS) {}

  /** Recording: what to store for content `v` read under `key` (null: no saving). */
  store(key: string | null, v: string | Uint8Array): string | Uint8Array | typeof SAME {
    if (key === null) return v;
    const old = this.last.get(key);
    if (old !== undefined && equal(old, v)) return SAME;
    // One lookup of the entry serves both (each is a hash of the whole key).
    this.remember(key, v, old);
    return v;
  }

  /** Replay: the content stored under `key` (SAME: the last one). */
  load(key: string | null, stored: string | Uint8Array | typeof SAME): string | Uint8Array {
    if (stored === SAME) return this.last.get(key!) as string | Uint8Array;
    if (key !== null) this.remember(key, stored, this.last.get(key));
    return stored;
  }

  get size(): number {
    return this.last.size;
  }

  /** Keeps `v` (or its length) under `key`, whose entry was `old`. */
  private remember(key: string, v: string | Uint8Array, old: Kept | undefined): void {
    this.total -= kept(old);
    const { maxRemembered, maxTotal, maxKeys } = this.limits;
    if (v.length > maxRemembered || this.total + v.length > maxTotal) {
      if (old !== undefined) {
        this.last.delete(key);
        this.dropped.set(key, (this.dropped.get(key) ?? 0) + 1);
      }
      return;
    }
    if (old === undefined) {
      // A new key, past the bound the oldest key goes.
      if (this.last.size >= maxKeys) this.forgetOldest();
      this.last.set(key, v.length);
      // The places taken and the stale ones go once they outnumber the bound: each is moved at most once.
      if (this.order.push(key) > 2 * maxKeys) this.compact();
      return;
    }
    if (typeof old === 'number' && old !== v.length) {
      this.last.set(key, v.length);
      return;
    }
    this.last.set(key, typeof v === 'string' ? v : Uint8Array.prototype.slice.call(v));
    this.total += v.length;
  }

  private forgetOldest(): void {
    while (this.head < this.order.length) {
      const key = this.order[this.head++];
      if (this.stale(key)) continue;
      this.total -= kept(this.last.get(key));
      this.last.delete(key);
      return;
    }
  }

  /** Whether this place of `key` is stale, counting it off (a key's stale places come before its live one). */
  private stale(key: string): boolean {
    const n = this.dropped.size === 0 ? undefined : this.dropped.get(key);
    if (n === undefined) return false;
    if (n === 1) this.dropped.delete(key);
    else this.dropped.set(key, n - 1);
    return true;
  }

  /** Leaves in `order` each kept key once, in the order it came. */
  private compact(): void {
    const { order } = this;
    let n = 0;
    for (let i = this.head; i < order.length; i++) if (!this.stale(order[i])) order[n++] = order[i];
    order.length = n;
    this.head = 0;
  }
}

const kept = (x: Kept | undefined): number => (x === undefined || typeof x === 'number' ? 0 : x.length);

const equal = (a: Kept, b: string | Uint8Array): boolean =>
  typeof a === 'string'
    ? a === b
    : typeof a !== 'number' && typeof b !== 'string' && a.length === b.length && Buffer.compare(a, b) === 0;

const contents = new ContentStore();

/** Recording: what to store for content `v` read under `key` (null: no saving). */
export const storeContent = (key: string | null, v: string | Uint8Array): string | Uint8Array | typeof SAME =>
  contents.store(key, v);

/** Replay: the content stored under `key` (SAME: the last one). */
export function loadContent(key: string | null, stored: string | Uint8Array | typeof SAME): string | Uint8Array {
  const v = contents.load(key, stored);
  // Only a log whose recording kept other things than this rewind does (another version).
  if (v === undefined)
    replaying(currentSession()).mismatch(
      `read content the log gives as unchanged since an earlier read this rewind does not keep (was the recording made by another rewind version?)`,
    );
  return v;
}

/** Only a file's first reads after an open: a long stream's chunks are not worth keeping. */
const MAX_ORDINAL = 4;

// ---- keys -----------------------------------------------------------------------------------
// No key holds a NUL but as a separator (a path cannot hold one): the forms cannot collide.

/** An open descriptor: the path it was opened with, its reads so far, its fstat key once made. */
interface Opened {
  path: string;
  reads: number;
  fstat: string | null;
}

/** The path each open descriptor was opened with, and how many reads it has had. */
const opened = new Map<number, Opened>();

export function openedFd(fd: unknown, path: unknown): void {
  if (typeof fd === 'number' && typeof path === 'string') opened.set(fd, { path, reads: 0, fstat: null });
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

/**
 * The key of a whole-file read: the path itself for the usual flags (0, read-only), which
 * costs no new string (and the program's path string keeps its hash).
 */
export const fileKey = (path: unknown, flags: unknown): string | null =>
  typeof path !== 'string' ? null : flags === 0 ? path : `${path}\0${flags}`;

/** The key of a stat (`fn`: stat, lstat, fstat, statfs) of a path or an open descriptor. */
export function statKey(fn: string, target: unknown, bigint: unknown): string | null {
  if (typeof target === 'string') return `${fn}\0${target}\0${bigint === true}`;
  const f = opened.get(target as number);
  if (f === undefined) return null;
  // A descriptor is stat'ed again and again (readFileSync: once per read): its key is made once.
  if (fn === 'fstat' && bigint !== true) return (f.fstat ??= `fstat\0${f.path}\0false`);
  return `${fn}\0${f.path}\0${bigint === true}`;
}
