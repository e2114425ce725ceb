// Recording's hot paths: the fast packer's shortcuts store what msgpackr would, the
// monotonic clock reads exact nanoseconds, the objects those paths read keep V8's fast
// properties (as do Node's modules the program reads), and the file content store (a key's
// first content kept as its length only) still stores unchanged re-reads once while
// replaying changed ones byte for byte.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { RecordSession } from '../src/session/record.js';
import { ContentStore, SAME } from '../src/sources/fs/content.js';
import { pack, unpack } from '../src/trace/codec.js';
import { FastPacker } from '../src/trace/fastpack.js';
import type { TraceHeader } from '../src/trace/format.js';
import {
  ROOT,
  NODE,
  cleanupTempDirs,
  describeRun,
  expectReplayMatches,
  logsOf,
  recordAndReplay,
  replay,
  rewind,
  run,
  tempDir,
} from './helpers.js';

afterAll(cleanupTempDirs);

describe('the fast packer', () => {
  it("writes a read's bytes and a stat's values (plain Uint8Arrays, views of other memory) as msgpackr does", () => {
    const stat = new Float64Array([1, 2.5, 1_790_000_000_000, -4]);
    const values = [
      [600, new Uint8Array(600).map((_, i) => i * 7)],
      new Uint8Array(stat.buffer, 8, 24),
      [null, 3, new Uint8Array(0)],
      { n: 70_000, bytes: new Uint8Array(70_000).fill(9) },
    ];
    for (const v of values) {
      const f = new FastPacker();
      expect(f.raw(v), 'gave up on the fast path').toBe(true);
      // Read back as msgpackr's own packing of it is (bin: Buffers of the same bytes).
      expect(unpack(f.buf.subarray(0, f.pos))).toEqual(unpack(pack(v)));
      if (!(v instanceof Uint8Array) && Array.isArray(v))
        expect(Buffer.from(f.buf.subarray(0, f.pos))).toEqual(pack(v));
    }
  });
});

