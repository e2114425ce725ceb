// Worker threads as pools use them: terminated (piscina, tinypool, jest-worker), unref()'d
// (pino's transports), still running when the process exits. Each thread's log is complete
// up to its last event and ends with how the thread was stopped, and the replay prints
// exactly what the recording printed: the workers' random numbers and clock readings come
// from their logs, and their output is written in the recorded order.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import {
  cleanupTempDirs,
  describeRun,
  eventsOf,
  expectReplayMatches,
  logsOf,
  record,
  recordAndReplay,
  replay,
  rewind,
  runPlain,
  type Expect,
  type Recorded,
} from './helpers.js';
import { TraceReader } from '../src/trace/reader.js';

afterAll(cleanupTempDirs);

interface Proc {
  pid: number;
  thread: number;
  events: number;
  ended: string;
}

async function processes(expect: Expect, rec: Recorded): Promise<Proc[]> {
  const r = await rewind(['ps', rec.dir, '--json']);
  expect(r.status, r.stderr.toString()).toBe(0);
  return r.stdout
    .toString()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Proc);
}

describe.concurrent('worker threads stopped from outside', () => {
  it('terminate() after one answer: the worker\'s log holds its events and ends "terminated"', async ({ expect }) => {
    const r = await recordAndReplay('loop/worker-terminate.cjs');
    expect(r.record.stdout.toString()).toBe('got 42\nterminated 1\n');
    expectReplayMatches(expect, r);
    const workers = (await processes(expect, r.record)).filter((p) => p.thread !== 0);
    expect(workers).toHaveLength(1);
    // It lived far less than the 100 ms between flushes: its parent wrote its last events.
    expect(workers[0].events).toBeGreaterThan(0);
    expect(workers[0].ended).toBe('terminated (worker.terminate()), exit code 1');
    const own = await eventsOf(r.record.dir, { process: `${workers[0].pid}/${workers[0].thread}` });
    expect(own.length).toBe(workers[0].events);
    expect(own.at(-1)!.kind).toBe('end');
    expect(own.some((e) => e.kind === 'turn' && e.detail.startsWith('worker.message'))).toBe(true);
  });

  it("an unref()'d worker writes while the main thread waits: the replay waits for it too", async ({ expect }) => {
    // The worker must start and write within the main thread's 200 ms, which a loaded machine
    // can miss (then it writes late or never, in plain node too): such a recording is tried again.
    let r = await recordAndReplay('loop/worker-unref.cjs');
    for (let i = 0; i < 4 && r.record.stdout.toString() !== 'from worker\nmain done\n'; i++)
      r = await recordAndReplay('loop/worker-unref.cjs');
    expect(r.record.stdout.toString()).toBe('from worker\nmain done\n');
    expectReplayMatches(expect, r);
    const [worker] = (await processes(expect, r.record)).filter((p) => p.thread !== 0);
    expect(worker.ended).toBe('terminated as its process ended');
    const own = await eventsOf(r.record.dir, { process: `${worker.pid}/${worker.thread}` });
    // `events -p PID/THREAD` lists the thread's own events: its write, not the main thread's.
    expect(own.filter((e) => e.kind === 'output').map((e) => e.detail)).toEqual(['stdout "from worker\\n"']);
  });

  it('a pool of 4 workers: 12 tasks answered in a racy order, then the pool is terminated', async ({ expect }) => {
    const r = await recordAndReplay('loop/worker-pool.cjs');
    const lines = r.record.stdout.toString().split('\n').filter(Boolean);
    expect(lines).toHaveLength(13);
    expect(lines.at(-1)).toBe('pool terminated 1,1,1,1');
    expectReplayMatches(expect, r);
    const workers = (await processes(expect, r.record)).filter((p) => p.thread !== 0);
    expect(workers).toHaveLength(4);
    for (const w of workers) expect(w.ended).toBe('terminated (worker.terminate()), exit code 1');
  });

  it("process.exit() while two workers are printing: every thread's output up to the exit, in order", async ({
    expect,
  }) => {
    const r = await recordAndReplay('loop/worker-exit.cjs');
    expect(r.record.status).toBe(3);
    const out = r.record.stdout.toString();
    expect(out).toMatch(/^worker \d tick 0 /);
    expect(out).toMatch(/main exits \d+\n$/);
    expectReplayMatches(expect, r);
    const workers = (await processes(expect, r.record)).filter((p) => p.thread !== 0);
    expect(workers).toHaveLength(2);
    for (const w of workers) {
      expect(w.ended).toBe('terminated as its process ended');
      expect(w.events).toBeGreaterThan(3);
    }
  });

  it("SIGTERM ends the process while a worker is busy (a test runner ending its fork): the worker's log is finished, and the replay dies of the signal too", async ({
    expect,
  }) => {
    const r = await recordAndReplay('loop/worker-signal.cjs');
    expect(r.record.signal, r.record.stderr.toString()).toBe('SIGTERM');
    expect(r.record.stdout.toString()).toMatch(/^worker at 3 \d+\nfive messages, last 4\n$/);
    expectReplayMatches(expect, r);
    const [worker] = (await processes(expect, r.record)).filter((p) => p.thread !== 0);
    // Its log used to stop unfinished, its events (its output) lost: no 'exit' event comes.
    expect(worker.ended).toBe('terminated as its process ended');
    const own = await eventsOf(r.record.dir, { process: `${worker.pid}/${worker.thread}` });
    expect(own.filter((e) => e.kind === 'output').map((e) => e.detail)).toEqual([
      expect.stringMatching(/^stdout "worker at 3 \d+\\n"$/),
    ]);
  });
});

