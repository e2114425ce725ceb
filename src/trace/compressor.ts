// Compressing a chunk's events as the writer stores them (the format: compress.ts). Only
// the recording side (the writer, redact) loads this module, and with it zlib's binding.
import { brotliEncoderClass, zlibConstants, type HandleClass } from '../node/bindings.js';
import { ownIo } from '../node/originals.js';
import { putVarint } from './codec.js';
import { COMPRESSED, MIN_BYTES, own, zlibFunctions } from './compress.js';

/** Brotli's settings for a chunk: quality 0 (see compress.ts), a window of a normal chunk's size. */
const QUALITY = 0;
const WINDOW_BITS = 16;

/**
 * One brotli encoder of zlib's binding, initialised again for each chunk. brotliCompressSync
 * makes a stream object per call (a BrotliCompress with its handle, buffers and
 * listeners), and the binding's reset() forgets the encoder's parameters (the next chunk
 * would be compressed at quality 11); init() makes a fresh encoder in the same handle,
 * freeing the last one. One handle, so one native resource for the whole recording.
 */
class ChunkCompressor {
  /** [avail_out, avail_in] after each write, as zlib.js reads them. */
  private readonly state = new Uint32Array(2);
  /** Brotli's parameters by number (0xffffffff: brotli's default), as zlib.js passes them. */
  private readonly params: Uint32Array;
  private failed = false;
  private constructor(
    private readonly handle: InstanceType<HandleClass>,
    private readonly c: Record<string, number>,
  ) {
    const size = Math.max(...Object.keys(c).flatMap((k) => (k.startsWith('BROTLI_PARAM_') ? [c[k]] : []))) + 1;
    this.params = new Uint32Array(size).fill(0xffffffff);
    this.params[c.BROTLI_PARAM_QUALITY] = QUALITY;
    this.params[c.BROTLI_PARAM_LGWIN] = WINDOW_BITS;
  }

  static open(): ChunkCompressor | null {
    const Encoder = brotliEncoderClass();
    const c = zlibConstants();
    if (Encoder === null || c === null) return null;
    try {
      return own(() => {
        const z = new ChunkCompressor(new Encoder(c.BROTLI_ENCODE), c);
        z.handle.onerror = () => (z.failed = true);
        return z;
      });
    } catch {
      return null;
    }
  }

  /** Compresses `input` into out[at, end): the end of the output, or -1 if it does not fit. */
  compress(input: Uint8Array, out: Buffer, at: number, end: number): number {
    ownIo.depth++;
    try {
      this.failed = false;
      this.params[this.c.BROTLI_PARAM_SIZE_HINT] = input.length;
      // As zlib.js's BrotliCompress: parameters, write state, callback (async writes only).
      // An encoder the binding could not make is reported through onerror.
      this.handle.init(this.params, this.state, () => {});
      if (this.failed) return -1;
      this.handle.writeSync(this.c.BROTLI_OPERATION_FINISH, input, 0, input.length, out, at, end - at);
      const [availOut, availIn] = this.state;
      // Room left over means brotli finished the stream; none: it may not have.
      return !this.failed && availIn === 0 && availOut > 0 ? end - availOut : -1;
    } finally {
      ownIo.depth--;
    }
  }
}

let compressor: ChunkCompressor | null | undefined;
let chunkOut: Buffer = Buffer.alloc(0);
const KEEP_OUT_BYTES = 256 * 1024;

/**
 * A chunk (its 12 header bytes, not filled in, then `payload`) with the payload compressed,
 * or null when compressing would not make it smaller. The chunk returned is valid until the
 * next call (one buffer serves every chunk).
 */
export function compressedChunk(payload: Uint8Array, headerBytes: number): Buffer | null {
  if (payload.length < MIN_BYTES) return null;
  if (compressor === undefined) compressor = ChunkCompressor.open();
  if (compressor === null) return slowCompressedChunk(payload, headerBytes);
  // Only a result smaller than the payload is of use: the output gets no more room than that.
  const end = headerBytes + payload.length;
  // Kept for the next chunk up to a normal chunk's size; a chunk of one large event gets its own.
  let out = chunkOut;
  if (out.length < end) {
    out = Buffer.allocUnsafe(end);
    if (end <= KEEP_OUT_BYTES) chunkOut = out;
  }
  out[headerBytes] = COMPRESSED;
  const p = putVarint(out, headerBytes + 1, payload.length);
  const z = compressor.compress(payload, out, p, end);
  return z < 0 ? null : out.subarray(0, z);
}

/** How chunks are compressed in this thread: 'binding' (one encoder handle) or 'zlib' (brotliCompressSync), once one was. */
export const compressionPath = (): 'binding' | 'zlib' | null =>
  compressor === undefined ? null : compressor === null ? 'zlib' : 'binding';

/** compressedChunk through zlib's public API (a stream per call), where the binding is out of reach. */
export function slowCompressedChunk(payload: Uint8Array, headerBytes: number): Buffer | null {
  const { brotliCompressSync, constants: c } = zlibFunctions();
  const z = own(() =>
    brotliCompressSync(payload, {
      params: {
        [c.BROTLI_PARAM_QUALITY]: QUALITY,
        [c.BROTLI_PARAM_LGWIN]: WINDOW_BITS,
        [c.BROTLI_PARAM_SIZE_HINT]: payload.length,
      },
    }),
  );
  const out = Buffer.allocUnsafe(headerBytes + 1 + 5 + z.length);
  out[headerBytes] = COMPRESSED;
  const p = putVarint(out, headerBytes + 1, payload.length);
  if (p + z.length >= headerBytes + payload.length) return null;
  out.set(z, p);
  return out.subarray(0, p + z.length);
}