describe('the fast packer: strings', () => {
  it('writes ASCII strings of every length class as msgpackr does, and gives up on any other text', () => {
    for (const n of [0, 1, 11, 12, 13, 31, 32, 33, 255, 256, 65_535, 65_536]) {
      const s = 'abcdefghijklmnopqrstuvwxyz0123456789/._-'.repeat(Math.ceil(n / 40) + 1).slice(0, n);
      const f = new FastPacker();
      expect(f.value(['sync', s, 0]), `length ${n}`).toBe(true);
      expect(Buffer.from(f.buf.subarray(0, f.pos)), `length ${n}`).toEqual(pack(['sync', s, 0]));
      expect(Buffer.from(f.bytes(0, f.pos))).toEqual(Buffer.from(f.buf.subarray(0, f.pos)));
    }
    // Below 32 characters a regular expression decides, from 32 the string's UTF-8 length:
    // non-ASCII text of either kind, at both sides of that line and far past it.
    for (const s of [
      'é',
      'caf\u00e9 au lait, s\u2019il vous pla\u00eet',
      '/tmp/\ud83d\ude00.txt',
      'x'.repeat(30) + '\u00ff',
      'x'.repeat(31) + '\u00ff',
      'x'.repeat(40) + '\u0080',
      '\u00ff'.repeat(64),
      'x'.repeat(1000) + '\u00e9' + 'x'.repeat(1000),
      'x'.repeat(100) + '\ud800',
      '\udc00' + 'x'.repeat(100),
      'x'.repeat(50) + '\u2028' + 'x'.repeat(50),
    ]) {
      expect(new FastPacker().value([s]), JSON.stringify(s.slice(0, 40))).toBe(false);
    }
  });

  it('writes any string as msgpackr does, or gives up on it (property)', () => {
    // Mostly ASCII, with now and then a character from anywhere in UTF-16 (a lone surrogate
    // too), at lengths on both sides of each check.
    const char = fc.oneof(
      { weight: 30, arbitrary: fc.integer({ min: 0, max: 0x7f }) },
      { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xffff }) },
    );
    const text = fc.array(char, { maxLength: 300, size: 'max' }).map((codes) => String.fromCharCode(...codes));
    fc.assert(
      fc.property(text, (s) => {
        const f = new FastPacker();
        const ascii = !/[^\u0000-\u007f]/.test(s); // ASCII: 0 to 127
        expect(f.value(['sync', s, 0])).toBe(ascii);
        if (ascii) expect(Buffer.from(f.buf.subarray(0, f.pos))).toEqual(pack(['sync', s, 0]));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('the monotonic clock', () => {
  it('reads the exact nanoseconds since the session base that a hrtime.bigint difference gives', () => {
    const header = { startWall: Date.now(), monoBase: process.hrtime() } as unknown as TraceHeader;
    const s = new RecordSession(path.join(tempDir(), 'clock.rwnd'), header);
    try {
      const base = BigInt(header.monoBase[0]) * 1_000_000_000n + BigInt(header.monoBase[1]);
      const wrong: string[] = [];
      let last = 0;
      for (let i = 0; i < 10_000; i++) {
        const before = Number(process.hrtime.bigint() - base);
        const ns = s.monoNow();
        const after = Number(process.hrtime.bigint() - base);
        if (!Number.isInteger(ns) || ns < before || ns > after || ns < last)
          wrong.push(`${before} <= ${ns} <= ${after}`);
        last = ns;
      }
      expect(wrong).toEqual([]);
      expect(last).toBeGreaterThan(0);
    } finally {
      s.close();
    }
  });
});

describe('objects on hot paths', () => {
  // V8 looks up properties of a dictionary-mode object by hash, in optimized code too: a
  // dictionary on a per-call path costs every call (bench 1: ~14 ns per loop iteration).
  const FAST = "const fast = new Function('o', 'return %HasFastProperties(o)');";

  it('keep fast properties: the recorded Date (main realm and a vm context), in both runs', async () => {
    const cwd = tempDir();
    const program = path.join(cwd, 'fast.js');
    fs.writeFileSync(
      program,
      `${FAST}\nconst vm = require('node:vm');\n` +
        "console.log(JSON.stringify({ Date: fast(Date), contextDate: fast(vm.runInNewContext('Date')), now: Date.now() > 0 }));\n",
    );
    const out = path.join(tempDir(), 'rec');
    const rec = await rewind(['record', '--out', out, '--', NODE, '--allow-natives-syntax', program], { cwd });
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(JSON.parse(rec.stdout.toString())).toEqual({ Date: true, contextDate: true, now: true });
    const rep = await replay(out);
    expect(rep.status, describeRun('replay', rep)).toBe(0);
    expect(rep.stdout.toString()).toBe(rec.stdout.toString());
  });

  it("leave Node's built-in modules as fast as in a plain run (rewind imports them lazily)", async () => {
    const cwd = tempDir();
    const program = path.join(cwd, 'modules.js');
    const modules = ['buffer', 'path', 'timers', 'url', 'util', 'vm', 'worker_threads', 'zlib', 'events', 'net'];
    fs.writeFileSync(
      program,
      `${FAST}\nconsole.log(${JSON.stringify(modules)}.map((m) => m + ':' + fast(require('node:' + m))).join(' '));\n`,
    );
    const plain = await run(NODE, ['--allow-natives-syntax', program], { cwd });
    expect(plain.status, describeRun('plain', plain)).toBe(0);
    expect(plain.stdout.toString()).toContain('timers:true'); // what the check below compares with
    const out = path.join(tempDir(), 'rec');
    const rec = await rewind(['record', '--out', out, '--', NODE, '--allow-natives-syntax', program], { cwd });
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stdout.toString()).toBe(plain.stdout.toString());
  });

  it("keep fast properties: rewind's captured originals (the clocks' and each turn's reads)", async () => {
    const originals = pathToFileURL(path.join(ROOT, 'dist', 'node', 'originals.js')).href;
    const r = await run(NODE, [
      '--allow-natives-syntax',
      '--input-type=module',
      '-e',
      `${FAST}\nimport { original } from '${originals}';\nconsole.log(fast(original), typeof original.dateNow);`,
    ]);
    expect(r.stdout.toString(), describeRun('node', r)).toBe('true function\n');
  });
});

describe("rewind's own hashing at start-up", () => {
  // The entry module's hash and the header's signature (session/digest.ts): Node 20's V8 tiers a
  // WebAssembly function up after ~27 blocks' worth of work, stopping the main thread ~1.1 ms,
  // which the module's copies of its block function spread over stay clear of. Replaying it
  // checks both again.
  it('stays in the WebAssembly baseline compiler, recording and replaying', async () => {
    const cwd = tempDir();
    const program = path.join(cwd, 'empty.js');
    fs.writeFileSync(program, '// nothing\n');
    const out = path.join(tempDir(), 'rec');
    const flags = ['--trace-wasm-compilation-times'];
    const rec = await rewind(['record', '--out', out, '--', NODE, ...flags, program], { cwd });
    expect(rec.status, describeRun('record', rec)).toBe(0);
    const compiled = (r: { stdout: Buffer }) => r.stdout.toString().match(/^Compiled function .* using \w+/gm) ?? [];
    expect(compiled(rec).length, describeRun('record', rec)).toBeGreaterThan(0); // what the check below counts
    expect(compiled(rec).filter((l) => !l.endsWith('using Liftoff'))).toEqual([]);
    const rep = await replay(out);
    expect(rep.status, describeRun('replay', rep)).toBe(0);
    expect(compiled(rep).filter((l) => !l.endsWith('using Liftoff'))).toEqual([]);
  });
});

describe('the file content store', () => {
  // Small limits, so that sequences of a few dozen reads forget keys (the oldest first), drop
  // content too large or past the total, and keep lengths only for keys read once.
  const limits = { maxRemembered: 40, maxTotal: 100, maxKeys: 4 };
  const content = fc.oneof(
    fc.constantFrom('', 'a', 'abc', 'x'.repeat(30), 'y'.repeat(50)),
    fc.constantFrom(0, 3, 30, 50).map((n) => new Uint8Array(n).fill(n)),
  );
  const reads = fc.array(fc.tuple(fc.constantFrom('k0', 'k1', 'k2', 'k3', 'k4', 'k5', null), content), {
    maxLength: 80,
  });

  it('hands back at replay every content the recording stored, SAME or whole, whatever it forgot', () => {
    fc.assert(
      fc.property(reads, (seq) => {
        const recording = new ContentStore(limits);
        const replay = new ContentStore(limits);
        for (const [key, v] of seq) {
          const stored = recording.store(key, v);
          const back = replay.load(key, stored);
          expect(back).toEqual(v);
          expect(recording.size).toBeLessThanOrEqual(limits.maxKeys);
          expect(replay.size).toBe(recording.size);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps and forgets exactly what the Map-ordered store before it did (recordings made by it still replay)', () => {
    // Keys dropped for size and read again, forgotten while dropped, and more keys than the bound.
    const longer = fc.array(fc.tuple(fc.constantFrom('k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', null), content), {
      minLength: 40,
      maxLength: 200,
      size: 'medium',
    });
    fc.assert(
      fc.property(longer, (seq) => {
        const store = new ContentStore(limits);
        const before = new MapOrderedStore(limits);
        for (const [key, v] of seq) {
          expect(store.store(key, v)).toBe(before.store(key, v));
          expect(store.size).toBe(before.size);
          // Its queue of keys stays bounded, however often keys are dropped and kept again.
          expect(store['order'].length).toBeLessThanOrEqual(2 * limits.maxKeys + 1);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('stores an unchanged third read as SAME, and forgets the oldest key past the bound', () => {
    const s = new ContentStore(limits);
    expect(s.store('a', 'abc')).toBe('abc'); // its length only
    expect(s.store('a', 'abc')).toBe('abc'); // kept now
    expect(s.store('a', 'abc')).toBe(SAME);
    for (const k of ['b', 'c', 'd']) s.store(k, 'z');
    expect(s.store('a', 'abc')).toBe(SAME); // 4 keys: still kept
    s.store('e', 'z'); // a fifth key: the oldest ('a') goes
    expect(s.size).toBe(4);
    expect(s.store('a', 'abc')).toBe('abc');
  });
});

describe('file contents read again', { timeout: 60_000 }, () => {
  it('replay byte for byte while the file changes (same length, other length, back), stored once when unchanged', async ({
    expect,
  }) => {
    const r = await recordAndReplay('fs-reread.cjs');
    expectReplayMatches(expect, r);
    expect(r.record.status).toBe(0);
    const printed = r.record.stdout.toString();
    expect(printed.split('\n').length).toBe(65);
    expect(new Set(printed.match(/^\d+ \w+/gm)!.map((l) => l.split(' ')[1])).size).toBe(3); // a, a', c (then a again)
    // 32 rounds, each reading 40-44 KB twice (bytes, text), in 4 runs of 8 unchanged rounds.
    // Stored every time, that is 64 reads of ~20 KB once compressed (1.3 MB); stored whole
    // twice per run and "the same" after, 16 (~330 KB).
    const [log] = logsOf(r.record.dir);
    expect(fs.statSync(log).size).toBeLessThan(500_000);
    expect(fs.statSync(log).size).toBeGreaterThan(200_000);
  });
});

/** The content store as it was until December 2026: the oldest key taken from the Map's own order. */
class MapOrderedStore {
  private readonly last = new Map<string, string | Uint8Array | number>();
  private total = 0;
  constructor(private readonly limits: { maxRemembered: number; maxTotal: number; maxKeys: number }) {}
  get size(): number {
    return this.last.size;
  }
  store(key: string | null, v: string | Uint8Array): string | Uint8Array | typeof SAME {
    if (key === null) return v;
    const old = this.last.get(key);
    const size = (x: unknown): number => (x === undefined || typeof x === 'number' ? 0 : (x as Uint8Array).length);
    if (
      old !== undefined &&
      typeof old !== 'number' &&
      typeof old === typeof v &&
      Buffer.compare(Buffer.from(old), Buffer.from(v)) === 0
    )
      return SAME;
    this.total -= size(old);
    if (v.length > this.limits.maxRemembered || this.total + v.length > this.limits.maxTotal) {
      this.last.delete(key);
      return v;
    }
    if (old === undefined) {
      if (this.last.size >= this.limits.maxKeys) {
        const oldest = this.last.keys().next().value!;
        this.total -= size(this.last.get(oldest));
        this.last.delete(oldest);
      }
      this.last.set(key, v.length);
    } else if (typeof old === 'number' && old !== v.length) this.last.set(key, v.length);
    else {
      this.last.set(key, typeof v === 'string' ? v : v.slice());
      this.total += v.length;
    }
    return v;
  }
}
