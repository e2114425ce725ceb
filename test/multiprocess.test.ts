// Recordings of several processes and threads: every Node process a command starts, and
// every worker thread, writes a log of its own into one recording; any process replays
// alone from its log (the others are part of its outside world); a worker thread replays
// within its process. `rewind replay` picks the process that failed.
import { afterAll, describe, it } from 'vitest';
import {
  cleanupTempDirs,
  describeRun,
  expectReplayMatches,
  record,
  replay,
  rewind,
  type RunResult,
} from './helpers.js';

afterAll(cleanupTempDirs);

/** The lines a process tagged with its name ("[B] ..."), in order. */
const linesOf = (out: Buffer, who: string) =>
  out
    .toString()
    .split('\n')
    .filter((l) => l.startsWith(`[${who}] `))
    .map((l) => `${l}\n`)
    .join('');

interface Ps {
  pid: number;
  ppid: number;
  thread: number;
  program: string;
  failed: string | null;
  default: boolean;
}

async function ps(dir: string): Promise<Ps[]> {
  const r = await rewind(['ps', dir, '--json']);
  if (r.status !== 0) throw new Error(describeRun('rewind ps', r));
  return r.stdout
    .toString()
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Ps);
}

describe.concurrent('several processes and a worker thread', () => {
  it('two forked children and a worker exchange messages; one child crashes; each replays alone', async ({
    expect,
  }) => {
    const rec = await record('mp/main.mjs');
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(linesOf(rec.stdout, 'B')).toMatch(/^\[B\] got \{"job":1,"x":\d+\}\n$/);
    expect(rec.stderr.toString()).toMatch(/TypeError: Cannot read properties of null \(reading 'factor'\)/);

    const list = await ps(rec.dir);
    // four logs: the main process, its worker thread, children A and B
    expect(list.map((p) => [p.program, p.thread])).toEqual(
      expect.arrayContaining([
        ['main', 0],
        ['worker 1', 1],
        ['child', 0],
        ['child', 0],
      ]),
    );
    expect(list).toHaveLength(4);
    const main = list.find((p) => p.program === 'main')!;
    const [b, a] = [list.find((p) => p.failed)!, list.find((p) => p.program === 'child' && !p.failed)!];
    expect(b.failed).toMatch(/^uncaught exception: TypeError: Cannot read properties of null/);
    expect(b.default).toBe(true);
    expect([a.ppid, b.ppid]).toEqual([main.pid, main.pid]);

    // The crashed child alone, by default: its output and its crash, byte for byte.
    const crashed = await replay(rec.dir);
    expect(crashed.status, describeRun('replay of B', crashed)).toBe(1);
    expect(crashed.stdout.toString()).toBe(linesOf(rec.stdout, 'B'));
    expect(crashed.stderr.toString()).toBe(rec.stderr.toString());

    // The others, each alone (the main process with its worker thread).
    const alone = async (who: string, p: number | string, recorded: RunResult) => {
      const r = await replay(rec.dir, { flags: ['-p', String(p)] });
      expect(r.status, describeRun(`replay of ${who}`, r)).toBe(0);
      expect(r.stdout.toString(), `${who} replays its own output`).toBe(linesOf(recorded.stdout, who));
      expect(r.stderr.toString()).toBe('');
    };
    await alone('A', a.pid, rec);
    // The main process forked its children with its own stdout and stderr (fork's default):
    // their output is part of what it printed, and its replay prints it all, as recorded.
    const whole = await replay(rec.dir, { flags: ['-p', 'main'] });
    expect(whole.status, describeRun('replay of main', whole)).toBe(0);
    expect(whole.stdout.toString()).toBe(rec.stdout.toString());
    expect(whole.stderr.toString()).toBe(rec.stderr.toString());
  });

  it('-p PID means that process even where a program is named by the same number', async ({ expect }) => {
    const rec = await record('mp/named-by-pid.cjs');
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stdout.toString()).toBe('child of its parent true\nparent true\n');
    const list = await ps(rec.dir);
    const parent = list.find((p) => p.program === 'named-by-pid')!;
    expect(list.find((p) => p.ppid === parent.pid)?.program).toBe(String(parent.pid));
    const r = await replay(rec.dir, { flags: ['-p', String(parent.pid)] });
    expect(r.status, describeRun('replay -p', r)).toBe(0);
    expect(r.stdout.toString()).toBe(rec.stdout.toString());
  });

  it("a forked child whose large send completes after it unrefs its channel ends at replay too, alone (jest-worker's end)", async ({
    expect,
  }) => {
    const rec = await record('mp/ipc-unref.cjs');
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stdout.toString()).toBe('parent got 4194304\nchild exit 0 null\n');
    const child = (await ps(rec.dir)).find((p) => p.program === 'ipc-unref' && !p.default)!;
    const events = (await rewind(['events', rec.dir, '-p', String(child.pid), '--no-sites'])).stdout.toString();
    // The send's completion is a turn: Node sets its callback after the write returned.
    expect(events).toMatch(/turn +stream\.writeDone callback/);
    const alone = await replay(rec.dir, { flags: ['-p', String(child.pid)] });
    // Before, the replayed channel stayed referenced: rewind ended the child after a grace period, saying so.
    expect(alone.stderr.toString(), describeRun('replay -p child', alone)).toBe('');
    expect(alone.status).toBe(0);
    expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
  });

  it('children a pool stopped with SIGINT and SIGKILL did not fail: `rewind replay` means the parent', async ({
    expect,
  }) => {
    const rec = await record('mp/pool-stop.cjs');
    expect(rec.status, describeRun('record', rec)).toBe(0);
    const list = await ps(rec.dir);
    expect(list.filter((p) => p.thread === 0)).toHaveLength(3);
    const parent = list.find((p) => p.default)!;
    expect(list.filter((p) => p.ppid === parent.pid).map((p) => p.failed)).toEqual([null, null]);
    // The parent's output is the recording's: the default replay is the parent's.
    expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
  });

  it('a failure no one saw (a child whose stdout and stderr were /dev/null) is not what `rewind replay` means', async ({
    expect,
  }) => {
    const rec = await record('mp/unseen-failure.cjs');
    expect(rec.status, describeRun('record', rec)).toBe(1);
    expect(rec.stderr.toString()).toContain('Error: the test failed');
    const list = await ps(rec.dir);
    const dog = list.find((p) => /SyntaxError/.test(p.failed ?? ''))!;
    expect(dog, JSON.stringify(list)).toBeDefined();
    expect(dog.default).toBe(false);
    expect(list.find((p) => p.default)!.failed).toMatch(/the test failed/);
    const rep = await replay(rec.dir);
    expect(rep.status, describeRun('replay', rep)).toBe(1);
    expect(rep.stderr.toString()).toContain('Error: the test failed');
  });

  it('a worker thread records into its own log and replays with its process', async ({ expect }) => {
    const rec = await record('mp/worker-chat.mjs');
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect((await ps(rec.dir)).map((p) => p.thread).sort()).toEqual([0, 1]);
    expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
  });
});
