// Acceptance: the threads of `rewind dap` other than thread 1, driven by a real DAP client
// (@vscode/debugadapter-testsupport's DebugClient). A worker thread of the replayed process is
// a thread of its own (stops, steps, stack, locals); a forked child's thread goes back by
// re-executing the child's replay, and lands on the locals a forward run saw.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NODE, ROOT, baseEnv, cleanupTempDirs, eventsOf, fixture, record, tempDir, type EventJson } from './helpers.js';

afterAll(cleanupTempDirs);

const WAIT_MS = 60_000;
/** Thread ids: 1 the launched process, 2.. its other processes, 10.. its worker threads. */
const FIRST_WORKER = 10;

let ADAPTER: string;
beforeAll(() => {
  ADAPTER = path.join(tempDir(), 'rewind-dap.mjs');
  fs.writeFileSync(
    ADAPTER,
    `import { main } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist/cli/index.js')).href)};\nawait main([process.argv[0], 'rewind', 'dap']);\n`,
  );
});

let dc: DebugClient | undefined;
afterEach(async () => {
  await dc?.stop();
  dc = undefined;
});

const lineOf = (file: string, marker: string): number =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .findIndex((l) => l.includes(marker)) + 1;

/** The next event `name` that `accept` takes (each wait has the client's timeout). */
function eventWhere(name: string, accept: (e: DebugProtocol.Event) => boolean): Promise<DebugProtocol.Event> {
  return dc!.waitForEvent(name).then((e) => (accept(e) ? e : eventWhere(name, accept)));
}

/** Starts the adapter. */
async function open(): Promise<void> {
  dc = new DebugClient(NODE, ADAPTER, 'rewind', { env: baseEnv() });
  dc.defaultTimeout = WAIT_MS;
  await dc.start();
}

