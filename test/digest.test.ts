// rewind's own SHA-256 and HMAC (src/session/digest.ts): a WebAssembly module assembled from
// src/session/sha256.wat, so that no recorded process loads node:crypto for rewind's sake.
// Its digests must be node:crypto's exactly: the header's entry hash and signature are
// checked by other processes (a replay, `rewind info`), which may compute them either way.
import { createHash, createHmac } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { digestPath, hmacSha256Hex, sha256Hex } from '../src/session/digest.js';
import { SHA256_WASM } from '../src/session/sha256-wasm.js';
import { assemble, typescriptOf } from '../scripts/sha256-wasm.mjs';
import { NODE, run } from './helpers.js';

const nodeSha = (d: Uint8Array) => createHash('sha256').update(d).digest('hex');
const nodeHmac = (k: Uint8Array, d: Uint8Array) => createHmac('sha256', k).update(d).digest('hex');

describe('SHA-256 without node:crypto', () => {
  it('is computed by the WebAssembly module here', () => {
    expect(digestPath()).toBe('wasm');
  });

  it("the standard's test vectors", () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it("every length across the padding's edges, up to the largest it hashes, gives node:crypto's digest", () => {
    const data = Buffer.alloc(64 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 131 + (i >> 8)) & 0xff;
    // One block or two for the padding (55, 56 bytes over a block); the last size WebAssembly hashes.
    for (const n of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000, 65_535, 65_536])
      expect(sha256Hex(data.subarray(0, n)), `${n} bytes`).toBe(nodeSha(data.subarray(0, n)));
    expect(hmacSha256Hex(Buffer.alloc(32, 1), data)).toBe(nodeHmac(Buffer.alloc(32, 1), data));
  });

  it('any bytes: the same digest as node:crypto (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), (d) => sha256Hex(d) === nodeSha(d)),
      { numRuns: 500 },
    );
  });

  it('strings are hashed as UTF-8', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => sha256Hex(s) === nodeSha(Buffer.from(s))),
      { numRuns: 200 },
    );
  });

  it('inputs above 64 KiB go to node:crypto, with the same digest', () => {
    const big = Buffer.alloc(64 * 1024 + 1, 7);
    expect(sha256Hex(big)).toBe(nodeSha(big));
    expect(hmacSha256Hex(Buffer.from('k'), big)).toBe(nodeHmac(Buffer.from('k'), big));
  });

  it('HMAC: RFC 4231 vectors, and node:crypto digest for any key and message', () => {
    // Test cases 2 and 6 of RFC 4231 (a short key; a key longer than a block).
    expect(hmacSha256Hex(Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?'))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    expect(
      hmacSha256Hex(Buffer.alloc(131, 0xaa), Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First')),
    ).toBe('60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54');
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.uint8Array({ maxLength: 2000 }),
        (k, d) => hmacSha256Hex(k, d) === nodeHmac(k, d),
      ),
      { numRuns: 300 },
    );
  });

  it('the embedded module is sha256.wat as assembled now (run scripts/sha256-wasm.mjs after editing it)', async () => {
    const bytes = await assemble();
    expect(Buffer.from(SHA256_WASM, 'base64').equals(bytes)).toBe(true);
    const file = path.join(import.meta.dirname, '..', 'src', 'session', 'sha256-wasm.ts');
    expect(fs.readFileSync(file, 'utf8')).toBe(typescriptOf(bytes));
  });
});

describe('where WebAssembly is not available', () => {
  it('node --jitless: node:crypto hashes, with the same digests', async () => {
    const digest = path.join(import.meta.dirname, '..', 'dist', 'session', 'digest.js');
    const code = `const d = await import(${JSON.stringify(digest)}); console.log(d.digestPath(), d.sha256Hex('abc'), d.hmacSha256Hex(Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?')))`;
    const r = await run(NODE, ['--jitless', '--input-type=module', '-e', code]);
    expect(r.stdout.toString()).toBe(
      'node ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad 5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843\n',
    );
  });
});
