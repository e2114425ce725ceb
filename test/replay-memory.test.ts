// A replay keeps the first 64 MiB of a log's events in memory and reads the rest again from
// the file as it reaches it (src/trace/reader.ts restOf, src/session/replay-log.ts more()):
// the same events either way, and a large log's replay no longer holds all of it.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TraceReader, type TraceEvent } from '../src/trace/reader.js';
import {
  BIN,
  NODE,
  ROOT,
  cleanupTempDirs,
  describeRun,
  expectReplayMatches,
  logsOf,
  record,
  replay,
  rewind,
  run,
  tempDir,
} from './helpers.js';

afterAll(cleanupTempDirs);

const BIG = path.join(ROOT, 'bench', 'programs', 'big.js');
/** Each event as JSON. */
function plain(events: Iterable<TraceEvent>): string[] {
  const out: string[] = [];
  for (const e of events) out.push(JSON.stringify(e));
  return out;
}

/** Records bench/programs/big.js writing about `mb` MB of incompressible events. */
async function recordBig(mb: number) {
  const dir = path.join(tempDir(), 'rec');
  const r = await rewind(['record', '--out', dir, '--', NODE, BIG, String(mb)], { timeoutMs: 60_000 });
  expect(r.status, describeRun('record', r)).toBe(0);
  return { dir, log: logsOf(dir)[0], stdout: r.stdout.toString() };
}

describe('the events a replay does not keep in memory', () => {
  it('are read again from the file, the same events, also when the log is cut off inside its last chunk', async () => {
    const { log } = await recordBig(2);
    const all = TraceReader.open(log, { keepBytes: Infinity });
    expect(all.stream, 'a 2 MB log is kept whole by default').toBeUndefined();
    const some = TraceReader.open(log, { keepBytes: 300_000 });
    expect(some.stream).toBeDefined();
    expect(some.body.length).toBeLessThanOrEqual(300_000);
    expect(some.eventCount).toBe(all.eventCount);
    expect(plain(TraceReader.events(some))).toEqual(plain(TraceReader.events(all)));
    const none = TraceReader.open(log, { streamed: true });
    expect(none.body.length).toBe(0);
    expect(plain(TraceReader.events(none))).toEqual(plain(TraceReader.events(all)));

    // A process killed mid-write: the file ends inside a chunk that is not kept.
    const cut = path.join(tempDir(), 'cut.rwnd');
    fs.copyFileSync(log, cut);
    fs.truncateSync(cut, Math.floor(fs.statSync(log).size * 0.8));
    const cutAll = TraceReader.open(cut, { keepBytes: Infinity });
    const cutSome = TraceReader.open(cut, { keepBytes: 300_000 });
    expect(cutAll.truncated).not.toBeNull();
    expect(cutSome.stream?.tailEnd).not.toBeNull();
    expect(cutSome.eventCount).toBe(cutAll.eventCount);
    expect(plain(TraceReader.events(cutSome))).toEqual(plain(TraceReader.events(cutAll)));
  }, 60_000);

  it('replay byte for byte when none is kept (every chunk read again as the replay goes)', async () => {
    const env = { REWIND_KEEP_BYTES: '0' };
    for (const name of ['timers-many.cjs', 'fs-sync.cjs', 'io/tcp-echo.cjs', 'outputs.cjs']) {
      const rec = await record(name);
      const rep = await replay(rec.dir, { env });
      expectReplayMatches(expect, { record: rec, replay: rep });
    }
  }, 120_000);

  it.skipIf(!fs.existsSync('/usr/bin/time'))(
    "a replay's memory does not grow with the log beyond what it keeps",
    async () => {
      // 128 MB of random bytes: a log compression cannot shrink.
      const { dir, stdout } = await recordBig(128);
      const peakKb = async (keep: string) => {
        const stats = path.join(tempDir(), 'time');
        const p = await run('/usr/bin/time', ['-f', '%M', '-o', stats, NODE, BIN, 'replay', dir], {
          env: { REWIND_KEEP_BYTES: keep },
          timeoutMs: 60_000,
        });
        expect(p.status, describeRun('replay', p)).toBe(0);
        expect(p.stdout.toString()).toBe(stdout);
        return Number(fs.readFileSync(stats, 'utf8').trim().split(/\s+/).pop());
      };
      const whole = await peakKb(String(1 << 30));
      const streamed = await peakKb('0');
      // The whole log's 128 MB of events are in memory when kept, never when streamed; what a
      // streamed replay reads is garbage at once, but Node 24 and 26 collect it later. Peak RSS
      // kept / streamed, MB: Node 20 208 / 102, 22 213 / 101, 24 252–272 / 174–189, 26 267 / 173.
      // (At 48 MB, Node 24's difference was 6–16 MB: CI once fell under an 8 MB bar.)
      expect(whole - streamed, `peak RSS kept ${whole} KB, streamed ${streamed} KB`).toBeGreaterThan(40_000);
    },
    120_000,
  );
});