/** Launches at the recording's start (or before event `stopOn`) with a breakpoint at `file`:`line`. */
async function launch(
  recording: string,
  file: string,
  line: number,
  process?: string,
  stopOn: 'start' | number = 'start',
): Promise<void> {
  await Promise.all([
    dc!.waitForEvent('initialized').then(async () => {
      await dc!.setBreakpointsRequest({ source: { path: file }, breakpoints: [{ line }] });
      await dc!.configurationDoneRequest();
    }),
    dc!.initializeRequest({ adapterID: 'rewind', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' }),
    dc!.launch({ recording, process, stopOn }),
  ]);
}

/** The top frame of `threadId`: its place, and `i` and `draw` read from its block scope. */
async function top(threadId: number): Promise<{ path?: string; line: number; i: string; draw: string }> {
  const frame = (await dc!.stackTraceRequest({ threadId })).body.stackFrames[0];
  const scopes = await dc!.scopesRequest({ frameId: frame.id });
  const block = scopes.body.scopes.find((s) => s.name === 'Block')!;
  const vars = (await dc!.variablesRequest({ variablesReference: block.variablesReference })).body.variables;
  const i = (await dc!.evaluateRequest({ expression: 'i', frameId: frame.id })).body.result;
  // Out of keep(), at the loop's update, the block scope is the loop's own: no draw there.
  return { path: frame.source?.path, line: frame.line, i, draw: vars.find((v) => v.name === 'draw')?.value ?? '-' };
}

/** The turn of dap-worker.cjs's main thread in which its message listener prints the worker's sum. */
async function listenerTurn(dir: string): Promise<EventJson> {
  const events = await eventsOf(dir);
  const printed = events.findIndex((e) => e.kind === 'output' && e.detail.includes('main got'));
  const turn = events.slice(0, printed).findLast((e) => e.kind === 'turn')!;
  // After the worker's own output: the worker has run its job by then.
  expect(events.findIndex((e) => e.kind === 'output' && e.detail.includes('worker draws'))).toBeLessThan(
    events.indexOf(turn),
  );
  return turn;
}

/** The turn of dap-worker-thread.cjs's own log that delivers its job: the last one before it prints its draws (a worker's log is named after its thread). */
async function workerJob(dir: string): Promise<EventJson> {
  // A worker's output passes through its parent threads, whose logs hold it too: the innermost thread's.
  const logs = fs
    .readdirSync(dir)
    .map((f) => /-(\d+)-t(\d+)\.rwnd$/.exec(f))
    .filter((m) => m !== null)
    .sort((a, b) => Number(b[2]) - Number(a[2]));
  for (const [, pid, thread] of logs) {
    const events = await eventsOf(dir, { process: `${pid}/${thread}` });
    const printed = events.findIndex((e) => e.kind === 'output' && e.detail.includes('worker draws'));
    if (printed >= 0) return events.slice(0, printed).findLast((e) => e.kind === 'turn')!;
  }
  throw new Error(`no worker log of ${dir} prints its draws`);
}

describe('rewind dap: threads', () => {
  it("a worker thread is a thread: it stops at a breakpoint in the worker's code, steps, shows its locals; the main thread's output is the recorded one", async () => {
    const rec = await record('dap-worker.cjs');
    expect(rec.status, rec.stderr.toString()).toBe(0);
    const draws = /worker draws ([\d,]+)/.exec(rec.stdout.toString())![1].split(',');
    const workerFile = fixture('dap-worker-thread.cjs');
    const loopLine = lineOf(workerFile, '// worker loop');
    const output: string[] = [];
    await open();
    const started = eventWhere('thread', (e) => e.body.reason === 'started');
    await launch(rec.dir, workerFile, loopLine);
    dc!.on('output', (e: DebugProtocol.OutputEvent) => {
      if (e.body.category === 'stdout') output.push(e.body.output);
    });
    expect((await started).body.threadId).toBe(FIRST_WORKER);
    const threads = (await dc!.threadsRequest()).body.threads;
    expect(threads.map((t) => t.id)).toEqual([1, FIRST_WORKER]);
    expect(threads[1].name).toMatch(/worker.*dap-worker-thread\.cjs/);
    // The main thread is paused at its first event: the job goes to the worker once it runs.
    const [first] = await Promise.all([
      eventWhere('stopped', (e) => e.body.threadId === FIRST_WORKER),
      dc!.continueRequest({ threadId: 1 }),
    ]);
    expect(first.body.reason).toBe('breakpoint');
    const seen = [await top(FIRST_WORKER)];
    expect(seen[0]).toEqual({ path: workerFile, line: loopLine, i: '0', draw: draws[0] });
    // Evaluated while the worker is paused: off its log (its later draws are still the recorded ones, below).
    const paused = (await dc!.stackTraceRequest({ threadId: FIRST_WORKER })).body.stackFrames[0];
    const live = await dc!.evaluateRequest({ expression: 'Math.random() + Date.now()', frameId: paused.id });
    expect(Number(live.body.result)).toBeGreaterThan(0);
    // A step in the worker: to the next line of its loop, the same locals.
    const [step] = await Promise.all([
      eventWhere('stopped', (e) => e.body.threadId === FIRST_WORKER),
      dc!.nextRequest({ threadId: FIRST_WORKER }),
    ]);
    expect(step.body.reason).toBe('step');
    expect(await top(FIRST_WORKER)).toEqual({ ...seen[0], line: loopLine + 1 });
    // Into keep() and out again, on the worker's thread.
    const [into] = await Promise.all([
      eventWhere('stopped', (e) => e.body.threadId === FIRST_WORKER),
      dc!.stepInRequest({ threadId: FIRST_WORKER }),
    ]);
    expect(into.body.reason).toBe('step');
    const inKeep = (await dc!.stackTraceRequest({ threadId: FIRST_WORKER })).body.stackFrames;
    expect(inKeep[0]).toMatchObject({ name: 'keep', line: lineOf(workerFile, '// worker keeps') });
    const drawInKeep = await dc!.evaluateRequest({ expression: 'draw', frameId: inKeep[0].id });
    expect(drawInKeep.body.result).toBe(draws[0]);
    await Promise.all([
      eventWhere('stopped', (e) => e.body.threadId === FIRST_WORKER),
      dc!.stepOutRequest({ threadId: FIRST_WORKER }),
    ]);
    const out = (await dc!.stackTraceRequest({ threadId: FIRST_WORKER })).body.stackFrames[0];
    expect(out.source?.path).toBe(workerFile);
    expect(out.name).not.toBe('keep');
    expect((await dc!.evaluateRequest({ expression: 'i', frameId: out.id })).body.result).toBe('0');
    const stepped = await top(FIRST_WORKER);
    for (let k = 1; k < 3; k++) {
      const [e] = await Promise.all([
        eventWhere('stopped', (e) => e.body.threadId === FIRST_WORKER),
        dc!.continueRequest({ threadId: FIRST_WORKER }),
      ]);
      expect(e.body.reason).toBe('breakpoint');
      seen.push(await top(FIRST_WORKER));
    }
    // The worker's locals at each hit are the recorded run's draws.
    expect(seen.map((s) => [s.i, s.draw])).toEqual(draws.map((d, i) => [String(i), d]));
    // Going back in the worker's thread: its process replays again, and the worker lands on
    // the state a forward run saw, step by step and stop by stop.
    const inWorker = async (request: () => Promise<unknown>) =>
      (await Promise.all([eventWhere('stopped', (e) => e.body.threadId === FIRST_WORKER), request()]))[0];
    expect((await inWorker(() => dc!.stepBackRequest({ threadId: FIRST_WORKER }))).body.reason).toBe('step');
    expect(await top(FIRST_WORKER)).toEqual(seen[1]);
    expect((await inWorker(() => dc!.stepBackRequest({ threadId: FIRST_WORKER }))).body.reason).toBe('step');
    expect(await top(FIRST_WORKER)).toEqual(stepped);
    expect((await inWorker(() => dc!.reverseContinueRequest({ threadId: FIRST_WORKER }))).body.reason).toBe(
      'breakpoint',
    );
    expect(await top(FIRST_WORKER)).toEqual(seen[0]);
    // No stop before the first: the worker stays there.
    expect((await inWorker(() => dc!.reverseContinueRequest({ threadId: FIRST_WORKER }))).body.reason).toBe('entry');
    expect(await top(FIRST_WORKER)).toEqual(seen[0]);
    // And forwards again: the same hits.
    for (const expected of seen.slice(1)) {
      expect((await inWorker(() => dc!.continueRequest({ threadId: FIRST_WORKER }))).body.reason).toBe('breakpoint');
      expect(await top(FIRST_WORKER)).toEqual(expected);
    }
    // The main thread, running all along, waits for the worker's message in its recorded place:
    // it stops in its message listener only once the worker goes on, with the worker's sum.
    const mainFile = fixture('dap-worker.cjs');
    await dc!.setBreakpointsRequest({
      source: { path: mainFile },
      breakpoints: [{ line: lineOf(mainFile, '// main got') }],
    });
    await dc!.setBreakpointsRequest({ source: { path: workerFile }, breakpoints: [] });
    const exited = eventWhere('thread', (e) => e.body.reason === 'exited' && e.body.threadId === FIRST_WORKER);
    const [main] = await Promise.all([
      eventWhere('stopped', (e) => e.body.threadId === 1),
      dc!.continueRequest({ threadId: FIRST_WORKER }),
    ]);
    expect(main.body.reason).toBe('breakpoint');
    const frame = (await dc!.stackTraceRequest({ threadId: 1 })).body.stackFrames[0];
    const sum = draws.reduce((a, d) => a + Number(d), 0);
    expect((await dc!.evaluateRequest({ expression: 'm.sum', frameId: frame.id })).body.result).toBe(String(sum));
    // On to the end: the worker's thread exits, the run ends, and the output is the recorded run's, byte for byte.
    await dc!.setBreakpointsRequest({ source: { path: mainFile }, breakpoints: [] });
    const terminated = dc!.waitForEvent('terminated');
    await dc!.continueRequest({ threadId: 1 });
    await exited;
    await terminated;
    expect(output.join('').replace(/^\[#\d+\] /gm, '')).toBe(rec.stdout.toString());
  }, 120_000);

  it("goto and restartFrame in a worker thread: its process replays again, the worker stops before its own event or at the frame's entry, and from there the locals are a forward run's; nothing printed twice", async () => {
    const rec = await record('dap-worker.cjs');
    expect(rec.status, rec.stderr.toString()).toBe(0);
    const draws = /worker draws ([\d,]+)/.exec(rec.stdout.toString())![1].split(',');
    const workerFile = fixture('dap-worker-thread.cjs');
    const loopLine = lineOf(workerFile, '// worker loop');
    const keepLine = lineOf(workerFile, '// worker keeps');
    const listenerLine = lineOf(workerFile, 'const draws = []');
    // The worker's own log: the turn that delivers its job.
    const job = await workerJob(rec.dir);
    const output: string[] = [];
    await open();
    await launch(rec.dir, workerFile, loopLine);
    dc!.on('output', (e: DebugProtocol.OutputEvent) => {
      if (e.body.category === 'stdout') output.push(e.body.output);
    });
    // The session ends once, at the end: not when a search for the frame's entry runs the process to its end.
    let terminations = 0;
    dc!.on('terminated', () => terminations++);
    const inWorker = async (request: () => Promise<unknown>) =>
      (await Promise.all([eventWhere('stopped', (e) => e.body.threadId === FIRST_WORKER), request()]))[0];
    expect((await inWorker(() => dc!.continueRequest({ threadId: 1 }))).body.reason).toBe('breakpoint');
    const forward = [await top(FIRST_WORKER)];
    for (let k = 1; k < 3; k++) {
      expect((await inWorker(() => dc!.continueRequest({ threadId: FIRST_WORKER }))).body.reason).toBe('breakpoint');
      forward.push(await top(FIRST_WORKER));
    }
    expect(forward.map((s) => [s.i, s.draw])).toEqual(draws.map((d, i) => [String(i), d]));
    // goto the worker's job turn: the worker pauses itself before it, on the listener's first line.
    expect((await inWorker(() => dc!.gotoRequest({ threadId: FIRST_WORKER, targetId: job.n }))).body.reason).toBe(
      'goto',
    );
    const atJob = (await dc!.stackTraceRequest({ threadId: FIRST_WORKER })).body.stackFrames[0];
    expect(atJob).toMatchObject({ source: { path: workerFile }, line: listenerLine });
    expect((await dc!.evaluateRequest({ expression: 'n', frameId: atJob.id })).body.result).toBe('3');
    // From there forwards: the hits of the forward run, the same locals.
    for (const expected of forward) {
      expect((await inWorker(() => dc!.continueRequest({ threadId: FIRST_WORKER }))).body.reason).toBe('breakpoint');
      expect(await top(FIRST_WORKER)).toEqual(expected);
    }
    // Back from there: one command less from the goto's event.
    expect((await inWorker(() => dc!.stepBackRequest({ threadId: FIRST_WORKER }))).body.reason).toBe('step');
    expect(await top(FIRST_WORKER)).toEqual(forward[1]);
    // restartFrame on the listener's frame (from its second hit): back to its entry in the same turn.
    const listener = (await dc!.stackTraceRequest({ threadId: FIRST_WORKER })).body.stackFrames[0];
    const restarted = await inWorker(() => dc!.restartFrameRequest({ frameId: listener.id }));
    expect(restarted.body.reason).toBe('restart');
    const entered = (await dc!.stackTraceRequest({ threadId: FIRST_WORKER })).body.stackFrames[0];
    expect(entered).toMatchObject({ name: listener.name, source: { path: workerFile }, line: listenerLine });
    expect((await dc!.evaluateRequest({ expression: 'n', frameId: entered.id })).body.result).toBe('3');
    expect((await inWorker(() => dc!.continueRequest({ threadId: FIRST_WORKER }))).body.reason).toBe('breakpoint');
    expect(await top(FIRST_WORKER)).toEqual(forward[0]);
    // Into keep() at the second draw, and restartFrame there: keep's second entry, its draw.
    expect((await inWorker(() => dc!.continueRequest({ threadId: FIRST_WORKER }))).body.reason).toBe('breakpoint');
    await inWorker(() => dc!.nextRequest({ threadId: FIRST_WORKER }));
    await inWorker(() => dc!.stepInRequest({ threadId: FIRST_WORKER }));
    await inWorker(() => dc!.nextRequest({ threadId: FIRST_WORKER }));
    const inKeep = (await dc!.stackTraceRequest({ threadId: FIRST_WORKER })).body.stackFrames[0];
    expect(inKeep).toMatchObject({ name: 'keep', source: { path: workerFile } });
    expect(inKeep.line).toBeGreaterThan(keepLine - 1);
    expect((await inWorker(() => dc!.restartFrameRequest({ frameId: inKeep.id }))).body.reason).toBe('restart');
    const keep = (await dc!.stackTraceRequest({ threadId: FIRST_WORKER })).body.stackFrames[0];
    expect(keep).toMatchObject({ name: 'keep', line: keepLine });
    expect((await dc!.evaluateRequest({ expression: 'draw', frameId: keep.id })).body.result).toBe(draws[1]);
    expect((await dc!.evaluateRequest({ expression: 'list.length', frameId: keep.id })).body.result).toBe('1');
    // On to the end: the output is the recorded run's, byte for byte, none of it twice.
    await dc!.setBreakpointsRequest({ source: { path: workerFile }, breakpoints: [] });
    const terminated = dc!.waitForEvent('terminated');
    await dc!.continueRequest({ threadId: FIRST_WORKER });
    await terminated;
    expect(terminations).toBe(1);
    expect(output.join('').replace(/^\[#\d+\] /gm, '')).toBe(rec.stdout.toString());
  }, 180_000);

  it("a worker's own worker thread is a thread: it stops in its code with the recorded locals, and goes back", async () => {
    const rec = await record('dap-nested.cjs');
    expect(rec.status, rec.stderr.toString()).toBe(0);
    const draws = /worker draws ([\d,]+)/.exec(rec.stdout.toString())![1].split(',');
    const workerFile = fixture('dap-worker-thread.cjs');
    const loopLine = lineOf(workerFile, '// worker loop');
    // Every worker of the process attaches to its main thread's inspector: the outer one first.
    const inner = FIRST_WORKER + 1;
    const output: string[] = [];
    await open();
    await launch(rec.dir, workerFile, loopLine);
    dc!.on('output', (e: DebugProtocol.OutputEvent) => {
      if (e.body.category === 'stdout') output.push(e.body.output);
    });
    const inInner = async (request: () => Promise<unknown>) =>
      (await Promise.all([eventWhere('stopped', (e) => e.body.threadId === inner), request()]))[0];
    expect((await inInner(() => dc!.continueRequest({ threadId: 1 }))).body.reason).toBe('breakpoint');
    const threads = (await dc!.threadsRequest()).body.threads;
    expect(threads.map((t) => t.id)).toEqual([1, FIRST_WORKER, inner]);
    expect(threads[1].name).toMatch(/worker 1.*dap-nested-outer\.cjs/);
    expect(threads[2].name).toMatch(/worker 2.*dap-worker-thread\.cjs/);
    const seen = [await top(inner)];
    for (let k = 1; k < 3; k++) {
      expect((await inInner(() => dc!.continueRequest({ threadId: inner }))).body.reason).toBe('breakpoint');
      seen.push(await top(inner));
    }
    expect(seen.map((s) => [s.path, s.line, s.i, s.draw])).toEqual(
      draws.map((d, i) => [workerFile, loopLine, String(i), d]),
    );
    // Back in the nested worker: its process replays again, the worker lands on the same locals.
    expect((await inInner(() => dc!.stepBackRequest({ threadId: inner }))).body.reason).toBe('step');
    expect(await top(inner)).toEqual(seen[1]);
    expect((await inInner(() => dc!.reverseContinueRequest({ threadId: inner }))).body.reason).toBe('breakpoint');
    expect(await top(inner)).toEqual(seen[0]);
    // goto the nested worker's job turn, then forwards: its first hit again.
    const job = await workerJob(rec.dir);
    expect((await inInner(() => dc!.gotoRequest({ threadId: inner, targetId: job.n }))).body.reason).toBe('goto');
    const atJob = (await dc!.stackTraceRequest({ threadId: inner })).body.stackFrames[0];
    expect(atJob).toMatchObject({ source: { path: workerFile }, line: lineOf(workerFile, 'const draws = []') });
    expect((await inInner(() => dc!.continueRequest({ threadId: inner }))).body.reason).toBe('breakpoint');
    expect(await top(inner)).toEqual(seen[0]);
    // restartFrame from its second hit: the listener's entry; forwards, its first hit again.
    expect((await inInner(() => dc!.continueRequest({ threadId: inner }))).body.reason).toBe('breakpoint');
    const listener = (await dc!.stackTraceRequest({ threadId: inner })).body.stackFrames[0];
    expect((await inInner(() => dc!.restartFrameRequest({ frameId: listener.id }))).body.reason).toBe('restart');
    expect((await dc!.stackTraceRequest({ threadId: inner })).body.stackFrames[0]).toMatchObject({
      name: listener.name,
      line: atJob.line,
    });
    expect((await inInner(() => dc!.continueRequest({ threadId: inner }))).body.reason).toBe('breakpoint');
    expect(await top(inner)).toEqual(seen[0]);
    // On to the end: the output is the recorded run's, byte for byte, none of it twice.
    await dc!.setBreakpointsRequest({ source: { path: workerFile }, breakpoints: [] });
    const terminated = dc!.waitForEvent('terminated');
    await dc!.continueRequest({ threadId: inner });
    await terminated;
    expect(output.join('').replace(/^\[#\d+\] /gm, '')).toBe(rec.stdout.toString());
  }, 120_000);

  it('breakpoints hold from the first line of a worker thread started once the adapter attached, by a worker started before', async () => {
    const rec = await record('dap-nested.cjs');
    expect(rec.status, rec.stderr.toString()).toBe(0);
    const innerFile = fixture('dap-worker-thread.cjs');
    const firstLine = lineOf(innerFile, "require('node:worker_threads')");
    await open();
    await launch(rec.dir, innerFile, firstLine);
    // More breakpoints, set before the inner worker's own: adopting a worker takes a while
    // (each one a round trip through the main thread's session), while its first line comes
    // right after its preload. Node holds only the workers a held thread starts; the outer
    // one started before the adapter attached.
    const others = Array.from({ length: 20 }, (_, i) => ({ line: 1000 + i }));
    await dc!.setBreakpointsRequest({ source: { path: fixture('dap-nested.cjs') }, breakpoints: others });
    await dc!.setBreakpointsRequest({ source: { path: innerFile }, breakpoints: [{ line: firstLine }] });
    const inner = FIRST_WORKER + 1;
    const [e] = await Promise.all([
      eventWhere('stopped', (e) => e.body.threadId === inner),
      dc!.continueRequest({ threadId: 1 }),
    ]);
    expect(e.body.reason).toBe('breakpoint');
    const frame = (await dc!.stackTraceRequest({ threadId: inner })).body.stackFrames[0];
    expect(frame).toMatchObject({ source: { path: innerFile }, line: firstLine });
  }, 120_000);

  it("stopped at an event after a worker thread started, and one the main thread reaches only with the worker's message: a breakpoint on the worker's first statement is hit", async () => {
    const rec = await record('dap-worker.cjs');
    expect(rec.status, rec.stderr.toString()).toBe(0);
    const stdout = rec.stdout.toString();
    const sum = /main got \{"sum":(\d+)\}/.exec(stdout)![1];
    const workerFile = fixture('dap-worker-thread.cjs');
    const firstLine = lineOf(workerFile, "require('node:worker_threads')");
    const mainFile = fixture('dap-worker.cjs');
    const gotLine = lineOf(mainFile, '// main got');
    // The main thread's message listener: its turn comes only once the worker has sent its sum.
    const listener = await listenerTurn(rec.dir);
    const output: string[] = [];
    await open();
    dc!.on('output', (e: DebugProtocol.OutputEvent) => {
      if (e.body.category === 'stdout') output.push(e.body.output);
    });
    const inWorker = eventWhere('stopped', (e) => e.body.threadId === FIRST_WORKER);
    const inMain = eventWhere('stopped', (e) => e.body.threadId === 1);
    const launched = launch(rec.dir, workerFile, firstLine, undefined, listener.n);
    // The worker started (in the main script) long before the stop: it waited for the breakpoints all the same.
    expect((await inWorker).body.reason).toBe('breakpoint');
    const frame = (await dc!.stackTraceRequest({ threadId: FIRST_WORKER })).body.stackFrames[0];
    expect(frame).toMatchObject({ source: { path: workerFile }, line: firstLine });
    // The main thread waits for the worker's message; once the worker goes on, it reaches its stop.
    await dc!.continueRequest({ threadId: FIRST_WORKER });
    await launched;
    expect((await inMain).body.reason).toBe('entry');
    expect(((await dc!.customRequest('rewind/position')).body as { turn: number }).turn).toBe(listener.n);
    // The stop is that turn's callback, the listener, on its first line: settled through Node's
    // dispatch of the message (40-odd statements of event_target and events), not left inside it.
    const atStop = (await dc!.stackTraceRequest({ threadId: 1 })).body.stackFrames[0];
    expect(atStop).toMatchObject({ source: { path: mainFile }, line: lineOf(mainFile, '// main receives') });
    // In that turn, the listener runs with the worker's sum.
    await dc!.setBreakpointsRequest({ source: { path: workerFile }, breakpoints: [] });
    await dc!.setBreakpointsRequest({ source: { path: mainFile }, breakpoints: [{ line: gotLine }] });
    const [got] = await Promise.all([
      eventWhere('stopped', (e) => e.body.threadId === 1),
      dc!.continueRequest({ threadId: 1 }),
    ]);
    expect(got.body.reason).toBe('breakpoint');
    const top1 = (await dc!.stackTraceRequest({ threadId: 1 })).body.stackFrames[0];
    expect(top1).toMatchObject({ source: { path: mainFile }, line: gotLine });
    expect((await dc!.evaluateRequest({ expression: 'm.sum', frameId: top1.id })).body.result).toBe(sum);
    // On to the end: what the main thread prints from its stop is the recorded output, byte for byte.
    await dc!.setBreakpointsRequest({ source: { path: mainFile }, breakpoints: [] });
    const terminated = dc!.waitForEvent('terminated');
    await dc!.continueRequest({ threadId: 1 });
    await terminated;
    expect(output.join('').replace(/^\[#\d+\] /gm, '')).toBe(stdout.slice(stdout.indexOf('main got')));
  }, 120_000);

  it("a replay whose main thread needs a worker's message to reach its stop does not wait for the debugger: launch, stepBack and reverseContinue land there", async () => {
    const rec = await record('dap-worker.cjs');
    expect(rec.status, rec.stderr.toString()).toBe(0);
    const sum = /main got \{"sum":(\d+)\}/.exec(rec.stdout.toString())![1];
    const mainFile = fixture('dap-worker.cjs');
    const gotLine = lineOf(mainFile, '// main got');
    const listener = await listenerTurn(rec.dir);
    await open();
    // A breakpoint in the listener; none in the worker: the replay gets to its stop by itself.
    const stopped = eventWhere('stopped', (e) => e.body.threadId === 1);
    await launch(rec.dir, mainFile, gotLine, undefined, listener.n);
    expect((await stopped).body.reason).toBe('entry');
    const position = async () => (await dc!.customRequest('rewind/position')).body as { turn: number; steps: number };
    expect(await position()).toMatchObject({ turn: listener.n, steps: 0 });
    const inMain = async (request: () => Promise<unknown>) =>
      (await Promise.all([eventWhere('stopped', (e) => e.body.threadId === 1), request()]))[0];
    const at = async () => {
      const f = (await dc!.stackTraceRequest({ threadId: 1 })).body.stackFrames[0];
      const got = (await dc!.evaluateRequest({ expression: 'm.sum', frameId: f.id })).body.result;
      return { path: f.source?.path, line: f.line, sum: got };
    };
    const hit = { path: mainFile, line: gotLine, sum };
    // The stop settles into the turn's callback: the listener's first line, its message in hand.
    const stop = (await dc!.stackTraceRequest({ threadId: 1 })).body.stackFrames[0];
    expect(stop).toMatchObject({ source: { path: mainFile }, line: lineOf(mainFile, '// main receives') });
    expect((await dc!.evaluateRequest({ expression: 'm.sum', frameId: stop.id })).body.result).toBe(sum);
    expect((await inMain(() => dc!.continueRequest({ threadId: 1 }))).body.reason).toBe('breakpoint');
    expect(await at()).toEqual(hit);
    // Back a step (a standby replay, whose worker waited for the session's breakpoints), and forward again.
    expect((await inMain(() => dc!.stepBackRequest({ threadId: 1 }))).body.reason).toBe('step');
    expect(await position()).toMatchObject({ turn: listener.n, steps: 0 });
    expect((await inMain(() => dc!.continueRequest({ threadId: 1 }))).body.reason).toBe('breakpoint');
    expect(await at()).toEqual(hit);
    // A step on, then reverse-continue: the same hit.
    expect((await inMain(() => dc!.nextRequest({ threadId: 1 }))).body.reason).toBe('step');
    expect((await inMain(() => dc!.reverseContinueRequest({ threadId: 1 }))).body.reason).toBe('breakpoint');
    expect(await at()).toEqual(hit);
    // Back past the stop: an earlier turn, the worker started before it and its message not yet there.
    expect((await inMain(() => dc!.stepBackRequest({ threadId: 1 }))).body.reason).toBe('step');
    expect((await inMain(() => dc!.stepBackRequest({ threadId: 1 }))).body.reason).toBe('step');
    expect((await position()).turn).toBeLessThan(listener.n);
  }, 120_000);

  it("a forked child's thread goes back: stepBack and reverseContinue land on the locals a forward run saw", async () => {
    const rec = await record('dap-fork.cjs');
    expect(rec.status, rec.stderr.toString()).toBe(0);
    const draws = /child draws ([\d,]+)/.exec(rec.stdout.toString())![1].split(',');
    const childFile = fixture('dap-fork-child.cjs');
    const loopLine = lineOf(childFile, '// child loop');
    await open();
    const child = () => eventWhere('stopped', (e) => e.body.threadId === 2) as Promise<DebugProtocol.StoppedEvent>;
    // The child's first stop comes by itself once the session runs.
    const firstStop = child();
    await launch(rec.dir, childFile, loopLine, 'dap-fork');
    expect((await firstStop).body.reason).toBe('breakpoint');
    const forward = [await top(2)];
    for (let k = 1; k < 3; k++) {
      await Promise.all([child(), dc!.continueRequest({ threadId: 2 })]);
      forward.push(await top(2));
    }
    expect(forward.map((f) => [f.path, f.line, f.i, f.draw])).toEqual(
      draws.map((d, i) => [childFile, loopLine, String(i), d]),
    );
    const step = (await Promise.all([child(), dc!.nextRequest({ threadId: 2 })]))[0];
    expect(step.body.reason).toBe('step');
    const stepped = await top(2);
    expect(stepped).toEqual({ ...forward[2], line: loopLine + 1 });
    // Back one step: the third hit again; back once more: the second.
    for (const expected of [forward[2], forward[1]]) {
      const [e] = await Promise.all([child(), dc!.stepBackRequest({ threadId: 2 })]);
      expect(e.body.reason).toBe('step');
      expect(await top(2)).toEqual(expected);
    }
    // Reverse-continue: the first hit, then the child's first event (no hit before it).
    const [back] = await Promise.all([child(), dc!.reverseContinueRequest({ threadId: 2 })]);
    expect(back.body.reason).toBe('breakpoint');
    expect(await top(2)).toEqual(forward[0]);
    const [start] = await Promise.all([child(), dc!.reverseContinueRequest({ threadId: 2 })]);
    expect(start.body.reason).toBe('entry');
    // And forwards again from there: the same hits.
    for (const expected of forward) {
      await Promise.all([child(), dc!.continueRequest({ threadId: 2 })]);
      expect(await top(2)).toEqual(expected);
    }
    // Thread 1, the parent, was not moved: it is still at its first event.
    const parent = (await dc!.stackTraceRequest({ threadId: 1 })).body.stackFrames;
    expect(parent.every((f) => f.source?.path !== childFile)).toBe(true);
  }, 120_000);

  it("goto and restartFrame in a forked child's thread: its replay runs again to that event or entry, and from there the locals are a forward run's", async () => {
    const rec = await record('dap-fork.cjs');
    expect(rec.status, rec.stderr.toString()).toBe(0);
    const childFile = fixture('dap-fork-child.cjs');
    const loopLine = lineOf(childFile, '// child loop');
    const printLine = lineOf(childFile, 'console.log(`child draws');
    await open();
    const child = () => eventWhere('stopped', (e) => e.body.threadId === 2) as Promise<DebugProtocol.StoppedEvent>;
    const firstStop = child();
    await launch(rec.dir, childFile, loopLine, 'dap-fork');
    await firstStop;
    const forward = [await top(2)];
    for (let k = 1; k < 3; k++) {
      await Promise.all([child(), dc!.continueRequest({ threadId: 2 })]);
      forward.push(await top(2));
    }
    // The child's events are goto targets on its lines, each naming thread 2.
    const targets = (await dc!.gotoTargetsRequest({ source: { path: childFile }, line: printLine })).body.targets;
    expect(targets.map((t) => [Math.floor(t.id / 1e9), t.label])).toEqual([
      [2, expect.stringMatching(/^dap-fork-child \d+ #\d+ output/)],
    ]);
    // goto the child's first event (its one turn: the job arrives): a fresh replay of the child stops before it.
    const [gone] = await Promise.all([child(), dc!.gotoRequest({ threadId: 2, targetId: 1 })]);
    expect(gone.body.reason).toBe('goto');
    const position = (await dc!.customRequest('rewind/position')).body as { turn: number };
    expect(position.turn).toBe(0); // thread 1 was not moved
    // From there forwards: the same hits, the same locals.
    for (const expected of forward) {
      await Promise.all([child(), dc!.continueRequest({ threadId: 2 })]);
      expect(await top(2)).toEqual(expected);
    }
    // Back from a hit: one command less from the goto's event, the previous hit.
    await Promise.all([child(), dc!.stepBackRequest({ threadId: 2 })]);
    expect(await top(2)).toEqual(forward[1]);
    // At the event itself, no step is left to go back: the child's first event.
    await Promise.all([child(), dc!.customRequest('rewind/goto', { event: 1, threadId: 2 })]);
    await expect(dc!.stepBackRequest({ threadId: 2 })).rejects.toThrow(/first event/);
    // restartFrame in the child's thread: back to the entry of the job listener, in the same
    // turn, from its first and its second hit; from there, the hits of a forward run again.
    await Promise.all([child(), dc!.continueRequest({ threadId: 2 })]);
    expect(await top(2)).toEqual(forward[0]);
    for (const hits of [1, 2]) {
      for (let k = 1; k < hits; k++) await Promise.all([child(), dc!.continueRequest({ threadId: 2 })]);
      const listener = (await dc!.stackTraceRequest({ threadId: 2 })).body.stackFrames[0];
      const [restarted] = await Promise.all([child(), dc!.restartFrameRequest({ frameId: listener.id })]);
      expect(restarted.body.reason).toBe('restart');
      const entered = (await dc!.stackTraceRequest({ threadId: 2 })).body.stackFrames[0];
      expect(entered).toMatchObject({ name: listener.name, source: { path: childFile } });
      expect(entered.line).toBeLessThan(loopLine);
      expect((await dc!.evaluateRequest({ expression: 'n', frameId: entered.id })).body.result).toBe('3');
      await Promise.all([child(), dc!.continueRequest({ threadId: 2 })]);
      expect(await top(2)).toEqual(forward[0]);
    }
  }, 120_000);

  it('restartFrame on an async function resumed after its await: back to its entry in an earlier turn, or refused when that entry is not one call', async () => {
    const rec = await record('dap-async.cjs');
    expect(rec.status, rec.stderr.toString()).toBe(0);
    const file = fixture('dap-async.cjs');
    const entry = lineOf(file, '// entry');
    const after = lineOf(file, '// after await');
    await open();
    await launch(rec.dir, file, entry);
    await dc!.setBreakpointsRequest({ source: { path: file }, breakpoints: [{ line: entry }, { line: after }] });
    const locals = async () => {
      const frame = (await dc!.stackTraceRequest({ threadId: 1 })).body.stackFrames[0];
      const scopes = await dc!.scopesRequest({ frameId: frame.id });
      const local = scopes.body.scopes.find((s) => s.name === 'Locals')!;
      const vars = (await dc!.variablesRequest({ variablesReference: local.variablesReference })).body.variables;
      return { line: frame.line, name: frame.name, vars: Object.fromEntries(vars.map((v) => [v.name, v.value])) };
    };
    const stop = async () => {
      await Promise.all([dc!.waitForEvent('stopped'), dc!.continueRequest({ threadId: 1 })]);
      return locals();
    };
    const entered = await stop();
    const position = async () => (await dc!.customRequest('rewind/position')).body as { turn: number };
    const enteredIn = (await position()).turn;
    expect(entered.line).toBe(entry);
    expect(entered.vars.label).toBe('"once"');
    const resumed = await stop();
    expect(resumed.line).toBe(after);
    expect(resumed.vars.label).toBe('"once"');
    // Resumed in the sleep's timer turn, the second turn: the pause has no frame of rewind's, and still its turn is known.
    const turns = ((await dc!.customRequest('rewind/events')).body.events as { n: number; kind: string }[]).filter(
      (e) => e.kind === 'turn',
    );
    expect((await position()).turn).toBe(turns[1].n);
    const frameId = (await dc!.stackTraceRequest({ threadId: 1 })).body.stackFrames[0].id;
    const [restarted] = await Promise.all([dc!.waitForEvent('stopped'), dc!.restartFrameRequest({ frameId })]);
    expect(restarted.body.reason).toBe('restart');
    expect(await locals()).toEqual(entered);
    // In the first timer's turn: the await resumed in a later one.
    expect(enteredIn).toBe(1);
    expect((await position()).turn).toBe(enteredIn);
    // Forwards again: the same resumption.
    expect(await stop()).toEqual(resumed);
    // Two calls entered in one turn, and one before: which of them a resumed frame is, is not known.
    const a = await stop();
    expect(a.vars.label).toBe('"a"');
    await stop();
    const resumedA = await stop();
    expect(resumedA).toMatchObject({ line: after, vars: { label: '"a"' } });
    const id = (await dc!.stackTraceRequest({ threadId: 1 })).body.stackFrames[0].id;
    await expect(dc!.restartFrameRequest({ frameId: id })).rejects.toThrow(/entered 3 times/);
    // Refused, the program stays where it was.
    expect(await locals()).toEqual(resumedA);
  }, 120_000);

  it("restartFrame on an async function resumed after its await in a forked child's thread: back to its entry in an earlier turn, or refused when that entry is not one call", async () => {
    const rec = await record('dap-fork-async.cjs');
    expect(rec.status, rec.stderr.toString()).toBe(0);
    const file = fixture('dap-async.cjs');
    const entry = lineOf(file, '// entry');
    const after = lineOf(file, '// after await');
    await open();
    const child = () => eventWhere('stopped', (e) => e.body.threadId === 2) as Promise<DebugProtocol.StoppedEvent>;
    const firstStop = child();
    await launch(rec.dir, file, entry, 'dap-fork-async');
    await dc!.setBreakpointsRequest({ source: { path: file }, breakpoints: [{ line: entry }, { line: after }] });
    const locals = async () => {
      const frame = (await dc!.stackTraceRequest({ threadId: 2 })).body.stackFrames[0];
      const scopes = await dc!.scopesRequest({ frameId: frame.id });
      const local = scopes.body.scopes.find((s) => s.name === 'Locals')!;
      const vars = (await dc!.variablesRequest({ variablesReference: local.variablesReference })).body.variables;
      return { line: frame.line, name: frame.name, vars: Object.fromEntries(vars.map((v) => [v.name, v.value])) };
    };
    const stop = async () => {
      await Promise.all([child(), dc!.continueRequest({ threadId: 2 })]);
      return locals();
    };
    await firstStop;
    const entered = await locals();
    expect(entered.line).toBe(entry);
    expect(entered.vars.label).toBe('"once"');
    const resumed = await stop();
    expect(resumed).toMatchObject({ line: after, vars: { label: '"once"' } });
    // Resumed in a later turn: its entry is the one call of draws() before it, in the child's first timer turn.
    const frameId = (await dc!.stackTraceRequest({ threadId: 2 })).body.stackFrames[0].id;
    const [restarted] = await Promise.all([child(), dc!.restartFrameRequest({ frameId })]);
    expect(restarted.body.reason).toBe('restart');
    expect(await locals()).toEqual(entered);
    // Forwards again: the same resumption, the same locals.
    expect(await stop()).toEqual(resumed);
    // Two calls entered in one turn, and one before: which of them a resumed frame is, is not known.
    expect((await stop()).vars.label).toBe('"a"');
    await stop();
    const resumedA = await stop();
    expect(resumedA).toMatchObject({ line: after, vars: { label: '"a"' } });
    const id = (await dc!.stackTraceRequest({ threadId: 2 })).body.stackFrames[0].id;
    await expect(dc!.restartFrameRequest({ frameId: id })).rejects.toThrow(/entered 3 times/);
    // Refused, the child's thread stays where it was.
    expect(await locals()).toEqual(resumedA);
  }, 180_000);

  it('reverseContinue from a pause in a promise continuation, with breakpoints just set: the previous hits, in their turns', async () => {
    const rec = await record('dap-async.cjs');
    expect(rec.status, rec.stderr.toString()).toBe(0);
    const file = fixture('dap-async.cjs');
    const after = lineOf(file, '// after await');
    await open();
    await launch(rec.dir, file, lineOf(file, '// entry'));
    const label = async () => {
      const frame = (await dc!.stackTraceRequest({ threadId: 1 })).body.stackFrames[0];
      expect(frame.line).toBe(after);
      return (await dc!.evaluateRequest({ expression: 'label', frameId: frame.id })).body.result;
    };
    const go = (request: () => Promise<unknown>) => Promise.all([dc!.waitForEvent('stopped'), request()]);
    await go(() => dc!.continueRequest({ threadId: 1 }));
    await go(() => dc!.continueRequest({ threadId: 1 }));
    // Past the first call's resumption: new breakpoints, whose earlier stops are not known.
    await dc!.setBreakpointsRequest({ source: { path: file }, breakpoints: [{ line: after }] });
    await go(() => dc!.continueRequest({ threadId: 1 }));
    expect(await label()).toBe('"a"');
    await go(() => dc!.continueRequest({ threadId: 1 }));
    expect(await label()).toBe('"b"');
    await go(() => dc!.reverseContinueRequest({ threadId: 1 }));
    expect(await label()).toBe('"a"');
    await go(() => dc!.reverseContinueRequest({ threadId: 1 }));
    expect(await label()).toBe('"once"');
  }, 120_000);

  it("a forked child's worker thread is a thread too: it stops in the worker's code with the recorded locals", async () => {
    const rec = await record('dap-fork-worker.cjs');
    expect(rec.status, rec.stderr.toString()).toBe(0);
    const draws = /worker draws ([\d,]+)/.exec(rec.stdout.toString())![1].split(',');
    const workerFile = fixture('dap-worker-thread.cjs');
    const loopLine = lineOf(workerFile, '// worker loop');
    // Thread 2 is the child; its first worker thread is 2 * 1000.
    const id = 2000;
    await open();
    const first = eventWhere('stopped', (e) => e.body.threadId === id);
    await launch(rec.dir, workerFile, loopLine, 'dap-fork-worker');
    expect((await first).body.reason).toBe('breakpoint');
    const threads = (await dc!.threadsRequest()).body.threads;
    expect(threads.map((t) => t.id)).toEqual([1, 2, id]);
    expect(threads[2].name).toMatch(/dap-fork-worker-child .*worker.*dap-worker-thread\.cjs/);
    const seen = [await top(id)];
    for (let k = 1; k < 3; k++) {
      await Promise.all([eventWhere('stopped', (e) => e.body.threadId === id), dc!.continueRequest({ threadId: id })]);
      seen.push(await top(id));
    }
    expect(seen.map((s) => [s.path, s.line, s.i, s.draw])).toEqual(
      draws.map((d, i) => [workerFile, loopLine, String(i), d]),
    );
    // Back in it: the child's replay runs again, and its worker lands on the same locals.
    const [back] = await Promise.all([
      eventWhere('stopped', (e) => e.body.threadId === id),
      dc!.stepBackRequest({ threadId: id }),
    ]);
    expect(back.body.reason).toBe('step');
    expect(await top(id)).toEqual(seen[1]);
    // goto its job turn (an event of the worker's own log, in the child's recording): the child replays again, the worker stops there.
    const inIt = async (request: () => Promise<unknown>) =>
      (await Promise.all([eventWhere('stopped', (e) => e.body.threadId === id), request()]))[0];
    const job = await workerJob(rec.dir);
    expect((await inIt(() => dc!.gotoRequest({ threadId: id, targetId: job.n }))).body.reason).toBe('goto');
    expect((await dc!.stackTraceRequest({ threadId: id })).body.stackFrames[0]).toMatchObject({
      source: { path: workerFile },
      line: lineOf(workerFile, 'const draws = []'),
    });
    expect((await inIt(() => dc!.continueRequest({ threadId: id }))).body.reason).toBe('breakpoint');
    expect(await top(id)).toEqual(seen[0]);
    // restartFrame from its second hit: back to the listener's entry, then its first hit again.
    expect((await inIt(() => dc!.continueRequest({ threadId: id }))).body.reason).toBe('breakpoint');
    const listener = (await dc!.stackTraceRequest({ threadId: id })).body.stackFrames[0];
    expect((await inIt(() => dc!.restartFrameRequest({ frameId: listener.id }))).body.reason).toBe('restart');
    expect((await inIt(() => dc!.continueRequest({ threadId: id }))).body.reason).toBe('breakpoint');
    expect(await top(id)).toEqual(seen[0]);
  }, 180_000);
});
