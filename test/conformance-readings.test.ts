// Record→replay conformance for readings Node takes itself: the process's and V8's
// (memory, CPU time, resource usage, umask, credentials, heap), perf_hooks' (marks and
// measures, entries Node times, observers, event loop utilization and delay, nodeTiming),
// and node:test's durations in the process that runs `node --test` (its runner captured
// the clock before the preload).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import {
  cleanupTempDirs,
  describeRun,
  eventsOf,
  expectReplayMatches,
  NODE,
  record,
  recordAndReplay,
  replay,
  rewind,
  runPlain,
  sleep,
  tempDir,
  type Recorded,
} from './helpers.js';

afterAll(cleanupTempDirs);

describe.concurrent('record → replay: readings', () => {
  it('readings.cjs: process, V8 and perf_hooks readings', async ({ expect }) => {
    const plain = runPlain('readings.cjs');
    const r = await recordAndReplay('readings.cjs', [], { gapMs: 20 });
    expect(r.record.status, describeRun('record', r.record)).toBe(0);
    const out = r.record.stdout.toString('utf8');
    const line = (label: string) =>
      JSON.parse(new RegExp(`^${label.replace(/[.()[\]{}]/g, '\\$&')} (.*)$`, 'm').exec(out)![1]);
    expect(line('memoryUsage').rss).toBeGreaterThan(0);
    expect(line('cpuUsage(prev)').user).toBeGreaterThanOrEqual(0);
    expect(line('resourceUsage').maxRSS).toBeGreaterThan(0);
    expect(line('heap').used_heap_size).toBeGreaterThan(0);
    expect(line('mark')[1]).toEqual({ step: 1 });
    // The measures span the 30 ms timer: taken on the session's clock, not perf_hooks' own.
    expect(line('measure(name, start)')).toBeGreaterThanOrEqual(29);
    const observed = line('observed') as (string | [string, string, number, number])[];
    expect(observed.filter((o) => typeof o === 'string')).toHaveLength(1); // the function entry's JSON
    expect(
      (observed.filter((o) => typeof o !== 'string') as [string, string, number, number][])
        .map(([type, name]) => `${type} ${name}`)
        .sort(),
    ).toEqual(
      [
        'mark start',
        'mark end',
        'function work',
        'measure from origin',
        'measure since start',
        'measure start to end',
        'measure opts',
      ].sort(),
    );
    expect(line('eventLoopDelay')[4]).toBeGreaterThan(0);
    expectReplayMatches(expect, r);
    const p = await plain;
    expect(p.status, describeRun('plain', p)).toBe(0);
    expect(p.stdout.equals(r.record.stdout)).toBe(false);
  });

  it('perf-gc.cjs: a PerformanceObserver of garbage collections sees the recorded ones (V8 collects elsewhere at replay)', async ({
    expect,
  }) => {
    // Found with OpenTelemetry's runtime metrics on Node 24: Node read each collection's
    // times as V8 collected, which was logged there, and at replay no collection came.
    // With node:http first, perf_hooks' observer module loads with it, before perf_hooks:
    // both orders must leave Node's delivery immediate its own (captured-clocks.ts).
    for (const args of [[], ['http']]) {
      const rec = await record('perf-gc.cjs', args);
      expect(rec.status, describeRun('record', rec)).toBe(0);
      const out = rec.stdout.toString();
      expect(out).toMatch(/^\d+ deliveries, [1-9]\d* collections\n(gc\/\d+\/\d+\.\d{3}\/true\n)+"ok"\n$/);
      expect(rec.stderr.toString()).not.toMatch(/PerformanceObserver/);
      for (let i = 0; i < 3; i++) expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
    }
  });

  it('perf-late.cjs: perf_hooks loads when the program first uses it, not at start; its clock bases are read then, and replay', async ({
    expect,
  }) => {
    for (const args of [[], ['http']]) {
      const r = await recordAndReplay('perf-late.cjs', args);
      expect(r.record.status, describeRun('record', r.record)).toBe(0);
      const out = r.record.stdout.toString();
      expect(out).toMatch(/^perf_hooks at start false\nsame object true loaded true\n/);
      expect(out).toMatch(/^now after first true origin and now near Date\.now\(\) true$/m);
      expect(out).toMatch(/^observed \["mark a true","measure a to b true","mark b true"\]$/m);
      expectReplayMatches(expect, r);
      // The bases are one reading, taken in the timer's turn where the program first used perf_hooks.
      const events = await eventsOf(r.record.dir);
      const origin = events.findIndex((e) => e.api === 'perf.origin');
      expect(events.filter((e) => e.api === 'perf.origin')).toHaveLength(1);
      expect(events.findIndex((e) => e.detail.startsWith('setTimeout callback'))).toBeLessThan(origin);
      expect(events.findIndex((e) => e.call === 'performance.now()')).toBeGreaterThan(origin);
    }
  });

  it('perf-entry-json.cjs: toJSON and util.inspect of an entry Node timed, its times read by nothing else first, show the recorded times', async ({
    expect,
  }) => {
    const rec = await record('perf-entry-json.cjs');
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stdout.toString()).toMatch(
      /^\{"name":"alone","entryType":"function","startTime":\d+\.\d+,"duration":\d+\.\d+,"detail":\[\]\}\nPerformanceNodeEntry \{.*startTime: \d+\.\d+,/,
    );
    expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
  });

  it('uninitialized.cjs: Buffer.allocUnsafe(Slow) memory is zero-filled in both runs, so what leaks of it replays', async ({
    expect,
  }) => {
    const r = await recordAndReplay('uninitialized.cjs');
    expect(r.record.status, describeRun('record', r.record)).toBe(0);
    const zeros = (n: number) => '0'.repeat(n);
    const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
    expect(r.record.stdout.toString()).toBe(
      `${sha1('head' + zeros(4092).replace(/0/g, '\0'))} ${sha1('pooled' + zeros(194).replace(/0/g, '\0'))}\ntrue true\n`,
    );
    expectReplayMatches(expect, r);
  });

  it('process-report.cjs: getReport() replays its reading; writeReport() writes no file at replay, and its stderr lines replay', async ({
    expect,
  }) => {
    const out = tempDir('rewind-report-');
    const asked = path.join(out, 'asked.json');
    const rec = await record('process-report.cjs', [out]);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(fs.existsSync(asked)).toBe(true);
    expect(rec.stderr.toString()).toBe(`\nWriting Node.js report to file: ${asked}\nNode.js report completed\n`);
    fs.rmSync(asked);
    expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
    expect(fs.readdirSync(out)).toEqual([]);
  });

  it('a report Node writes by itself (--report-uncaught-exception) is named when recording, and not written at replay', async ({
    expect,
  }) => {
    const out = tempDir('rewind-report-');
    const dir = path.join(tempDir('rewind-rec-'), 'rec');
    const args = [
      '--report-uncaught-exception',
      `--report-directory=${out}`,
      '-e',
      'setTimeout(() => { throw new Error("boom") }, 1)',
    ];
    const rec = await rewind(['record', '--out', dir, '--', NODE, ...args], { cwd: tempDir() });
    expect(rec.status, describeRun('record', rec)).toBe(1);
    expect(rec.stderr.toString()).toMatch(
      /rewind: warning: process\.report\.reportOnUncaughtException is not recorded/,
    );
    expect(fs.readdirSync(out).filter((f) => f.startsWith('report.'))).toHaveLength(1);
    fs.rmSync(out, { recursive: true, force: true });
    fs.mkdirSync(out);
    const rep = await replay(dir);
    expect(rep.status, describeRun('replay', rep)).toBe(1);
    expect(rep.stderr.toString()).toMatch(/Error: boom/);
    expect(fs.readdirSync(out)).toEqual([]);
  });
});

