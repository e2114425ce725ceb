// Forced schedules (record --schedule) and `rewind analyze`: races built on purpose — each
// order forced, never left to luck — and analyze names the two events that raced (or the
// value that decided), the same answer for the same inputs.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BIN,
  NODE,
  READ_FILE_FIRST_API,
  cleanupTempDirs,
  describeRun,
  fixture,
  record,
  replay,
  rewind,
  start,
  tempDir,
  type Recorded,
} from './helpers.js';
import { deadlineTestBothOrders, forced, workerTimerBothOrders, moveBefore, turnsOf } from './schedules.js';

afterAll(cleanupTempDirs);

interface Analysis {
  kind: string;
  a?: { kind: string; detail: string; site?: string; op: number; k: number };
  b?: { kind: string; detail: string; site?: string; op: number; k: number };
  failure?: string;
  failingRun?: string;
  passingRun?: string;
  randomSeedDiffers?: boolean;
  candidates: number;
  note?: string;
  value?: unknown;
  trials?: { candidate: number; fails: number; runs: number }[];
}

async function analyze(failing: string, passing: string | null, cwd: string): Promise<Analysis> {
  const r = await rewind(['analyze', failing, ...(passing ? ['--passing', passing] : []), '--json'], {
    cwd,
    timeoutMs: 120_000,
  });
  expect(r.status, describeRun('analyze', r)).toBe(0);
  return JSON.parse(r.stdout.toString()) as Analysis;
}

/** What must not change from one analysis of the same inputs to the next. */
const answer = (x: Analysis) => ({
  kind: x.kind,
  a: x.a && { op: x.a.op, k: x.a.k, detail: x.a.detail, site: x.a.site },
  b: x.b && { op: x.b.op, k: x.b.k, detail: x.b.detail, site: x.b.site },
  failure: x.failure,
});

const siteLine = (site: string | undefined) => /:(\d+):\d+$/.exec(site ?? '')?.[1];

