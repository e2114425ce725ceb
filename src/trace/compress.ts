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
import { zlibHandleClass, type HandleClass } from '../node/bindings.js';
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

/**
 * One deflate-raw stream of zlib's binding, reset after each chunk. deflateRawSync makes a
 * stream per call (a DeflateRaw object, its handle, deflateInit zeroing ~400 KiB of state):
 * about half the cost of compressing a 64 KiB chunk of events, and 2 of 3 in a log of
 * distinct file contents (bench 7). Same bytes out as deflateRawSync with these options.
 */
class Deflater {
  /** [avail_out, avail_in] after each write, as zlib.js reads them. */
  private readonly state = new Uint32Array(2);
  private failed = false;
  private constructor(private readonly handle: InstanceType<HandleClass>) {}

  static open(): Deflater | null {
    const Zlib = zlibHandleClass();
    if (Zlib === null) return null;
    try {
      return own(() => {
        const handle = new Zlib(constants.DEFLATERAW);
        const d = new Deflater(handle);
        handle.onerror = () => (d.failed = true);
        // As zlib.js's DeflateRaw: windowBits, level, memLevel, strategy, write state, callback (async only), dictionary.
        handle.init(15, 1, 9, constants.Z_DEFAULT_STRATEGY, d.state, () => {}, undefined);
        return d;
      });
    } catch {
      return null;
    }
  }

  /** Deflates `input` into out[at, end): the end of the output, or -1 if it does not fit. */
  deflate(input: Uint8Array, out: Buffer, at: number, end: number): number {
    ownIo.depth++;
    try {
      this.handle.writeSync(constants.Z_FINISH, input, 0, input.length, out, at, end - at);
      const [availOut, availIn] = this.state;
      // Room left over means deflate finished the stream (Z_STREAM_END); none: it may not have.
      const fits = !this.failed && availIn === 0 && availOut > 0;
      this.handle.reset();
      return fits ? end - availOut : -1;
    } finally {
      ownIo.depth--;
    }
  }
}

let deflater: Deflater | null | undefined;
let chunkOut: Buffer = Buffer.alloc(0);

/**
 * A chunk (its 12 header bytes, not filled in, then `payload`) with the payload compressed,
 * or null when compressing would not make it smaller. The chunk returned is valid until the
 * next call (one buffer serves every chunk).
 */
export function compressedChunk(payload: Uint8Array, headerBytes: number): Buffer | null {
  if (payload.length < MIN_BYTES) return null;
  if (deflater === undefined) deflater = Deflater.open();
  if (deflater === null) return slowCompressedChunk(payload, headerBytes);
  // Only a result smaller than the payload is of use: the output gets no more room than that.
  const end = headerBytes + payload.length;
  if (chunkOut.length < end) chunkOut = Buffer.allocUnsafe(end);
  chunkOut[headerBytes] = COMPRESSED;
  const p = putVarint(chunkOut, headerBytes + 1, payload.length);
  const z = deflater.deflate(payload, chunkOut, p, end);
  return z < 0 ? null : chunkOut.subarray(0, z);
}

/** How chunks are compressed in this thread: 'binding' (one stream, reset) or 'zlib' (deflateRawSync), once one was. */
export const compressionPath = (): 'binding' | 'zlib' | null =>
  deflater === undefined ? null : deflater === null ? 'zlib' : 'binding';

/** compressedChunk through zlib's public API (a stream per call), where the binding is out of reach. */
export function slowCompressedChunk(payload: Uint8Array, headerBytes: number): Buffer | null {
  const z = own(() => deflateRawSync(payload, { level: 1, memLevel: 9 }));
  const out = Buffer.allocUnsafe(headerBytes + 1 + 5 + z.length);
  out[headerBytes] = COMPRESSED;
  const p = putVarint(out, headerBytes + 1, payload.length);
  if (p + z.length >= headerBytes + payload.length) return null;
  out.set(z, p);
  return out.subarray(0, p + z.length);
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
