// Chunk compression (format 3): a chunk's payload of events is stored deflate-raw at level 1
// when that makes it smaller. Measured per 64 KiB chunk on real logs (HTTP servers, clock
// loops, timers, fs reads of the same and of distinct files): deflate-raw 1 compressed 2.5x
// to 57x at 120-870 MB/s (memLevel 9: 15-50% faster than the default 8, same ratio);
// brotli quality 0-1 was as fast or faster, but compressed timer and clock logs 35-45% less
// (1.5x vs 2.5x, 6.6x vs 11.5x); zstd is in node:zlib only from Node 22.15, and lz4/zstd from
// npm are native addons rewind would load into every recorded process (or slower pure JS).
//
// A compressed payload starts with a byte no event starts with (COMPRESSED, 0), then the
// varint length of the events it holds, then their deflate-raw bytes. The writer's side
// (compressing) is deflate.ts: readers do not load it.
import zlib from 'node:zlib';
import { takenWhenLoaded } from '../node/fields.js';
import { ownIo } from '../node/originals.js';
import { ByteCursor } from './codec.js';
import { MAX_CHUNK_BYTES } from './format.js';

/** The first byte of a compressed payload (no event tag is 0). */
export const COMPRESSED = 0;
/** Smaller payloads are stored as they are: too little to gain. */
export const MIN_BYTES = 256;

/**
 * node:zlib's functions as Node made them, taken as it loads (rewind's zlib source wraps the
 * binding's handles; these calls are rewind's own, marked so below: no operation is numbered
 * for them, in either mode). Not loaded for rewind at start-up: a recording's writer needs
 * only zlib's binding (deflate.ts), and node:zlib needs node:stream.
 */
export const zlibFunctions = takenWhenLoaded('zlib', () => {
  const { inflateRawSync, deflateRawSync, constants } = zlib;
  return { inflateRawSync, deflateRawSync, constants };
});

/** `fn` as rewind's own zlib work. */
export function own<T>(fn: () => T): T {
  ownIo.depth++;
  try {
    return fn();
  } finally {
    ownIo.depth--;
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
    const { inflateRawSync, constants } = zlibFunctions();
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
