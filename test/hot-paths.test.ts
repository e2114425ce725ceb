// Recording's hot paths: chunks compressed on Node's thread pool hold the same events, in
// the same order, as chunks compressed at once, whatever the program does meanwhile (a
// flush while a chunk is being compressed, an exit or a crash right after one was handed
// over); and the programs replay byte for byte.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pack, unpack } from '../src/trace/codec.js';
import { FastPacker } from '../src/trace/fastpack.js';
import { TraceReader } from '../src/trace/reader.js';
import { TraceWriter } from '../src/trace/writer.js';
import { FORMAT_VERSION, Tag, type TraceHeader } from '../src/trace/format.js';
import { cleanupTempDirs, eventsOf, expectReplayMatches, logsOf, recordAndReplay, tempDir } from './helpers.js';

afterAll(cleanupTempDirs);

const START = 1_790_000_000_000;
const header = (): TraceHeader => {
  const tty = { isTTY: false };
  return {
    formatVersion: FORMAT_VERSION,
    rewindVersion: '0.1.0',
    nodeVersion: process.version,
    platform: 'linux',
    arch: 'x64',
    pid: 4242,
    ppid: 1,
    argv: ['/usr/bin/node', '/app/main.js'],
    execArgv: [],
    cwd: '/app',
    env: {},
    title: 'node',
    entry: { path: '/app/main.js', sha256: 'ab'.repeat(32) },
    startWall: START,
    monoBase: [1, 2],
    perfNowBase: 1,
    uptimeBase: 0,
    timeOrigin: START,
    randomSeed: [1, 2, 3, 4],
    stdio: { stdin: tty, stdout: tty, stderr: tty },
  };
};

const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

/** Writes the same events into a writer that compresses at once and one that uses the thread pool. */
async function writeBoth(dir: string, steps: (w: TraceWriter, i: number) => Promise<void> | void, n: number) {
  const logs = { sync: path.join(dir, 'sync.rwnd'), pool: path.join(dir, 'pool.rwnd') };
  const sync = new TraceWriter(logs.sync, header());
  const pool = new TraceWriter(logs.pool, header());
  pool.compressOffThread();
  for (let i = 0; i < n; i++) {
    await steps(sync, i);
    await steps(pool, i);
  }
  sync.close();
  pool.close();
  const events = (p: string) => JSON.stringify([...TraceReader.events(TraceReader.open(p))]);
  return { pool, sync: events(logs.sync), pooled: events(logs.pool), logs };
}

/** About 3 chunks' worth of varied clock readings and turns, the i-th batch. */
function batch(w: TraceWriter, i: number): void {
  for (let k = 0; k < 40_000; k++) {
    w.wall(Tag.DateNow, START + i * 1000 + (k >> 6));
    w.mono(Tag.PerfNow, i * 1e9 + k * 997 + ((k * k) % 5000));
    if (k % 100 === 0) w.turn(Tag.Timeout, 1 + (k % 7), i * 1e6 + k);
  }
}

describe('chunks compressed on the thread pool', { timeout: 60_000 }, () => {
  it('hold the same events as chunks compressed at once, when the loop turns between them', async () => {
    const r = await writeBoth(
      tempDir(),
      async (w, i) => {
        batch(w, i);
        await yieldToLoop();
        await yieldToLoop();
      },
      12,
    );
    expect(r.pooled).toBe(r.sync);
    expect(r.pool.chunksOffThread, 'no chunk was compressed on the thread pool').toBeGreaterThan(0);
    // Compressed as well (deflate's blocks may fall differently when it has all the room it needs at once).
    expect(fs.statSync(r.logs.pool).size).toBeLessThan(fs.statSync(r.logs.sync).size * 1.02);
  });

  it('and when flush() must write everything while a chunk is being compressed', async () => {
    let inFlight = 0;
    const r = await writeBoth(
      tempDir(),
      async (w, i) => {
        batch(w, i);
        // Handed over, so the thread pool is compressing it now; flush() then cannot wait for it.
        if (w.pending && i % 2 === 0) {
          w.flushSoon();
          if (w.pending) inFlight++;
          w.flush();
          expect(w.pending).toBe(false);
        }
        if (i % 3 === 0) await yieldToLoop();
      },
      12,
    );
    expect(inFlight, 'flush() never met a chunk still being compressed').toBeGreaterThan(0);
    expect(r.pooled).toBe(r.sync);
  });
});

describe('programs whose log fills while the event loop turns', { timeout: 120_000 }, () => {
  for (const how of ['end', 'exit', 'throw']) {
    it(`replay byte for byte, every event on disk (${how})`, async ({ expect }) => {
      const r = await recordAndReplay('log-chunks.mjs', [how]);
      expectReplayMatches(expect, r);
      expect(r.record.status).toBe(how === 'end' ? 0 : how === 'exit' ? 3 : 1);
      expect(r.record.stdout.toString()).toMatch(/^rounds 80 sum \d+\n$/);
      // 80 rounds of 4,000 clock readings: many chunks, the last ones handed over just before the end.
      const [log] = logsOf(r.record.dir);
      const events = await eventsOf(r.record.dir);
      expect(events.filter((e) => e.kind === 'clock').length).toBe(80 * 4000);
      expect(events.at(-1)?.kind).toBe('end');
      expect(fs.statSync(log).size).toBeGreaterThan(20_000);
    });
  }
});

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
