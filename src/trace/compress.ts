// Chunk compression (format 3): a chunk's payload of events is stored deflate-raw at level 1
// when that makes it smaller. Measured per 64 KiB chunk on real logs (HTTP servers, clock
// loops, timers, fs reads of the same and of distinct files): deflate-raw 1 compressed 2.5x
// to 57x at 120-870 MB/s (memLevel 9: 15-50% faster than the default 8, same ratio);
// brotli quality 0-1 was as fast or faster, but compressed timer and clock logs 35-45% less
// (1.5x vs 2.5x, 6.6x vs 11.5x); zstd is in node:zlib only from Node 22.15, and lz4/zstd from
// npm are native addons rewind would load into every recorded process (or slower pure JS).
//
// A compressed payload starts with a byte no event starts with (COMPRESSED, 0), then the
// varint length of the events it holds, then their deflate-raw bytes.
import zlib from 'node:zlib';
import { bindings } from '../node/bindings.js';
import { ownIo } from '../node/originals.js';
import { ByteCursor, putVarint } from './codec.js';
import { MAX_CHUNK_BYTES } from './format.js';

/** The first byte of a compressed payload (no event tag is 0). */
export const COMPRESSED = 0;
/** Smaller payloads are stored as they are: too little to gain. */
const MIN_BYTES = 256;

// Captured now: rewind's zlib source wraps the binding's handles, and these calls are
// rewind's own (marked so, below: no operation is numbered for them, in either mode).
const { deflateRawSync, inflateRawSync, constants } = zlib;

function own<T>(fn: () => T): T {
  ownIo.depth++;
  try {
    return fn();
  } finally {
    ownIo.depth--;
  }
}

/** Whether a payload is worth compressing at all. */
export const worthCompressing = (payload: Uint8Array): boolean => payload.length >= MIN_BYTES;

/**
 * A chunk (its 12 header bytes, not filled in, then `payload`) with the payload compressed,
 * or null when compressing would not make it smaller.
 */
export function compressedChunk(payload: Uint8Array, headerBytes: number): Buffer | null {
  if (!worthCompressing(payload)) return null;
  return framed(
    payload.length,
    own(() => deflateRawSync(payload, { level: 1, memLevel: 9 })),
    headerBytes,
  );
}

/** The chunk holding `z`, the deflate-raw of `length` bytes of events, or null when it is not smaller. */
function framed(length: number, z: Uint8Array, headerBytes: number): Buffer | null {
  const out = Buffer.allocUnsafe(headerBytes + 1 + 5 + z.length);
  out[headerBytes] = COMPRESSED;
  const p = putVarint(out, headerBytes + 1, length);
  if (p + z.length >= headerBytes + length) return null;
  out.set(z, p);
  return out.subarray(0, p + z.length);
}

/* eslint-disable @typescript-eslint/no-explicit-any */
/**
 * Compresses chunks on Node's thread pool, one at a time, through one zlib handle reset
 * between chunks: the deflate runs beside the program instead of inside its turn (it was
 * a fifth to a third of what recording a clock loop or file reads cost), and its output
 * is byte for byte what compressedChunk makes. The completion is a callback of rewind's
 * own: no program code runs in it (the handle is created as rewind's own I/O, so the zlib
 * source leaves it alone). Null where the zlib binding is out of reach.
 */
export class ChunkDeflater {
  private readonly handle: any;
  private readonly state = new Uint32Array(2);
  private out: Buffer = Buffer.allocUnsafe(0);
  private length = 0;
  private done: ((chunk: Buffer | null) => void) | null = null;
  /** A compression is running on the thread pool. */
  busy = false;

  private constructor(
    Zlib: new (mode: number) => any,
    private readonly headerBytes: number,
  ) {
    this.handle = own(() => new Zlib(constants.DEFLATERAW));
    const self = this;
    this.handle.onerror = () => self.finish(null);
    own(() =>
      this.handle.init(
        15,
        1,
        9,
        constants.Z_DEFAULT_STRATEGY,
        this.state,
        () => {
          // availOut after the write: what it produced is the rest.
          self.finish(self.out.subarray(self.headerBytes, self.out.length - self.state[0]));
        },
        undefined, // no dictionary (Node checks for all seven arguments)
      ),
    );
  }

  static create(headerBytes: number): ChunkDeflater | null {
    const Zlib = bindings()?.zlib?.Zlib as (new (mode: number) => any) | undefined;
    if (typeof Zlib !== 'function') return null;
    try {
      return new ChunkDeflater(Zlib, headerBytes);
    } catch {
      return null;
    }
  }

  /**
   * Starts compressing `payload` (worthCompressing), which must stay untouched until `done`
   * is called with its chunk (header bytes not filled in), or null: not smaller, or failed.
   */
  start(payload: Uint8Array, done: (chunk: Buffer | null) => void): void {
    const headerBytes = this.headerBytes;
    // Room for deflate's worst case (stored blocks: 5 bytes per 16 KiB) and the chunk's framing.
    const room = headerBytes + payload.length + 1024;
    if (this.out.length < room) this.out = Buffer.allocUnsafe(room);
    this.length = payload.length;
    this.done = done;
    this.busy = true;
    own(() => {
      this.handle.reset();
      this.handle.write(constants.Z_FINISH, payload, 0, payload.length, this.out, headerBytes, room - headerBytes);
    });
  }

  /** The compression running now is no longer wanted: its result is dropped, and `then` runs when it ends. */
  abandon(then: () => void): void {
    this.done = then;
  }

  private finish(z: Uint8Array | null): void {
    const done = this.done;
    this.done = null;
    this.busy = false;
    // Unfinished output (availIn left) cannot happen with room for the worst case; if it did, the chunk goes as it is.
    const chunk = z !== null && this.state[1] === 0 ? framed(this.length, z, this.headerBytes) : null;
    done?.(chunk);
  }
}

/**
 * The events a compressed payload holds. `cut`: the payload is what a killed process left
 * of its chunk: whatever decompresses is returned. Throws an Error saying what is wrong.
 */
export function inflatePayload(payload: Uint8Array, cut: boolean): Uint8Array {
  const cur = new ByteCursor(payload, 1);
  let length: number;
  try {
    length = cur.varint();
  } catch {
    if (cut) return new Uint8Array(0);
    throw new Error('its compressed size field is unreadable');
  }
  if (length === 0 || length > MAX_CHUNK_BYTES) throw new Error(`it claims an impossible size (${length} bytes)`);
  const body = payload.subarray(cur.pos);
  let out: Buffer;
  try {
    out = own(() =>
      inflateRawSync(body, { maxOutputLength: length, ...(cut ? { finishFlush: constants.Z_SYNC_FLUSH } : {}) }),
    );
  } catch (e) {
    if (cut) return new Uint8Array(0);
    throw new Error(`it does not decompress (${(e as Error).message})`, { cause: e });
  }
  if (!cut && out.length !== length) throw new Error(`it decompresses to ${out.length} bytes, not ${length}`);
  return out;
}
