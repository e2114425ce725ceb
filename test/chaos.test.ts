// Chaos mode and record --until-fail: the same seed perturbs the same way and a chaos
// recording replays exactly without chaos; --until-fail keeps the failing run only, says
// which run and seed it was, and its recording replays the failure.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, NODE, baseEnv, cleanupTempDirs, describeRun, eventsOf, expectReplayMatches, fixture, replay, rewind, tempDir, type RunResult } from './helpers.js';

afterAll(cleanupTempDirs);

/** The schedule of a recording: each event's kind, operation and call (not its time). */
async function scheduleOf(dir: string): Promise<string[]> {
  return (await eventsOf(dir)).map((e) => `${e.kind} ${e.op ?? ''} ${e.call} ${e.api ?? ''}`);
}

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
    const r = await rewind(['record', '--seed', String(seed), '--out', dir, '--', NODE, fixture('chaos/race.cjs'), port], { cwd: tempDir() });
    expect(r.status, describeRun('record', r)).toBe(0);
    return { ...r, dir, seed };
  }

  it('the same seed gives the same schedule, another seed another; the recording replays exactly without chaos', async () => {
    const [a, b] = await Promise.all([recordRace(1), recordRace(1)]);
    const [sa, sb] = await Promise.all([scheduleOf(a.dir), scheduleOf(b.dir)]);
    expect(sb).toEqual(sa);
    expect(b.stdout.toString()).toBe(a.stdout.toString());
    expectReplayMatches(expect, { record: a, replay: await replay(a.dir) });
    // Another seed, another schedule: about half the seeds change a race's winner.
    let other: Awaited<ReturnType<typeof recordRace>> | undefined;
    for (let seed = 2; seed <= 16 && !other; seed += 2) {
      const pair = await Promise.all([recordRace(seed), recordRace(seed + 1)]);
      const schedules = await Promise.all(pair.map((r) => scheduleOf(r.dir)));
      other = pair.find((_, i) => JSON.stringify(schedules[i]) !== JSON.stringify(sa));
    }
    expect(other, 'seeds 2 to 17 all gave the schedule of seed 1').toBeDefined();
    expect(other!.stdout.toString()).not.toBe(a.stdout.toString());
    expectReplayMatches(expect, { record: other!, replay: await replay(other!.dir) });
    expect((await rewind(['info', other!.dir])).stdout.toString()).toMatch(new RegExp(`^chaos\\s+seed ${other!.seed} `, 'm'));
  });

  it('a held timer behaves as a pending one: cleared (by object or id) it never fires, refreshed it fires once', async () => {
    const full = 'a fired\nb fired\nc fired 1\n';
    const seen = new Set<string>();
    // Seeds in batches until one held a (and so all three, which fire in order) and one held
    // none: a quarter of the seeds hold a given timer.
    for (let seed = 1; seed <= 40 && !(seen.has('') && seen.has(full)); seed += 4) {
      const runs = await Promise.all(
        [seed, seed + 1, seed + 2, seed + 3].map(async (s) => {
          const dir = path.join(tempDir('rewind-chaos-'), 'rec');
          const r = await rewind(['record', '--seed', String(s), '--out', dir, '--', NODE, fixture('chaos/held-timers.cjs')], { cwd: tempDir() });
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
    // deadline.cjs fails when its file read is held past a 12 ms timer: a quarter of the
    // seeds hold it 16 ms or more, and about as many starve it.
    const cwd = tempDir();
    const r = await rewind(['record', '--until-fail', '--chaos', '--seed', '1000', '--runs', '40', '--', NODE, fixture('chaos/deadline.cjs')], { cwd });
    const err = r.stderr.toString();
    expect(r.status, describeRun('until-fail', r)).toBe(1);
    const run = /^rewind: run (\d+) of 40 failed: exit code 1; process \d+ \(deadline\): uncaught exception: Error: the config was not loaded before the deadline$/m.exec(err)?.[1];
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
    const r = await rewind(['record', '--until-fail', '--runs', '10', '--', NODE, fixture('chaos/fails-on-run.cjs'), counter, '3'], { cwd });
    const err = r.stderr.toString();
    expect(r.status, describeRun('until-fail', r)).toBe(1);
    expect(r.stdout.toString()).toBe('run 1\nrun 2\nrun 3\n');
    expect(err).toMatch(/^rewind: run 3 of 10 failed: exit code 1; process \d+ \(fails-on-run\): uncaught exception: Error: failed on run 3$/m);
    expect(err).toMatch(/^ {2}runs tried: {2}3$/m);
    expect(err).toMatch(/^ {2}failing run: 3$/m);
    expect(err).toMatch(/^ {2}chaos seed: {2}none/m);
    const { recording, replayCommand } = reported(r);
    const { recordings, latest } = store(cwd);
    expect(recordings).toEqual([path.basename(recording)]);
    expect(latest).toBe(path.basename(recording));
    expect(replayCommand).toBe(`rewind replay ${recording}`);
    expect(JSON.parse(fs.readFileSync(path.join(cwd, recording, 'index.json'), 'utf8'))).toMatchObject({ run: 3, status: { code: 1 } });

    const again = await rewind(['replay', recording], { cwd });
    expect(again.status).toBe(1);
    expect(again.stdout.toString()).toBe('run 3\n');
    expect(again.stderr.toString()).toMatch(/^Error: failed on run 3$/m);
  });

  it('a failure event counts even when the command exits 0: a child process that crashed', async () => {
    const cwd = tempDir();
    const out = path.join(cwd, 'kept');
    const r = await rewind(['record', '--until-fail', '--out', out, '--', NODE, fixture('chaos/parent.cjs'), path.join(cwd, 'count'), '2'], { cwd });
    expect(r.status, describeRun('until-fail', r)).toBe(1);
    expect(r.stderr.toString()).toMatch(/^rewind: run 2 of 100 failed: exit code 0; process \d+ \(fails-on-run\): uncaught exception: Error: failed on run 2$/m);
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
      ['record', '--until-fail', '--chaos', '--seed', '4294967295', '--', NODE, fixture('chaos/fails-on-run.cjs'), path.join(cwd, 'count'), '2', 'handled'],
      { cwd },
    );
    const err = r.stderr.toString();
    expect(r.status, describeRun('until-fail', r)).toBe(1);
    expect(err).toMatch(/^rewind: run 2 of 100 failed: exit code 0; process \d+ \(fails-on-run\): uncaught exception: Error: failed on run 2$/m);
    expect(err).toMatch(/^ {2}chaos seed: {2}0$/m);
    const info = await rewind(['info', reported(r).recording], { cwd });
    expect(info.stdout.toString()).toMatch(/^chaos\s+seed 0 /m);
  });

  it('a command that never fails: says so, keeps nothing, exits 0', async () => {
    const cwd = tempDir();
    const r = await rewind(['record', '--until-fail', '--runs', '3', '--chaos', '--seed', '7', '--', NODE, fixture('chaos/fails-on-run.cjs'), path.join(cwd, 'count'), '0'], { cwd });
    expect(r.status, describeRun('until-fail', r)).toBe(0);
    expect(r.stdout.toString()).toBe('run 1\nrun 2\nrun 3\n');
    expect(r.stderr.toString()).toBe('rewind: no failure in 3 runs (chaos seeds 7 to 9); no recording kept.\n');
    expect(store(cwd)).toEqual({ recordings: [], latest: null });
  });

  it('two at once in one directory: distinct recordings, latest names one of them', async () => {
    const cwd = tempDir();
    const runs = await Promise.all(
      ['a', 'b'].map((n) => rewind(['record', '--until-fail', '--', NODE, fixture('chaos/fails-on-run.cjs'), path.join(cwd, n), '2'], { cwd })),
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
    await once(child.stdout!, 'data');
    process.kill(-child.pid!, 'SIGINT');
    const [code, signal] = await once(child, 'exit');
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
    expect(alone.stderr.toString()).toBe('rewind: --runs 5 counts the runs of --until-fail; add --until-fail, or leave --runs out.\n');
  });
});