describe('messages Node drains from a stopped worker', () => {
  it('messages delivered inside the exit turn when recording, arriving earlier at replay, replay in order', async ({
    expect,
  }) => {
    const r = await recordAndReplay('loop/worker-drained.cjs');
    const drained = (await eventsOf(r.record.dir, { sites: false })).filter((e) => e.api === 'worker.drained');
    // Made on purpose: the main thread was blocked while the worker posted and exited.
    expect(drained.length, JSON.stringify(drained.slice(0, 3))).toBeGreaterThanOrEqual(20);
    expectReplayMatches(expect, r);
    expect(r.replay.stdout.toString()).toBe(
      [...Array.from({ length: 20 }, (_, i) => `message ${i}`), 'exit 0', ''].join('\n'),
    );
  });
});

describe('a pool terminated at once', () => {
  it("the exits Node runs in one batch, before any microtask, replay in one turn: each exit's listeners before the microtasks of the ones before", async ({
    expect,
  }) => {
    // Which exits come together is a race of the stopping threads: a recording without a
    // batch (two exits printed with no microtask between: rare with 12 threads) is made again.
    const batched = (r: Recorded) =>
      r.stdout
        .toString()
        .split('\n')
        .some((l, i, all) => l.startsWith('exit ') && all[i + 1]?.startsWith('exit '));
    let rec = await record('loop/worker-exit-batch.cjs');
    for (let i = 0; i < 4 && rec.status === 0 && !batched(rec); i++) rec = await record('loop/worker-exit-batch.cjs');
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(batched(rec), rec.stdout.toString()).toBe(true);
    const lines = rec.stdout.toString().split('\n');
    expect(lines.filter((l) => l.startsWith('exit '))).toHaveLength(12);
    expect(lines).toContain('clock true');
    expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
    // Each exit after the first of its batch is marked so in the log.
    const exits = (await eventsOf(rec.dir)).filter((e) => e.api === 'worker.exit');
    expect(exits.filter((e) => e.detail.endsWith('"joined"')).length).toBeGreaterThan(0);
  });
});

describe('a worker the process ends before it started', () => {
  it('its thread never ran the program: the replay prints exactly what the recording did, and so does a debugged replay', async ({
    expect,
  }) => {
    // The 1 ms timer throws before a new thread has started: the process ends, the worker with it.
    const r = await recordAndReplay('race/worker-timer.cjs', ['1']);
    expect(r.record.status).toBe(1);
    expectReplayMatches(expect, r);
    const events = await eventsOf(r.record.dir, { sites: true });
    expect(events.at(-1)?.kind).toBe('end');
  });
});

