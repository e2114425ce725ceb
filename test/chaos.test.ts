// Chaos mode and record --until-fail: the same seed perturbs the same way and a chaos
// recording replays exactly without chaos; --until-fail keeps the failing run only, says
// which run and seed it was, and its recording replays the failure.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Chaos, Delivery, type DeliveryKind, type Lane } from '../src/session/chaos.js';
import { original } from '../src/node/originals.js';
import {
  BIN,
  NODE,
  baseEnv,
  cleanupTempDirs,
  describeRun,
  expectReplayMatches,
  fixture,
  replay,
  rewind,
  tempDir,
  within,
  type RunResult,
} from './helpers.js';

afterAll(cleanupTempDirs);

/**
 * What chaos decides for a made-up program: per operation (I/O and thread-pool ones, and
 * timer firings), whether each delivery goes at once or how many ms it is held. The clock is
 * fixed while deciding, so the decisions are read exactly, with no timing in them.
 */
function decisions(seed: number, stream: string): (string | number)[] {
  const chaos = new Chaos(seed, stream);
  const out: (string | number)[] = [];
  const monoMs = original.monoMs;
  original.monoMs = () => 1000;
  try {
    const deliver = (lane: Lane, op: number, n: number, kind?: DeliveryKind) => {
      let ran = false;
      chaos.deliver(lane, { op, n, ref: false, kind }, () => (ran = true));
      out.push(ran ? 'now' : [...lane.held()].at(-1)!.due - 1000);
    };
    for (let op = 1; op <= 200; op++) {
      const lane = chaos.lane(op, op % 4 === 0 ? Delivery.ThreadPool : Delivery.Io);
      for (let n = 0; n < 3; n++) deliver(lane, op, n);
    }
    for (let op = 201; op <= 300; op++) deliver(chaos.timers, op, 0);
    // Handle closes, each the one delivery of its op on a lane of its own.
    for (let op = 301; op <= 400; op++) deliver(chaos.lane(op, Delivery.Io), op, 0, Delivery.Close);
  } finally {
    original.monoMs = monoMs;
  }
  return [...chaos.randomSeed, ...out];
}

describe('chaos decisions', () => {
  it('the same seed decides the same, another seed or another process otherwise', () => {
    const a = decisions(1, 'race/0');
    expect(decisions(1, 'race/0')).toEqual(a);
    expect(decisions(2, 'race/0')).not.toEqual(a);
    expect(decisions(1, 'race/1')).not.toEqual(a);
  });

  it('holds thread-pool completions and closes three times in four, I/O and timers at a rate each seed draws (often none), by whole quanta, starving at most two', () => {
    const timerRates = new Set<number>();
    const ioRates = new Set<number>();
    const lateness = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const chaos = new Chaos(seed, 'race/0');
      timerRates.add(chaos.holding[Delivery.Timer]);
      const ioRate = chaos.holding[Delivery.Io];
      ioRates.add(ioRate);
      const d = decisions(seed, 'race/0').slice(4);
      // Whether the first delivery of each operation (150 I/O ones, 50 thread-pool ones) was held.
      const firsts = d.slice(0, 600).filter((_, i) => i % 3 === 0);
      const io = firsts.filter((_, i) => (i + 1) % 4 !== 0).filter((x) => x !== 'now').length;
      const pool = firsts.filter((_, i) => (i + 1) % 4 === 0).filter((x) => x !== 'now').length;
      // 150 draws at the seed's rate: within 0.15 of it (a rate of 0 holds none).
      if (ioRate === 0) expect(io, `seed ${seed}`).toBe(0);
      expect(io, `seed ${seed}`).toBeGreaterThanOrEqual(150 * Math.max(0, ioRate - 0.15));
      expect(io, `seed ${seed}`).toBeLessThanOrEqual(150 * (ioRate + 0.15));
      expect(pool, `seed ${seed}`).toBeGreaterThan(50 * 0.55);
      expect(pool, `seed ${seed}`).toBeLessThan(50 * 0.95);
      const closes = d.slice(700).filter((x) => x !== 'now').length;
      expect(closes, `seed ${seed}`).toBeGreaterThan(100 * 0.6);
      expect(closes, `seed ${seed}`).toBeLessThan(100 * 0.9);
      // Timers: one lane, in order; once one is held, those after it wait behind it.
      const timers = d.slice(600, 700);
      const firstHeld = timers.findIndex((x) => x !== 'now');
      if (chaos.holding[Delivery.Timer] === 0) expect(firstHeld, `seed ${seed}`).toBe(-1);
      if (firstHeld >= 0) expect(timers.slice(firstHeld).every((x) => x !== 'now')).toBe(true);
      const ms = d.filter((x): x is number => x !== 'now');
      for (const x of ms) expect(x % 4, `held ${x} ms`).toBe(0);
      for (const x of ms) if (x < 512) lateness.add(x);
      // The starved ones (512 ms or more), and the two deliveries of each queued behind it.
      expect(ms.filter((x) => x >= 512).length, `seed ${seed}`).toBeLessThanOrEqual(6);
    }
    // Held times are spread over 16 to 128 ms (two held completions seldom tie).
    expect(Math.min(...lateness)).toBe(16);
    expect(Math.max(...lateness)).toBe(128);
    expect(lateness.size).toBeGreaterThan(20);
    // Seeds differ in how often they hold timers and I/O, and some hold none: at most half
    // the I/O (a refused connection's undelayed report must stay common: socket.io #3358).
    expect(timerRates).toContain(0);
    expect(timerRates.size).toBeGreaterThan(1);
    expect([...ioRates].sort()).toEqual([0, 0.25, 0.5]);
  });
});

