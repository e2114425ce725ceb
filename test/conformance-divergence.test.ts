// Divergence: a replay whose program asks for something else than the log holds stops at
// the first mismatch (exit 70, `rewind: divergence at event N`), and a replay of an edited
// entry module is refused (exit 65) unless --force.
//
// The fixture diverge.cjs loads a JSON config with require(), which rewind does not record
// (module loading is not an input): editing that file between record and replay changes
// what the program does without changing the program itself (its hash is checked).
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import {
  cleanupTempDirs,
  describeRun,
  eventsOf,
  expectReplayMatches,
  fixture,
  record,
  replay,
  tempDir,
  type EventJson,
  type Expect,
  type Recorded,
  type RunResult,
} from './helpers.js';

afterAll(cleanupTempDirs);

interface Config {
  dates: number;
  perf?: number;
  bytes: number;
  timer: 'timeout' | 'immediate';
  end: string;
}
const BASE: Config = { dates: 2, bytes: 8, timer: 'timeout', end: 'done' };

async function recordWithData(cfg: Config): Promise<{ rec: Recorded; data: string; events: EventJson[] }> {
  const data = path.join(tempDir('rewind-data-'), 'config.json');
  fs.writeFileSync(data, JSON.stringify(cfg));
  const rec = await record('diverge.cjs', [data]);
  if (rec.status !== 0) throw new Error(describeRun('record', rec));
  return { rec, data, events: await eventsOf(rec.dir) };
}

/** The replay stopped at event `n` with a divergence report, after printing a prefix of the recorded output. */
function expectDivergence(expect: Expect, rec: Recorded, rep: RunResult, n: number, did: RegExp): void {
  const ctx = `\n${describeRun('record', rec)}\n${describeRun('replay', rep)}`;
  expect(rep.status, `expected exit 70${ctx}`).toBe(70);
  expect(rep.signal).toBe(null);
  const err = rep.stderr.toString('utf8');
  expect(err.startsWith('rewind: divergence at event '), ctx).toBe(true);
  expect(Number(/^rewind: divergence at event (\d+)/.exec(err)![1]), ctx).toBe(n);
  expect(err, ctx).toMatch(did);
  // Everything written before the divergence matched the recording.
  const out = rep.stdout;
  expect(out.length).toBeLessThan(rec.stdout.length);
  expect(
    rec.stdout.subarray(0, out.length).equals(out),
    `the replay's stdout is not a prefix of the recording's${ctx}`,
  ).toBe(true);
}

describe.concurrent('divergence', () => {
  it('control: the unchanged data file replays exactly', async ({ expect }) => {
    const { rec } = await recordWithData(BASE);
    expect(rec.stdout.toString('utf8')).toMatch(
      /^date 0 \d+\ndate 1 \d+\nbytes [0-9a-f]{16}\nfired timeout \d+\ndone\n$/,
    );
    const rep = await replay(rec.dir);
    expectReplayMatches(expect, { record: rec, replay: rep });
  });

  it('one more Date.now() call than recorded', async ({ expect }) => {
    const { rec, data, events } = await recordWithData(BASE);
    fs.writeFileSync(data, JSON.stringify({ ...BASE, dates: 3 }));
    const rep = await replay(rec.dir);
    // The third Date.now() meets the log's randomBytes record.
    const n = events.find((e) => e.kind === 'random')!.n;
    expectDivergence(expect, rec, rep, n, /Date\.now\(\)/);
  });

  it('one Date.now() call fewer than recorded', async ({ expect }) => {
    const { rec, data, events } = await recordWithData(BASE);
    fs.writeFileSync(data, JSON.stringify({ ...BASE, dates: 1 }));
    const rep = await replay(rec.dir);
    // After the first date line the log holds the second Date.now(); the program asks for random bytes.
    const n = events.filter((e) => e.kind === 'clock')[1].n;
    expectDivergence(expect, rec, rep, n, /randomBytes/);
  });

  it('one performance.now() call fewer: the report gives the reading the log holds, in ms', async ({ expect }) => {
    const { rec, data, events } = await recordWithData({ ...BASE, perf: 2 });
    fs.writeFileSync(data, JSON.stringify({ ...BASE, perf: 1 }));
    const rep = await replay(rec.dir);
    const n = events.filter((e) => e.kind === 'clock')[3].n; // two Date.now(), then the perf clock's
    // The value the recording printed, not "N ms in": the report knows the perf clock's bases
    // (the log's perf.origin reading).
    const second = /^perf 1 (\S+)$/m.exec(rec.stdout.toString('utf8'))![1];
    expectDivergence(expect, rec, rep, n, new RegExp(`performance\\.now\\(\\) → ${Number(second).toFixed(3)}`));
  });

  it('randomBytes of another size', async ({ expect }) => {
    const { rec, data, events } = await recordWithData(BASE);
    fs.writeFileSync(data, JSON.stringify({ ...BASE, bytes: 16 }));
    const rep = await replay(rec.dir);
    const n = events.find((e) => e.kind === 'random')!.n;
    expectDivergence(expect, rec, rep, n, /randomBytes/);
  });

  it('setImmediate where the recording had setTimeout', async ({ expect }) => {
    const { rec, data, events } = await recordWithData(BASE);
    fs.writeFileSync(data, JSON.stringify({ ...BASE, timer: 'immediate' }));
    const rep = await replay(rec.dir);
    const n = events.find((e) => e.kind === 'turn')!.n;
    expectDivergence(expect, rec, rep, n, /setImmediate/);
  });

  it('different output text', async ({ expect }) => {
    const { rec, data, events } = await recordWithData(BASE);
    fs.writeFileSync(data, JSON.stringify({ ...BASE, end: 'finished' }));
    const rep = await replay(rec.dir);
    const outputs = events.filter((e) => e.kind === 'output');
    const n = outputs[outputs.length - 1].n;
    expectDivergence(expect, rec, rep, n, /finished/);
  });
});

describe.concurrent('the entry module changed since it was recorded', () => {
  it('replay refuses it (65) with a message saying it changed; --force replays it', async ({ expect }) => {
    const dir = tempDir('rewind-entry-');
    const entry = path.join(dir, 'entry-edit.cjs');
    const original = fs.readFileSync(fixture('entry-edit.cjs'));
    fs.writeFileSync(entry, original);
    const rec = await record(entry);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stdout.toString('utf8')).toMatch(/^value \S+ \d+ [0-9a-f-]{36}\ndone \d+\n$/);

    // A comment only: the program behaves the same, but it is not the recorded file.
    fs.appendFileSync(entry, '// edited after recording\n');
    const refused = await replay(rec.dir);
    expect(refused.status, describeRun('replay', refused)).toBe(65);
    expect(refused.stdout.length, 'the changed program must not run').toBe(0);
    expect(refused.stderr.toString('utf8')).toMatch(/changed/);
    expect(refused.stderr.toString('utf8')).toContain('entry-edit.cjs');

    const forced = await replay(rec.dir, { flags: ['--force'] });
    expectReplayMatches(expect, { record: rec, replay: forced });

    // The original bytes again: accepted without --force.
    fs.writeFileSync(entry, original);
    const again = await replay(rec.dir);
    expectReplayMatches(expect, { record: rec, replay: again });
  });
});