// A worker thread stopped as it created its log (tinypool's suite: a fork ended while its pool
// started a worker) left it empty, or a chunk without a header, and every command refused the
// whole recording as corrupt.
describe('a worker thread stopped as it creates its log', () => {
  it('its log is never seen without its header: ps lists both threads, and the process replays', async ({ expect }) => {
    // The process ends the moment the worker's log appears (its 1 MB header is slow to write).
    const r = await recordAndReplay('loop/worker-log-appears.cjs');
    expect(r.record.stdout.toString()).toBe('the log appeared with its header\n');
    expectReplayMatches(expect, r);
    expect((await processes(expect, r.record)).map((p) => p.thread)).toEqual([0, 1]);
  });

  it('a log left empty, or with its header alone, is a thread that recorded nothing: ps, info and the replay of its process work', async ({
    expect,
  }) => {
    const rec = await record('loop/worker-log-appears.cjs', ['1000']);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    const log = logsOf(rec.dir).find((l) => /-t\d+\.rwnd$/.test(l))!;
    const header = TraceReader.open(log).preamble.length;
    for (const size of [header, 0]) {
      fs.truncateSync(log, size);
      const list = await rewind(['ps', rec.dir]);
      expect(list.status, `${size} bytes: ${list.stderr}`).toBe(0);
      expect(list.stdout.toString()).toMatch(
        /^\s+\d+\s+\d+\s+1\s+worker 1\s+0\s+worker thread stopped before it recorded anything/m,
      );
      const [main] = await processes(expect, rec);
      expect(main).toMatchObject({ thread: 0, ended: 'exit code 0 (process.exit())' });
      const about = await rewind(['info', rec.dir]);
      expect(about.status, about.stderr.toString()).toBe(0);
      expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
    }
    // Named alone, the empty log says where to look instead.
    const alone = await rewind(['info', log]);
    expect(alone.status).toBe(65);
    expect(alone.stderr.toString()).toMatch(/stopped before it recorded anything\. Its process replays without it/);
  });

  it("a process's own empty log is refused with what to do, not a stack", async ({ expect }) => {
    const rec = await record('loop/worker-log-appears.cjs', ['1000']);
    fs.truncateSync(
      logsOf(rec.dir).find((l) => !/-t\d+\.rwnd$/.test(l))!,
      0,
    );
    for (const command of ['ps', 'info', 'replay']) {
      const r = await rewind([command, rec.dir]);
      expect(r.status, command).toBe(65);
      expect(r.stderr.toString()).toMatch(/^rewind: the recording \S+ is empty \(0 bytes\).*Record the program again/);
      expect(r.stderr.toString()).not.toMatch(/\n\s+at /);
    }
  });
});

describe("rewind's own variables", () => {
  it('the program and its workers read at replay the REWIND_MODE they recorded; replaying writes nothing into the recording', async ({
    expect,
  }) => {
    const rec = await record('loop/worker-env-mode.cjs');
    const logs = () =>
      fs
        .readdirSync(rec.dir)
        .map((f) => `${f} ${fs.statSync(path.join(rec.dir, f)).size} ${fs.statSync(path.join(rec.dir, f)).mtimeMs}`);
    const before = logs().sort();
    const rep = await replay(rec.dir);
    expectReplayMatches(expect, { record: rec, replay: rep });
    expect(rec.stdout.toString()).toMatch(/^main record string 0\.\d+$/m);
    expect(rec.stdout.toString().match(/^(shared-env )?worker record 0\.\d+$/gm)).toHaveLength(2);
    expect(logs().sort()).toEqual(before);
  });

  it('a worker given an environment of its own, and one it starts, see exactly their environments and workerData, and are recorded', async ({
    expect,
  }) => {
    const plain = await runPlain('loop/worker-own-env.cjs');
    const r = await recordAndReplay('loop/worker-own-env.cjs');
    const shape = (out: Buffer) => out.toString().replace(/random=0\.\d+/g, 'random=R');
    expect(shape(r.record.stdout)).toBe(shape(plain.stdout));
    expect(shape(r.record.stdout)).toContain(
      'worker data={"level":1,"list":[1,2]} env={"A":"foo","NODE_OPTIONS":"--no-deprecation"}',
    );
    expect(shape(r.record.stdout)).toContain(
      'nested data={"level":2} env={"A":"foo","NODE_OPTIONS":"--no-deprecation"}',
    );
    expectReplayMatches(expect, r);
    // Both threads recorded into this recording (their random numbers came from their logs at replay).
    const threads = (await processes(expect, r.record)).filter((p) => p.thread !== 0);
    expect(threads.map((p) => [p.thread, p.ended])).toEqual([
      [1, 'exit code 0 (event loop empty)'],
      [2, 'exit code 0 (event loop empty)'],
    ]);
    for (const t of threads) expect(t.events).toBeGreaterThan(0);
    expect(fs.readdirSync(r.record.dir).filter((f) => f.endsWith('.rwnd'))).toHaveLength(3);
  });
});