describe('record --chaos', () => {
  // The socket response chaos/race.cjs waits for comes from here, outside the recorded process.
  let server: net.Server;
  let port: string;
  beforeAll(async () => {
    server = net.createServer((s) => s.on('data', () => s.write('pong')).on('error', () => {}));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = String((server.address() as net.AddressInfo).port);
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  async function recordRace(seed: number) {
    const dir = path.join(tempDir('rewind-chaos-'), 'rec');
    const r = await rewind(
      ['record', '--seed', String(seed), '--out', dir, '--', NODE, fixture('chaos/race.cjs'), port],
      { cwd: tempDir() },
    );
    expect(r.status, describeRun('record', r)).toBe(0);
    return { ...r, dir, seed };
  }

  it("the program's random numbers come from the seed; the recording replays exactly without chaos", async () => {
    // race.cjs draws its timers' delays with Math.random, which chaos seeds from the chaos
    // seed: the same seed, the same delays, whatever the machine's timing did to the races.
    const delaysOf = (r: RunResult) => [...r.stdout.toString().matchAll(/timer (\d+) ms/g)].map((m) => Number(m[1]));
    const [a, b, c] = await Promise.all([recordRace(1), recordRace(1), recordRace(2)]);
    expect(delaysOf(a), describeRun('record', a)).toHaveLength(2);
    expect(delaysOf(b)).toEqual(delaysOf(a));
    expect(delaysOf(c)).not.toEqual(delaysOf(a));
    expectReplayMatches(expect, { record: a, replay: await replay(a.dir) });
    expect((await rewind(['info', a.dir])).stdout.toString()).toMatch(/^chaos\s+seed 1 /m);
  });

  it('a held timer behaves as a pending one: cleared (by object or id) it never fires, refreshed it fires once', async () => {
    const full = 'a fired\nb fired\nc fired 1\n';
    const seen = new Set<string>();
    // Seeds in batches until one held a (and so all three, which fire in order) and one held
    // none: about one seed in eight holds a given timer.
    for (let seed = 1; seed <= 40 && !(seen.has('') && seen.has(full)); seed += 4) {
      const runs = await Promise.all(
        [seed, seed + 1, seed + 2, seed + 3].map(async (s) => {
          const dir = path.join(tempDir('rewind-chaos-'), 'rec');
          const r = await rewind(
            ['record', '--seed', String(s), '--out', dir, '--', NODE, fixture('chaos/held-timers.cjs')],
            { cwd: tempDir() },
          );
          return { ...r, dir };
        }),
      );
      for (const r of runs) {
        const [before, after] = r.stdout.toString().split('cleared a and b, refreshed c\n');
        expect(['', 'a fired\n', 'a fired\nb fired\n', full], describeRun('record', r)).toContain(before);
        expect(after).toBe(before === full ? 'c fired 2\n' : 'c fired 1\n');
        seen.add(before);
        expectReplayMatches(expect, { record: r, replay: await replay(r.dir) });
      }
    }
    expect(seen).toContain('');
    expect(seen).toContain(full);
  });

  it('--until-fail --chaos finds a failure that needs a perturbed schedule, and prints its seed', async () => {
    // deadline.cjs fails when its file read is held past a 12 ms timer: half the seeds hold
    // it 16 ms or more, and about a quarter starve it.
    const cwd = tempDir();
    const r = await rewind(
      [
        'record',
        '--until-fail',
        '--chaos',
        '--seed',
        '1000',
        '--runs',
        '40',
        '--',
        NODE,
        fixture('chaos/deadline.cjs'),
      ],
      { cwd },
    );
    const err = r.stderr.toString();
    expect(r.status, describeRun('until-fail', r)).toBe(1);
    const run =
      /^rewind: run (\d+) of 40 failed: exit code 1; process \d+ \(deadline\): uncaught exception: Error: the config was not loaded before the deadline$/m.exec(
        err,
      )?.[1];
    expect(run, err).toBeDefined();
    expect(err).toMatch(new RegExp(`^  chaos seed:  ${999 + Number(run)}$`, 'm'));
    const again = await rewind(['replay', reported(r).recording], { cwd });
    expect(again.status).toBe(1);
    expect(again.stderr.toString()).toMatch(/Error: the config was not loaded before the deadline/);
  });
});

/** The recordings a directory's .rewind/ holds, and what `latest` names. */
function store(cwd: string): { recordings: string[]; latest: string | null } {
  const dir = path.join(cwd, '.rewind');
  const names = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
  const latest = names.includes('latest') ? fs.readFileSync(path.join(dir, 'latest'), 'utf8').trim() : null;
  return { recordings: names.filter((n) => n !== 'latest' && n !== '.gitignore').sort(), latest };
}

/** The report's recording path and replay command. */
function reported(r: RunResult): { recording: string; replayCommand: string } {
  const err = r.stderr.toString();
  const recording = /^ {2}recording: {3}(.*)$/m.exec(err)?.[1];
  const replayCommand = /^ {2}replay it: {3}(.*)$/m.exec(err)?.[1];
  expect(recording, err).toBeDefined();
  return { recording: recording!, replayCommand: replayCommand! };
}

describe('record --until-fail', () => {
  it('keeps only the failing run, says which run it was, and its replay fails the same way', async () => {
    const cwd = tempDir();
    const counter = path.join(cwd, 'count');
    const r = await rewind(
      ['record', '--until-fail', '--runs', '10', '--', NODE, fixture('chaos/fails-on-run.cjs'), counter, '3'],
      { cwd },
    );
    const err = r.stderr.toString();
    expect(r.status, describeRun('until-fail', r)).toBe(1);
    expect(r.stdout.toString()).toBe('run 1\nrun 2\nrun 3\n');
    expect(err).toMatch(
      /^rewind: run 3 of 10 failed: exit code 1; process \d+ \(fails-on-run\): uncaught exception: Error: failed on run 3$/m,
    );
    expect(err).toMatch(/^ {2}runs tried: {2}3$/m);
    expect(err).toMatch(/^ {2}failing run: 3$/m);
    expect(err).toMatch(/^ {2}chaos seed: {2}none/m);
    const { recording, replayCommand } = reported(r);
    const { recordings, latest } = store(cwd);
    expect(recordings).toEqual([path.basename(recording)]);
    expect(latest).toBe(path.basename(recording));
    expect(replayCommand).toBe(`rewind replay ${recording}`);
    expect(JSON.parse(fs.readFileSync(path.join(cwd, recording, 'index.json'), 'utf8'))).toMatchObject({
      run: 3,
      status: { code: 1 },
    });

    const again = await rewind(['replay', recording], { cwd });
    expect(again.status).toBe(1);
    expect(again.stdout.toString()).toBe('run 3\n');
    expect(again.stderr.toString()).toMatch(/^Error: failed on run 3$/m);
    // .rewind/latest, named as a path (from elsewhere too), is the recording it names.
    const viaPointer = await rewind(['replay', path.join(cwd, '.rewind', 'latest')], { cwd: tempDir() });
    expect(viaPointer.status).toBe(1);
    expect(viaPointer.stdout.toString()).toBe('run 3\n');
  });

  it('a failure event counts even when the command exits 0: a child process that crashed', async () => {
    const cwd = tempDir();
    const out = path.join(cwd, 'kept');
    const r = await rewind(
      ['record', '--until-fail', '--out', out, '--', NODE, fixture('chaos/parent.cjs'), path.join(cwd, 'count'), '2'],
      { cwd },
    );
    expect(r.status, describeRun('until-fail', r)).toBe(1);
    expect(r.stderr.toString()).toMatch(
      /^rewind: run 2 of 100 failed: exit code 0; process \d+ \(fails-on-run\): uncaught exception: Error: failed on run 2$/m,
    );
    expect(reported(r)).toEqual({ recording: 'kept', replayCommand: 'rewind replay kept' });
    // --out: the recording is there, and .rewind/ keeps nothing (no latest either).
    expect(fs.readdirSync(out).filter((f) => f.endsWith('.rwnd'))).toHaveLength(2);
    expect(store(cwd)).toEqual({ recordings: [], latest: null });
    const again = await rewind(['replay', 'kept'], { cwd });
    expect(again.status).toBe(1);
    expect(again.stdout.toString()).toBe('run 2\n');
  });

  it('a handled uncaught exception is a failure too; the seed goes up by one each run', async () => {
    const cwd = tempDir();
    const r = await rewind(
      [
        'record',
        '--until-fail',
        '--chaos',
        '--seed',
        '4294967295',
        '--',
        NODE,
        fixture('chaos/fails-on-run.cjs'),
        path.join(cwd, 'count'),
        '2',
        'handled',
      ],
      { cwd },
    );
    const err = r.stderr.toString();
    expect(r.status, describeRun('until-fail', r)).toBe(1);
    expect(err).toMatch(
      /^rewind: run 2 of 100 failed: exit code 0; process \d+ \(fails-on-run\): uncaught exception: Error: failed on run 2$/m,
    );
    expect(err).toMatch(/^ {2}chaos seed: {2}0$/m);
    const info = await rewind(['info', reported(r).recording], { cwd });
    expect(info.stdout.toString()).toMatch(/^chaos\s+seed 0 /m);
  });

  it('a command that never fails: says so, keeps nothing, exits 0', async () => {
    const cwd = tempDir();
    const r = await rewind(
      [
        'record',
        '--until-fail',
        '--runs',
        '3',
        '--chaos',
        '--seed',
        '7',
        '--',
        NODE,
        fixture('chaos/fails-on-run.cjs'),
        path.join(cwd, 'count'),
        '0',
      ],
      { cwd },
    );
    expect(r.status, describeRun('until-fail', r)).toBe(0);
    expect(r.stdout.toString()).toBe('run 1\nrun 2\nrun 3\n');
    expect(r.stderr.toString()).toBe('rewind: no failure in 3 runs (chaos seeds 7 to 9); no recording kept.\n');
    expect(store(cwd)).toEqual({ recordings: [], latest: null });
  });

  it('two at once in one directory: distinct recordings, latest names one of them', async () => {
    const cwd = tempDir();
    const runs = await Promise.all(
      ['a', 'b'].map((n) =>
        rewind(['record', '--until-fail', '--', NODE, fixture('chaos/fails-on-run.cjs'), path.join(cwd, n), '2'], {
          cwd,
        }),
      ),
    );
    const kept = runs.map((r) => path.basename(reported(r).recording));
    expect(new Set(kept).size).toBe(2);
    const { recordings, latest } = store(cwd);
    expect(recordings).toEqual([...kept].sort());
    expect(kept).toContain(latest);
  });

  it('Ctrl-C stops trying: the run it cut short is discarded, nothing is kept, rewind ends by SIGINT', async () => {
    const cwd = tempDir();
    // Its own process group, which SIGINT is sent to, as a terminal's Ctrl-C does.
    const child = spawn(NODE, [BIN, 'record', '--until-fail', '--', NODE, fixture('chaos/waits.cjs')], {
      cwd,
      detached: true,
      env: baseEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    await within(once(child.stdout!, 'data'), 'output from the program');
    process.kill(-child.pid!, 'SIGINT');
    const [code, signal] = await within(once(child, 'exit'), 'exit after SIGINT');
    expect({ code, signal }, stderr).toEqual({ code: null, signal: 'SIGINT' });
    expect(stderr).toBe('rewind: stopped by SIGINT during the first run; no recording kept.\n');
    expect(store(cwd)).toEqual({ recordings: [], latest: null });
  });

  it('bad --runs and --seed values, and --runs without --until-fail, are usage errors', async () => {
    const cmd = ['--', NODE, fixture('chaos/deadline.cjs')];
    for (const bad of ['0', '-2', 'ten', '2.5']) {
      const r = await rewind(['record', '--until-fail', '--runs', bad, ...cmd]);
      expect(r.status, describeRun(`--runs ${bad}`, r)).toBe(64);
      expect(r.stderr.toString()).toMatch(/--runs <n>.* the number of runs is a whole number from 1/);
    }
    const seed = await rewind(['record', '--seed', '4294967296', ...cmd]);
    expect(seed.status).toBe(64);
    expect(seed.stderr.toString()).toMatch(/a chaos seed is a whole number from 0 to 4294967295/);
    const alone = await rewind(['record', '--runs', '5', ...cmd]);
    expect(alone.status).toBe(64);
    expect(alone.stderr.toString()).toBe(
      'rewind: --runs 5 counts the runs of --until-fail; add --until-fail, or leave --runs out.\n',
    );
  });
});
