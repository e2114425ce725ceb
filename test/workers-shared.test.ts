// Threads that synchronise through shared memory and synchronous receipts, as pools and
// transports do (thread-stream under pino's transports, piscina): Atomics operations on a
// SharedArrayBuffer and receiveMessageOnPort find what another thread has done so far, a
// race. The replay reaches the same answers: the threads' Atomics operations happen in the
// recorded order, and a receipt takes the message the recorded one took.
import { afterAll, describe, it } from 'vitest';
import { cleanupTempDirs, eventsOf, expectReplayMatches, recordAndReplay } from './helpers.js';

afterAll(cleanupTempDirs);

describe.concurrent('worker threads sharing memory', () => {
  it('a ring buffer polled with Atomics.load while the worker takes its time (thread-stream)', async ({ expect }) => {
    const r = await recordAndReplay('loop/worker-shared-ring.cjs');
    const out = r.record.stdout.toString();
    // The worker's line and the main thread's first are in either order: the worker's output
    // reaches this thread over its port, racing the poll that sees what it stored (the replay
    // keeps the recorded order, checked below).
    const lines = out.split('\n');
    expect(lines, out).toHaveLength(4);
    expect(lines.slice(0, 2).sort().join('\n')).toMatch(
      /^main: read after (some|no) polls: \d+\nworker: read "hello 0\.\d{6}"$/,
    );
    expect(lines.slice(2)).toEqual(['main: worker exited 0', '']);
    expectReplayMatches(expect, r);
    // The polls are the main thread's Atomics loads, each in its recorded place.
    const loads = (await eventsOf(r.record.dir)).filter((e) => e.detail.startsWith('atomics.read ["load"'));
    expect(loads.length).toBe(Number(/polls: (\d+)/.exec(out)![1]) + 1);
  });

  it('tasks taken with receiveMessageOnPort between Atomics.waits, answers collected the same way, then terminate() (piscina)', async ({
    expect,
  }) => {
    const r = await recordAndReplay('loop/worker-sync-receive.cjs');
    const lines = r.record.stdout.toString().split('\n').filter(Boolean);
    expect(lines).toHaveLength(7);
    expect(lines.slice(0, 6).map((l) => /task (\d)/.exec(l)![1])).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(lines[6]).toBe('terminated while it waited: 1');
    expectReplayMatches(expect, r);
  });

  it("a worker given its task port in its first message, while Node's own stdio message to it comes before that message at replay, after it when recording (tinypool)", async ({
    expect,
  }) => {
    // The worker's own port to its parent took its op at its first message: recording, after
    // the task port's (received in the first message), at replay before it, and the worker's
    // receiveMessageOnPort(task port) went to another op than the recorded one.
    const r = await recordAndReplay('loop/worker-stdio-port.cjs');
    expect(r.record.stdout.toString()).toBe('worker took "task 1"\nworker exited 0\n');
    expectReplayMatches(expect, r);
  });

  it('a worker calls process.exit() in its own exit listener (thread-stream) and its parent exits without waiting: the replay ends at once', async ({
    expect,
  }) => {
    const r = await recordAndReplay('loop/worker-exit-in-exit.cjs');
    expect(r.record.stdout.toString()).toMatch(/^worker said bye 0\.\d{6}\n$/);
    expectReplayMatches(expect, r);
    // Its parent's replay waited for it only until it had replayed its log (not its 60 s limit).
    expect(r.replay.stderr.toString()).not.toContain('had not replayed');
  });
});
