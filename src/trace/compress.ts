// Chunk compression. A chunk's payload of events is stored compressed when that makes it
// smaller: from format 5 by brotli at quality 0, in formats 3 and 4 by deflate-raw at level 1
// (the file's version byte says which: `rewind redact` rewrites a log's chunks in the
// current form). Measured on the 64 KiB chunks of real recordings, each codec through one
// native handle as the writer has it (compressing, ratio):
//   clock readings (bench 3)    deflate-raw 1  378 MB/s  16.3x    brotli 0   826 MB/s  11.0x
//   timer turns (bench 2)                      252 MB/s  7.5x                569 MB/s  5.7x
//   distinct files (bench 7)                   491 MB/s  22.5x              2111 MB/s  23.6x
//   HTTP requests (bench 6)                    216 MB/s  3.5x                537 MB/s  3.1x
//   tsc -p of rewind itself                    189 MB/s  4.2x                448 MB/s  4.1x
// Deflate's cost is per symbol: 6.6 ms of the ~33 ms a clock loop's 10^6 readings cost to
// record, 48 of the ~600 ms recording tsc cost over plain. Brotli 0 does the same work 2.2-4.3x
// faster, its logs up to a third larger, well within every size target. Brotli 1 kept
// deflate's ratios but was no faster on HTTP logs (200 MB/s); zstd is in node:zlib only from
// Node 22.15, and lz4/zstd from npm are native addons rewind would load into every recorded
// process (or slower pure JS).
//
// A compressed payload starts with a byte no event starts with (COMPRESSED, 0), then the
// varint length of the events it holds, then their compressed bytes. The writer's side
// (compressing) is compressor.ts: readers do not load it.
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
 * only zlib's binding (compressor.ts), and node:zlib needs node:stream.
 */
export const zlibFunctions = takenWhenLoaded('zlib', () => {
  const { inflateRawSync, brotliDecompressSync, brotliCompressSync, constants } = zlib;
  return { inflateRawSync, brotliDecompressSync, brotliCompressSync, constants };
});

/** Whether a file of this version byte compresses its chunks with brotli (else deflate-raw). */
const brotliChunks = (version: number): boolean => version >= 5;

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
 * The events a compressed payload holds, in a file of version byte `version`. `cut`: the
 * payload is what a killed process left of its chunk: whatever decompresses is returned.
 * Throws an Error saying what is wrong.
 */
export function decompressPayload(payload: Uint8Array, cut: boolean, version: number): Uint8Array {
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
    const { inflateRawSync, brotliDecompressSync, constants } = zlibFunctions();
    const brotli = brotliChunks(version);
    const decompress = brotli ? brotliDecompressSync : inflateRawSync;
    // A cut payload: flushed rather than finished, which gives back what is whole.
    const finishFlush = brotli ? constants.BROTLI_OPERATION_FLUSH : constants.Z_SYNC_FLUSH;
    out = own(() => decompress(body, { maxOutputLength: length, ...(cut ? { finishFlush } : {}) }));
  } catch (e) {
    if (cut) return new Uint8Array(0);
    throw new Error(`it does not decompress (${(e as Error).message})`, { cause: e });
  }
  if (!cut && out.length !== length) throw new Error(`it decompresses to ${out.length} bytes, not ${length}`);
  return out;
}