describe('record --schedule', () => {
  it('delivers turns in the order given (JSON, or another recording), says it followed it; it replays', async () => {
    const cwd = tempDir();
    const plain = await record('race/timer-file.cjs', ['2000'], { cwd });
    const turns = await turnsOf(plain.dir);
    const timer = turns.find((t) => t.call === 'setTimeout callback')!;
    const reads = turns.filter((t) => t !== timer);
    expect(reads.length, JSON.stringify(turns)).toBeGreaterThan(0);
    const fail = await forced('race/timer-file.cjs', ['30'], [timer, ...reads], cwd);
    expect(fail.status, describeRun('forced fail', fail)).toBe(1);
    expect(fail.stderr.toString()).toContain('deadline passed before the config was loaded');
    expect(fail.stderr.toString()).toContain('rewind: the run followed the schedule');
    expect((await turnsOf(fail.dir)).map((t) => `${t.op}.${t.k}`)).toEqual([`${timer.op}.0`]);
    expect((await rewind(['info', fail.dir])).stdout.toString()).toMatch(
      /^schedule +forced: \d+ turns in the order of /m,
    );
    const pass = await forced('race/timer-file.cjs', ['30'], [...reads, timer], cwd);
    expect(pass.status, describeRun('forced pass', pass)).toBe(0);
    // A recording is a schedule too: the failing one, followed again.
    const again = await forced('race/timer-file.cjs', ['30'], fail.dir, cwd);
    expect(again.status, describeRun('again', again)).toBe(1);
    for (const r of [fail, pass, again]) {
      const rep = await replay(r.dir);
      expect(rep.status, describeRun('replay', rep)).toBe(r.status);
      expect(rep.stdout.toString()).toBe(r.stdout.toString());
    }
  });

  it('a turn the live run never has is reported after the bounded hold, not waited for', async () => {
    const cwd = tempDir();
    const plain = await record('race/timer-file.cjs', ['2000'], { cwd });
    const turns = await turnsOf(plain.dir);
    const timer = turns.find((t) => t.call === 'setTimeout callback')!;
    // The timer's second firing never comes (it is no interval): everything after it waits, then goes.
    const ghost = { ...timer, k: 1 };
    const r = await forced('race/timer-file.cjs', ['30'], [ghost, ...turns], cwd);
    expect(r.timedOut).toBe(false);
    expect(r.stderr.toString()).toMatch(
      /the schedule could not be followed: turn \d+\.\d+ waited 1000 ms for turn \d+\.1/,
    );
    expect(r.status, describeRun('record', r)).toBe(0);
  });

  it("two timers of different delays Node fired a moment apart go in the order given; one delay, or far apart, keep Node's order", async () => {
    const cwd = tempDir();
    const run = async (mode: string) => {
      const plain = await record('race/timer-tie.cjs', [mode], { cwd });
      expect(plain.status, describeRun(`plain ${mode}`, plain)).toBe(0);
      expect(plain.stdout.toString()).toBe('ran: first, second\n');
      const [first, second] = (await turnsOf(plain.dir)).filter((t) => t.call === 'setTimeout callback');
      return forced('race/timer-tie.cjs', [mode], [second, first], cwd);
    };
    const [near, same, far] = await Promise.all(['near', 'same', 'far'].map(run));
    // 'near': a timing race (created a moment sooner, the second would fire first), so the target's order is followed.
    expect(near.status, describeRun('near', near)).toBe(1);
    expect(near.stdout.toString()).toBe('ran: second, first\n');
    expect(near.stderr.toString()).toContain('the second timer ran first');
    expect(near.stderr.toString()).toContain('rewind: the run followed the schedule');
    // One delay (the same timer list) or 40 ms apart: Node's order holds, and the schedule is reported as not followed.
    for (const r of [same, far]) {
      expect(r.status, describeRun('kept order', r)).toBe(0);
      expect(r.stdout.toString()).toBe('ran: first, second\n');
      expect(r.stderr.toString()).toMatch(/the schedule could not be followed/);
    }
    const rep = await replay(near.dir);
    expect(rep.status, describeRun('replay', rep)).toBe(1);
    expect(rep.stdout.toString()).toBe(near.stdout.toString());
  });

  it('a timer the program clears never fires: what the target puts after its firing does not wait for it', async () => {
    const cwd = tempDir();
    // Operations in creation order: 1 the long timer, 2 the stat, 3 the short timer (made in the stat's callback).
    const plain = await record('race/cleared-timer.cjs', [], { cwd });
    const turns = await turnsOf(plain.dir);
    const stat = turns.find((t) => t.api === 'fs.stat')!;
    const short = turns.find((t) => t.call === 'setTimeout callback')!;
    expect([stat.op, short.op], JSON.stringify(turns)).toEqual([2, 3]);
    // The stat, the long timer's firing (the stat clears it: it never comes), the short timer.
    const order = [stat, { ...short, op: 1 }, short];
    const r = await forced('race/cleared-timer.cjs', ['2000'], order, cwd);
    expect(r.status, describeRun('forced', r)).toBe(0);
    expect(r.stdout.toString()).toBe('short timer fired\n');
    expect(r.stderr.toString()).not.toMatch(/could not be followed/);
    const ran = await turnsOf(r.dir);
    expect(ran.map((t) => `${t.op}.${t.k}`)).toEqual([`${stat.op}.0`, '3.0']);
    // Not held for the bounded hold (1 s) waiting for the cleared firing.
    expect(ran[1].time_us, JSON.stringify(ran[1])).toBeLessThan(500_000);
  });

  it('refuses a file that is not a schedule, naming what it takes', async () => {
    const file = path.join(tempDir(), 'bad.json');
    fs.writeFileSync(file, JSON.stringify({ turns: [[0, 0]] }));
    const r = await rewind(['record', '--schedule', file, '--', NODE, fixture('race/timer-file.cjs')], {
      cwd: tempDir(),
    });
    expect(r.status).toBe(64);
    expect(r.stderr.toString()).toMatch(/is not a schedule: turn 1 has no operation id/);
  });
});

