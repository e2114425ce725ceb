// Compressing a chunk's events as the writer stores them (the format: compress.ts). Only
// the recording side (the writer, redact) loads this module, and with it zlib's binding.
import { zlibConstants, zlibHandleClass, type HandleClass } from '../node/bindings.js';
import { ownIo } from '../node/originals.js';
import { putVarint } from './codec.js';
import { COMPRESSED, MIN_BYTES, own, zlibFunctions } from './compress.js';

/**
 * One deflate-raw stream of zlib's binding, reset after each chunk. deflateRawSync makes a
 * stream per call (a DeflateRaw object, its handle, deflateInit zeroing ~400 KiB of state):
 * about half the cost of compressing a 64 KiB chunk of events, and 2 of 3 in a log of
 * distinct file contents (bench 7). The same stream settings as deflateRawSync's below; the
 * bytes may differ (zlib may end a stream a byte or two apart when its output comes in pieces).
 */
class Deflater {
  /** [avail_out, avail_in] after each write, as zlib.js reads them. */
  private readonly state = new Uint32Array(2);
  private failed = false;
  private constructor(
    private readonly handle: InstanceType<HandleClass>,
    private readonly finish: number,
  ) {}

  static open(): Deflater | null {
    const Zlib = zlibHandleClass();
    const constants = zlibConstants();
    if (Zlib === null || constants === null) return null;
    try {
      return own(() => {
        const handle = new Zlib(constants.DEFLATERAW);
        const d = new Deflater(handle, constants.Z_FINISH);
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
      this.failed = false;
      this.handle.writeSync(this.finish, input, 0, input.length, out, at, end - at);
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
const KEEP_OUT_BYTES = 256 * 1024;

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
  // Kept for the next chunk up to a normal chunk's size; a chunk of one large event gets its own.
  let out = chunkOut;
  if (out.length < end) {
    out = Buffer.allocUnsafe(end);
    if (end <= KEEP_OUT_BYTES) chunkOut = out;
  }
  out[headerBytes] = COMPRESSED;
  const p = putVarint(out, headerBytes + 1, payload.length);
  const z = deflater.deflate(payload, out, p, end);
  return z < 0 ? null : out.subarray(0, z);
}

/** How chunks are compressed in this thread: 'binding' (one stream, reset) or 'zlib' (deflateRawSync), once one was. */
export const compressionPath = (): 'binding' | 'zlib' | null =>
  deflater === undefined ? null : deflater === null ? 'zlib' : 'binding';

/** compressedChunk through zlib's public API (a stream per call), where the binding is out of reach. */
export function slowCompressedChunk(payload: Uint8Array, headerBytes: number): Buffer | null {
  const { deflateRawSync } = zlibFunctions();
  const z = own(() => deflateRawSync(payload, { level: 1, memLevel: 9 }));
  const out = Buffer.allocUnsafe(headerBytes + 1 + 5 + z.length);
  out[headerBytes] = COMPRESSED;
  const p = putVarint(out, headerBytes + 1, payload.length);
  if (p + z.length >= headerBytes + payload.length) return null;
  out.set(z, p);
  return out.subarray(0, p + z.length);
}