describe.concurrent('record → replay: node --test, the runner process', () => {
  const FILES: Record<string, string> = {
    // What a test file's process did outside: the runner's replays must not start one for real.
    'a.test.js': "require('node:fs').appendFileSync('ran.log', 'a\\n'); require('node:test')('t', () => {})\n",
    'b.test.js': [
      "const test = require('node:test');",
      "test('waits', async (t) => { await t.test('inner', () => new Promise((r) => setTimeout(r, 15))); });",
      "test('fails', () => { require('node:assert').strictEqual(1 + 1, 3); });",
      '',
    ].join('\n'),
  };

  for (const reporter of ['tap', 'spec']) {
    it(`rewind record -- node --test (--test-reporter=${reporter}): the runner's durations replay`, async ({
      expect,
    }) => {
      const dir = tempDir('rewind-nodetest-');
      for (const [name, text] of Object.entries(FILES)) fs.writeFileSync(path.join(dir, name), text);
      const out = path.join(tempDir('rewind-rec-'), 'rec');
      const rec: Recorded = {
        ...(await rewind(['record', '--out', out, '--', NODE, '--test', `--test-reporter=${reporter}`], { cwd: dir })),
        dir: out,
      };
      expect(rec.status, describeRun('record', rec)).toBe(1);
      expect(rec.stdout.toString('utf8')).toMatch(/duration_ms \d/);
      await sleep(20);
      // The runner's process (the root), not the failing child rewind replay picks by itself.
      const ps = await rewind(['ps', out, '--json']);
      const root = ps.stdout
        .toString()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { pid: number; argv: string[] })
        .find((p) => p.argv.length === 1);
      expect(root, ps.stdout.toString()).toBeDefined();
      const rep = await rewind(['replay', out, '-p', String(root!.pid)], { cwd: tempDir() });
      expectReplayMatches(expect, { record: rec, replay: rep });
      if (reporter !== 'tap') return;
      // Under a debugger too: stopped halfway and at its last event, with the output up to there.
      const ran = fs.readFileSync(path.join(dir, 'ran.log'), 'utf8');
      expect(ran).toBe('a\n');
      const events = await rewind(['events', out, '-p', String(root!.pid)], { cwd: tempDir() });
      expect(events.status, describeRun('events', events)).toBe(0);
      const listed = events.stdout
        .toString()
        .split('\n')
        .filter((l) => /^\s*\d+ /.test(l));
      // Listed after a replay that found their call sites (here all in Node's runner, so none shown).
      expect(events.stderr.toString()).toBe('');
      const last = listed.length;
      for (const n of [Math.ceil(last / 2), last]) {
        const stop = await rewind(['replay', out, '-p', String(root!.pid), '--until', String(n)], { cwd: tempDir() });
        expect(stop.status, describeRun(`replay --until ${n}`, stop)).toBe(0);
        expect(stop.stderr.toString()).toMatch(new RegExp(`rewind: stopped (inside|before) event ${n} of ${last}`));
        expect(rec.stdout.toString().startsWith(stop.stdout.toString()), 'a prefix of the recorded output').toBe(true);
      }
      // No test file ran again: the runner's children come from the log.
      expect(fs.readFileSync(path.join(dir, 'ran.log'), 'utf8')).toBe(ran);
    });
  }
});