describe('rewind analyze', () => {
  it('a timer vs a file read: names both, with their call sites; the same inputs give the same answer', async () => {
    const cwd = tempDir();
    const plain = await record('race/timer-file.cjs', ['2000'], { cwd });
    const turns = await turnsOf(plain.dir);
    const timer = turns.find((t) => t.call === 'setTimeout callback')!;
    const reads = turns.filter((t) => t !== timer);
    const [fail, pass] = await Promise.all([
      forced('race/timer-file.cjs', ['200'], [timer, ...reads], cwd),
      forced('race/timer-file.cjs', ['200'], [...reads, timer], cwd),
    ]);
    expect([fail.status, pass.status]).toEqual([1, 0]);
    const first = await analyze(fail.dir, pass.dir, cwd);
    expect(first.kind, JSON.stringify(first)).toBe('pair');
    expect(first.b!.kind).toBe('setTimeout callback');
    expect(siteLine(first.b!.site)).toBe('6');
    expect(first.a!.kind).toMatch(/^fs\.\w+ callback$/);
    expect(siteLine(first.a!.site)).toBe('10');
    expect(first.failure).toContain('deadline passed before the config was loaded');
    // The kept failing order replays the failure.
    const rep = await replay(first.failingRun!);
    expect(rep.status).toBe(1);
    expect(rep.stderr.toString()).toContain('deadline passed before the config was loaded');
    expect(answer(await analyze(fail.dir, pass.dir, cwd))).toEqual(answer(first));
    // Without --passing, analyze finds a passing run itself (a plain re-run: the read takes far less than 200 ms).
    const found = await analyze(fail.dir, null, cwd);
    expect(answer(found)).toEqual(answer(first));
  });

  it('names the turn that decides, not one that merely came in between (an unrelated file check)', async () => {
    const cwd = tempDir();
    const plain = await record('race/timer-file-check.cjs', ['2000'], { cwd });
    const turns = await turnsOf(plain.dir);
    const timer = turns.find((t) => t.call === 'setTimeout callback')!;
    const others = turns.filter((t) => t !== timer);
    // The check first in the passing order: the turn the timer overtakes first is the check's.
    const check = others.find((t) => t.api === 'fs.stat')!;
    const open = others.find((t) => t.api === READ_FILE_FIRST_API)!;
    const passing = [check, ...others.filter((t) => t !== check), timer];
    const [fail, pass] = await Promise.all([
      forced('race/timer-file-check.cjs', ['200'], [timer, ...passing.slice(0, -1)], cwd),
      forced('race/timer-file-check.cjs', ['200'], passing, cwd),
    ]);
    expect([fail.status, pass.status], describeRun('fail', fail)).toEqual([1, 0]);
    const a = await analyze(fail.dir, pass.dir, cwd);
    expect(a.kind, JSON.stringify(a)).toBe('pair');
    expect(a.b!.kind).toBe('setTimeout callback');
    // A is the read (its first step, where the program called readFile), never the check.
    expect(`${a.a!.op}.${a.a!.k}`, JSON.stringify(a.a)).toBe(`${open.op}.0`);
    expect(siteLine(a.a!.site)).toBe('12');
  });

  it('names the pair when the two runs created their operations in another order (other op ids)', async () => {
    const cwd = tempDir();
    const plain = await record('race/shifted-ids.cjs', ['2000'], { cwd });
    const [dirStat, fileStat] = (await turnsOf(plain.dir))
      .filter((t) => t.api === 'fs.stat')
      .sort((x, y) => x.op - y.op);
    // The directory's stat first: the read's operations are created before the timer; the file's first: after it.
    const [readFirst, timerFirst] = await Promise.all([
      forced('race/shifted-ids.cjs', ['300'], [dirStat, fileStat], cwd),
      forced('race/shifted-ids.cjs', ['300'], [fileStat, dirStat], cwd),
    ]);
    expect([readFirst.status, timerFirst.status], describeRun('timer first', timerFirst)).toEqual([0, 0]);
    const turns = await turnsOf(timerFirst.dir);
    const timer = turns.find((t) => t.call === 'setTimeout callback')!;
    const open = turns.find((t) => t.api === READ_FILE_FIRST_API)!;
    const passing = await turnsOf(readFirst.dir);
    // The same operations under other ids in the passing run.
    expect(passing.find((t) => t.call === 'setTimeout callback')!.op).not.toBe(timer.op);
    expect(passing.find((t) => t.api === READ_FILE_FIRST_API)!.op).not.toBe(open.op);
    const fail = await forced('race/shifted-ids.cjs', ['300'], moveBefore(turns, timer, open), cwd);
    expect(fail.status, describeRun('fail', fail)).toBe(1);
    const a = await analyze(fail.dir, readFirst.dir, cwd);
    expect(a.kind, JSON.stringify(a)).toBe('pair');
    expect(`${a.b!.op}.${a.b!.k}`, JSON.stringify(a.b)).toBe(`${timer.op}.0`);
    expect(siteLine(a.b!.site)).toBe('15');
    expect(`${a.a!.op}.${a.a!.k}`, JSON.stringify(a.a)).toBe(`${open.op}.0`);
    expect(siteLine(a.a!.site)).toBe('9');
    expect(answer(await analyze(fail.dir, readFirst.dir, cwd))).toEqual(answer(a));
  });

  it('two HTTP responses: names the two socket reads', async () => {
    const server = http.createServer((req, res) => res.end(req.url === '/login' ? 'session-7' : 'the data'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = String((server.address() as { port: number }).port);
      const cwd = tempDir();
      const plain = await record('race/two-responses.cjs', [port, 'lenient'], { cwd });
      const turns = await turnsOf(plain.dir);
      const login = turns.find((t) => String(t.text ?? '').includes('session-7'))!;
      const data = turns.find((t) => String(t.text ?? '').includes('the data'))!;
      expect(login && data, JSON.stringify(turns)).toBeTruthy();
      const loginFirst = turns.indexOf(login) < turns.indexOf(data) ? turns : moveBefore(turns, login, data);
      const dataFirst = moveBefore(loginFirst, data, login);
      const [fail, pass] = await Promise.all([
        forced('race/two-responses.cjs', [port], dataFirst, cwd),
        forced('race/two-responses.cjs', [port], loginFirst, cwd),
      ]);
      expect(fail.status, describeRun('fail', fail)).toBe(1);
      expect(pass.status, describeRun('pass', pass)).toBe(0);
      const a = await analyze(fail.dir, pass.dir, cwd);
      expect(a.kind, JSON.stringify(a)).toBe('pair');
      expect(`${a.a!.op}.${a.a!.k}`).toBe(`${login.op}.${login.k}`);
      expect(`${a.b!.op}.${a.b!.k}`).toBe(`${data.op}.${data.k}`);
      expect(a.a!.detail).toMatch(/^read \d+ bytes "HTTP\/1\.1 200 OK/);
      expect(a.failure).toContain('got the data before logging in');
      expect(answer(await analyze(fail.dir, pass.dir, cwd))).toEqual(answer(a));
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("a worker's message vs a timer: names both", async () => {
    const cwd = tempDir();
    const { fail, pass } = await workerTimerBothOrders(cwd);
    const a = await analyze(fail.dir, pass.dir, cwd);
    expect(a.kind, JSON.stringify(a)).toBe('pair');
    expect(a.a!.kind).toBe('worker.message callback');
    expect(a.b!.kind).toBe('setTimeout callback');
    expect(siteLine(a.b!.site)).toBe('9');
    expect(answer(await analyze(fail.dir, pass.dir, cwd))).toEqual(answer(a));
  });

  it("a child's exit vs its stdout: names both", async () => {
    const cwd = tempDir();
    const plain = await record('race/child-exit.cjs', ['lenient'], { cwd });
    const turns = await turnsOf(plain.dir);
    const exit = turns.find((t) => t.api === 'process.exit')!;
    const read = turns.find((t) => String(t.text ?? '').includes('hello from the child'))!;
    expect(exit && read, JSON.stringify(turns)).toBeTruthy();
    const readFirst = turns.indexOf(read) < turns.indexOf(exit) ? turns : moveBefore(turns, read, exit);
    const exitFirst = moveBefore(readFirst, exit, read);
    const [fail, pass] = await Promise.all([
      forced('race/child-exit.cjs', [], exitFirst, cwd),
      forced('race/child-exit.cjs', [], readFirst, cwd),
    ]);
    expect(fail.status, describeRun('fail', fail)).toBe(1);
    expect(pass.status, describeRun('pass', pass)).toBe(0);
    const a = await analyze(fail.dir, pass.dir, cwd);
    expect(a.kind, JSON.stringify(a)).toBe('pair');
    expect(`${a.a!.op}.${a.a!.k}`).toBe(`${read.op}.${read.k}`);
    expect(a.a!.detail).toContain('hello from the child');
    expect(a.b!.kind).toBe('process.exit callback');
    expect(answer(await analyze(fail.dir, pass.dir, cwd))).toEqual(answer(a));
  });

  it('when a value decides (Math.random), names the value instead of an order', async () => {
    const cwd = tempDir();
    // Chaos seeds Math.random: a seed gives the same toss every time. Seeds tried in order until both sides turn up.
    let fail: Recorded | undefined;
    let pass: Recorded | undefined;
    for (let seed = 1; seed <= 40 && !(fail && pass); seed++) {
      const dir = path.join(tempDir('rewind-race-'), 'rec');
      const r = await rewind(['record', '--seed', String(seed), '--out', dir, '--', NODE, fixture('race/coin.cjs')], {
        cwd,
      });
      if (r.status === 1) fail ??= { ...r, dir };
      else if (r.status === 0) pass ??= { ...r, dir };
    }
    expect(fail && pass).toBeTruthy();
    const a = await analyze(fail!.dir, pass!.dir, cwd);
    expect(a.kind).toBe('value');
    expect(a.randomSeedDiffers).toBe(true);
    expect(a.failure).toContain('tails');
  });
});

describe('rewind analyze, when the order does not decide alone', () => {
  it('a failing order that passes its first live run: tried again, it fails; the pair is named, with the counts', async () => {
    const cwd = tempDir();
    const marker = path.join(tempDir('rewind-marker-'), 'lucky');
    const plain = await record('race/timer-file-once.cjs', ['2000', marker], { cwd });
    const turns = await turnsOf(plain.dir);
    const timer = turns.find((t) => t.call === 'setTimeout callback')!;
    const reads = turns.filter((t) => t !== timer);
    fs.writeFileSync(marker, 'recorded failing\n');
    const [fail, pass] = await Promise.all([
      forced('race/timer-file-once.cjs', ['200', marker], [timer, ...reads], cwd),
      forced('race/timer-file-once.cjs', ['200', marker], [...reads, timer], cwd),
    ]);
    expect([fail.status, pass.status], describeRun('forced', fail)).toEqual([1, 0]);
    // The first live run of the failing order finds no marker: it passes (and leaves one).
    fs.rmSync(marker);
    const a = await analyze(fail.dir, pass.dir, cwd);
    expect(a.kind, JSON.stringify(a)).toBe('pair');
    expect(a.b!.kind).toBe('setTimeout callback');
    expect(a.a!.kind).toMatch(/^fs\.\w+ callback$/);
    expect(a.failure).toContain('deadline passed before the config was loaded');
    const n = Math.max(...a.trials!.map((t) => t.candidate));
    expect(a.trials!.find((t) => t.candidate === n)).toEqual({ candidate: n, fails: 1, runs: 2 });
    expect(a.trials!.find((t) => t.candidate === 0)).toEqual({ candidate: 0, fails: 0, runs: 1 });
    // Candidates between ran twice (a third time only when the two disagreed).
    for (const t of a.trials!.filter((x) => x.candidate > 0 && x.candidate < n)) expect(t.runs).toBe(2);
  });

  it('when neither the order nor Math.random decides: inconclusive, says why, gives the differing value as a lead, not the cause', async () => {
    const cwd = tempDir();
    const flag = path.join(tempDir('rewind-flag-'), 'flag');
    fs.writeFileSync(flag, 'there\n');
    const fail = await record('race/outside-flag.cjs', [flag], { cwd });
    fs.rmSync(flag);
    const pass = await record('race/outside-flag.cjs', [flag], { cwd });
    expect([fail.status, pass.status], describeRun('record', fail)).toEqual([1, 0]);
    const a = await analyze(fail.dir, pass.dir, cwd);
    expect(a.kind, JSON.stringify(a)).toBe('inconclusive');
    expect(a.value).toBeUndefined();
    expect(a.note).toMatch(
      /^the failing run's order, forced live, passed 3 of 3 times \(with the failing run's Math\.random seed too: 1 of 1 time\): the order of the turns does not decide the failure, nor does Math\.random; /,
    );
    expect(a.note).toMatch(/the first value that differs, not shown to decide: io fs\.exists$/);
    expect(a.failure).toContain('the flag file is there');
  });
});

describe('rewind analyze, a long order', () => {
  /**
   * A failing and a passing forced run of race/warm-up.cjs: twenty file checks, then the race.
   * The failing run completes the checks in the reverse order, so that every candidate of the
   * search is an order of its own, a live run (~200 ms), not one it has already tried.
   */
  async function warmUp(cwd: string) {
    const plain = await record('race/warm-up.cjs', ['2000'], { cwd });
    const turns = await turnsOf(plain.dir);
    const timer = turns.find((t) => t.call === 'setTimeout callback')!;
    const read = turns.find((t) => t.api === READ_FILE_FIRST_API && turns.indexOf(t) >= 20)!;
    const readFirst = turns.indexOf(read) < turns.indexOf(timer) ? turns : moveBefore(turns, read, timer);
    const checks = readFirst.slice(0, 20).reverse();
    const timerFirst = moveBefore([...checks, ...readFirst.slice(20)], timer, read);
    const [fail, pass] = await Promise.all([
      forced('race/warm-up.cjs', ['200'], timerFirst, cwd),
      forced('race/warm-up.cjs', ['200'], readFirst, cwd),
    ]);
    expect([fail.status, pass.status], describeRun('fail', fail)).toEqual([1, 0]);
    return { fail, pass, timer, read };
  }

  it('bisects over twenty turns that do not matter to the pair that does, reporting progress', async () => {
    const cwd = tempDir();
    const { fail, pass, timer, read } = await warmUp(cwd);
    const r = await rewind(['analyze', fail.dir, '--passing', pass.dir, '--json'], { cwd, timeoutMs: 120_000 });
    expect(r.status, describeRun('analyze', r)).toBe(0);
    const a = JSON.parse(r.stdout.toString()) as Analysis;
    expect(a.kind, JSON.stringify(a)).toBe('pair');
    expect([`${a.a!.op}.${a.a!.k}`, `${a.b!.op}.${a.b!.k}`]).toEqual([`${read.op}.0`, `${timer.op}.0`]);
    expect(a.candidates).toBeGreaterThan(2);
    expect(r.stderr.toString()).toMatch(
      /tried \d+ candidates: the order decides between turns \d+ and \d+ of the failing run's 21/,
    );
  });

  it('Ctrl-C keeps what was found so far', async () => {
    const cwd = tempDir();
    const { fail, pass } = await warmUp(cwd);
    const run = start(NODE, [BIN, 'analyze', fail.dir, '--passing', pass.dir, '--json'], { cwd, timeoutMs: 120_000 });
    let err = '';
    run.child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      // After the first round of the search, while the next runs (each candidate takes 200 ms at least): stop.
      if (/tried \d+ candidates/.test(err) && !run.child.killed) run.child.kill('SIGINT');
    });
    const r = await run.done;
    expect(r.status, describeRun('analyze', { ...r, stderr: Buffer.from(err) })).toBe(0);
    expect(err).toContain('stopping: keeping what was found so far');
    const a = JSON.parse(r.stdout.toString()) as Analysis & { stopped: boolean };
    expect(a.stopped).toBe(true);
    expect(a.kind, JSON.stringify(a)).toBe('pair');
  });
});

describe('where people look', () => {
  it('analyze --test NAME explains a failed test of `node --test` (the test process, not the runner)', async () => {
    const cwd = tempDir();
    const dirs = await deadlineTestBothOrders(cwd);
    const r = await rewind(['analyze', dirs[0], '--passing', dirs[1], '--test', 'config before deadline', '--json'], {
      cwd,
      timeoutMs: 120_000,
    });
    expect(r.status, describeRun('analyze', r)).toBe(0);
    const a = JSON.parse(r.stdout.toString()) as Analysis;
    expect(a.kind, JSON.stringify(a)).toBe('pair');
    expect([a.a!.kind, a.b!.kind]).toEqual([`${READ_FILE_FIRST_API} callback`, 'setTimeout callback']);
    expect([siteLine(a.a!.site), siteLine(a.b!.site)]).toEqual(['8', '11']);
    expect(a.failure).toContain('config before deadline');
  });

  it('--until-fail prints the analyze command, and that command explains the kept failure', async () => {
    const cwd = tempDir();
    const out = path.join(tempDir('rewind-race-'), 'kept');
    // Chaos seeds Math.random, so seed by seed the tosses are the same every time.
    const r = await rewind(
      ['record', '--until-fail', '--seed', '1', '--runs', '40', '--out', out, '--', NODE, fixture('race/coin.cjs')],
      { cwd },
    );
    expect(r.status, describeRun('until-fail', r)).toBe(1);
    const why = /^ {2}why: {9}(rewind analyze .*)$/m.exec(r.stderr.toString())?.[1];
    expect(why, r.stderr.toString()).toBe(`rewind analyze ${out}`);
    const a = await rewind(['analyze', out, '--json'], { cwd, timeoutMs: 120_000 });
    expect(a.status, describeRun('analyze', a)).toBe(0);
    const res = JSON.parse(a.stdout.toString()) as Analysis;
    expect(res.kind).toBe('value');
    expect(res.failure).toContain('tails');
  });
});

beforeAll(() => {
  expect(fs.existsSync(fixture('race/timer-file.cjs'))).toBe(true);
});
