// SHA-256 and HMAC-SHA-256 for rewind's own use: the entry module's hash in the log header, the
// header's signature (trust.ts), the chaos stream's key. Computed by a small WebAssembly module
// (sha256.wat: 4.3 KB, eight copies of its block function) rather than node:crypto, whose
// JavaScript (36 modules, with node:stream) cost ~1.3 ms of every recorded or replayed
// process's start, for hashing a few KB. node:crypto where WebAssembly is not available
// (--jitless) and for inputs large enough that its native hashing repays loading it (an entry
// module over 64 KiB). Both give the same digest.
import { original } from '../node/originals.js';
import { SHA256_WASM } from './sha256-wasm.js';

/**
 * Above this, node:crypto hashes. Measured cold, in a fresh process: the module's compile,
 * instance and first block ~0.3 ms, then ~6 ms per MiB before V8 optimizes it; node:crypto
 * ~1.3–1.7 ms to load and ~1 ms for its first hash, then ~0.6 ms per MiB.
 */
const WASM_MAX_BYTES = 64 * 1024;

// prettier-ignore
const K = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];
// prettier-ignore
const H0 = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

// The module's memory (sha256.wat): K at 256, H at 512, the input from 1024, padded; 2 pages
// hold an HMAC's block and WASM_MAX_BYTES of data with their padding.
const K_AT = 256;
const H_AT = 512;
const IN = 1024;

interface Engine {
  mem: Uint8Array;
  words: Int32Array;
  /** The module's copies of its block function (scripts/sha256-wasm.mjs COPIES). */
  copies: ((p: number, n: number) => void)[];
  /** Blocks folded so far, by all copies: the copy in use follows from it. */
  folded: number;
}

/**
 * Blocks one copy of the block function folds before the next copy takes over: Node 20's V8
 * tiers a WebAssembly function up once it ran ~27 blocks' worth (--wasm-tiering-budget),
 * stopping the main thread ~1.1 ms, more than all the blocks a start hashes take in Liftoff's
 * code (~3 µs each: the entry module, the header's signature, ~35 blocks for an empty
 * program). The last copy folds whatever is left.
 */
const BLOCKS_PER_COPY = 24;

let engine: Engine | null | undefined;

/** The WebAssembly module, instantiated on first use; null where it cannot be (--jitless). */
function wasm(): Engine | null {
  if (engine !== undefined) return engine;
  try {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(Buffer.from(SHA256_WASM, 'base64')), {});
    const exports = instance.exports as Record<string, unknown>;
    const memory = exports.memory as WebAssembly.Memory;
    const copies: Engine['copies'] = [];
    for (let k = 0; typeof exports[`blocks${k}`] === 'function'; k++) copies.push(exports[`blocks${k}`] as never);
    const words = new Int32Array(memory.buffer);
    words.set(K, K_AT / 4);
    engine = { mem: new Uint8Array(memory.buffer), words, copies, folded: 0 };
  } catch {
    engine = null;
  }
  return engine;
}

/** SHA-256 of the concatenation of `parts` (at most WASM_MAX_BYTES and a block), through the WebAssembly module. */
function wasmDigest(e: Engine, parts: Uint8Array[]): Buffer {
  e.words.set(H0, H_AT / 4);
  let used = 0;
  for (const d of parts) {
    e.mem.set(d, IN + used);
    used += d.length;
  }
  const total = used;
  // Padding: 0x80, zeros up to 8 bytes short of a block, the length in bits (big-endian).
  const m = e.mem;
  m[IN + used++] = 0x80;
  while (used % 64 !== 56) m[IN + used++] = 0;
  const bits = total * 8;
  const high = Math.floor(bits / 0x100000000);
  for (let i = 0; i < 4; i++) {
    m[IN + used + i] = (high >>> (24 - 8 * i)) & 0xff;
    m[IN + used + 4 + i] = (bits >>> (24 - 8 * i)) & 0xff;
  }
  used += 8;
  fold(e, IN, used / 64);
  const out = Buffer.allocUnsafe(32);
  for (let i = 0; i < 8; i++) out.writeInt32BE(e.words[H_AT / 4 + i], i * 4);
  return out;
}

/** Folds `n` blocks from `p` into H, spread over the copies (see BLOCKS_PER_COPY). */
function fold(e: Engine, p: number, n: number): void {
  const last = e.copies.length - 1;
  while (n > 0) {
    const copy = Math.min(Math.floor(e.folded / BLOCKS_PER_COPY), last);
    const k = copy < last ? Math.min(n, (copy + 1) * BLOCKS_PER_COPY - e.folded) : n;
    e.copies[copy](p, k);
    p += k * 64;
    n -= k;
    e.folded += k;
  }
}

const bytesOf = (data: Uint8Array | string): Uint8Array => (typeof data === 'string' ? Buffer.from(data) : data);

/** SHA-256 of `data` (a string as UTF-8), hex. */
export function sha256Hex(data: Uint8Array | string): string {
  const d = bytesOf(data);
  const e = d.length <= WASM_MAX_BYTES ? wasm() : null;
  if (e) return wasmDigest(e, [d]).toString('hex');
  return original.crypto().createHash('sha256').update(d).digest('hex');
}

/** HMAC-SHA-256 of `data` under `key` (RFC 2104), hex. */
export function hmacSha256Hex(key: Uint8Array, data: Uint8Array): string {
  const e = data.length <= WASM_MAX_BYTES && key.length <= WASM_MAX_BYTES ? wasm() : null;
  if (!e) return original.crypto().createHmac('sha256', key).update(data).digest('hex');
  const block = Buffer.alloc(64);
  block.set(key.length > 64 ? wasmDigest(e, [key]) : key);
  const inner = block.map((b) => b ^ 0x36);
  const outer = block.map((b) => b ^ 0x5c);
  return wasmDigest(e, [outer, wasmDigest(e, [inner, data])]).toString('hex');
}

/** Which way this thread hashes: 'wasm', or 'node' where WebAssembly is not available (tests). */
export const digestPath = (): 'wasm' | 'node' => (wasm() ? 'wasm' : 'node');
