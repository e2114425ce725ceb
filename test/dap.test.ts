// Acceptance: `rewind dap` driven by a real DAP client (@vscode/debugadapter-testsupport's
// DebugClient, as VS Code's own adapter tests do). Going back is re-execution: the locals
// read after stepBack and reverseContinue must be those read going forwards.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BIN, NODE, ROOT, baseEnv, cleanupTempDirs, fixture, record, tempDir, type Recorded } from './helpers.js';

afterAll(cleanupTempDirs);

const FIXTURE = 'dap-loop.cjs';
const PROGRAM = fixture(FIXTURE);
const LOOP_LINE =
  fs
    .readFileSync(PROGRAM, 'utf8')
    .split('\n')
    .findIndex((l) => l.includes('// loop body')) + 1;
const WAIT_MS = 60_000;

let rec: Recorded;
let ADAPTER: string;
beforeAll(async () => {
  ADAPTER = path.join(tempDir(), 'rewind-dap.mjs');
  fs.writeFileSync(
    ADAPTER,
    `import { main } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist/cli/index.js')).href)};\nawait main([process.argv[0], 'rewind', 'dap']);\n`,
  );
  rec = await record(FIXTURE);
  expect(rec.status, rec.stderr.toString()).toBe(0);
});

let dc: DebugClient | undefined;
afterEach(async () => {
  await dc?.stop();
  dc = undefined;
});

/** Starts the adapter, launches on the recording with breakpoints, and waits for the first stop. */
async function launch(
  breakpoints: DebugProtocol.SourceBreakpoint[],
  stopOn?: 'start' | number,
  recording = rec.dir,
): Promise<void> {
  // DebugClient runs `runtime executable`: a two-line script that runs `rewind dap` (on stdio).
  dc = new DebugClient(NODE, ADAPTER, 'rewind', { env: baseEnv() });
  dc.defaultTimeout = WAIT_MS;
  await dc.start();
  await Promise.all([
    dc!.waitForEvent('initialized').then(async () => {
      await dc!.setBreakpointsRequest({ source: { path: PROGRAM }, breakpoints });
      await dc!.configurationDoneRequest();
    }),
    dc!.initializeRequest({
      adapterID: 'rewind',
      linesStartAt1: true,
      columnsStartAt1: true,
      pathFormat: 'path',
      supportsVariableType: true,
    }),
    dc!.launch({ recording, stopOn }),
    dc!.waitForEvent('stopped'),
  ]);
}

/** Resolves with the next stop after `request`. */
async function stopAfter(request: () => Promise<unknown>): Promise<DebugProtocol.StoppedEvent> {
  const [stopped] = await Promise.all([dc!.waitForEvent('stopped'), request()]);
  return stopped as DebugProtocol.StoppedEvent;
}

/** The top frame's line and its locals, as name → value text. */
async function here(): Promise<{ line: number; locals: Record<string, string> }> {
  const stack = await dc!.stackTraceRequest({ threadId: 1 });
  const top = stack.body.stackFrames[0];
  const scopes = await dc!.scopesRequest({ frameId: top.id });
  const local = scopes.body.scopes.find((s) => s.name === 'Locals' || s.name === 'Block')!;
  const vars = await dc!.variablesRequest({ variablesReference: local.variablesReference });
  const all: Record<string, string> = {};
  for (const s of scopes.body.scopes.filter((s) => s.name === 'Locals' || s.name === 'Block')) {
    const v = s === local ? vars : await dc!.variablesRequest({ variablesReference: s.variablesReference });
    for (const x of v.body.variables) all[x.name] = x.value;
  }
  const total = await dc!.evaluateRequest({ expression: 'total', frameId: top.id });
  all.total = total.body.result;
  return { line: top.line, locals: all };
}

describe('rewind dap', () => {
  it('stops on a breakpoint, steps, and lands on the same states going back (stepBack, reverseContinue)', async () => {
    await launch([{ line: LOOP_LINE }]);
    // Forwards: six hits of the loop body, then three steps over.
    const forward: Awaited<ReturnType<typeof here>>[] = [];
    for (let k = 0; k < 6; k++) {
      const s = await stopAfter(() => dc!.continueRequest({ threadId: 1 }));
      expect(s.body.reason).toBe('breakpoint');
      forward.push(await here());
      expect(forward[k].line).toBe(LOOP_LINE);
    }
    // The hits are the loop's passes: i goes 0, 1, 2 in each round.
    expect(forward.map((f) => f.locals.i)).toEqual(['0', '1', '2', '0', '1', '2']);
    const steps: Awaited<ReturnType<typeof here>>[] = [];
    for (let k = 0; k < 3; k++) {
      await stopAfter(() => dc!.nextRequest({ threadId: 1 }));
      steps.push(await here());
    }
    expect(new Set(steps.map((s) => s.line)).size).toBeGreaterThan(1);

    // Back three steps: each lands where the step before it was.
    for (let k = 2; k >= 0; k--) {
      await stopAfter(() => dc!.stepBackRequest({ threadId: 1 }));
      expect(await here()).toEqual(k > 0 ? steps[k - 1] : forward[5]);
    }
    // Reverse-continue: the previous hits, across the loop and across the rounds' turns.
    for (let k = 4; k >= 2; k--) {
      const s = await stopAfter(() => dc!.reverseContinueRequest({ threadId: 1 }));
      expect(s.body.reason).toBe('breakpoint');
      expect(await here()).toEqual(forward[k]);
    }
    // And forwards again from there: the same next hit.
    await stopAfter(() => dc!.continueRequest({ threadId: 1 }));
    expect(await here()).toEqual(forward[3]);
  }, 120_000);

  it('a hit-count breakpoint: reverseContinue goes to its previous stop, not to its skipped hits', async () => {
    await launch([{ line: LOOP_LINE, hitCondition: '%2' }]);
    const forward: Awaited<ReturnType<typeof here>>[] = [];
    for (let k = 0; k < 3; k++) {
      await stopAfter(() => dc!.continueRequest({ threadId: 1 }));
      forward.push(await here());
    }
    // Every second pass: i is 1, then 0 (the next round's), then 2.
    expect(forward.map((f) => f.locals.i)).toEqual(['1', '0', '2']);
    await stopAfter(() => dc!.reverseContinueRequest({ threadId: 1 }));
    expect(await here()).toEqual(forward[1]);
    await stopAfter(() => dc!.reverseContinueRequest({ threadId: 1 }));
    expect(await here()).toEqual(forward[0]);
  }, 120_000);

  it('reverseContinue to a stop passed going forward is one re-execution, straight to it', async () => {
    await launch([{ line: LOOP_LINE }]);
    const forward: Awaited<ReturnType<typeof here>>[] = [];
    for (let k = 0; k < 5; k++) {
      await stopAfter(() => dc!.continueRequest({ threadId: 1 }));
      forward.push(await here());
    }
    const position = async () => (await dc!.customRequest('rewind/position')).body;
    const before = await position();
    // The launch set the breakpoints at the first event: every stop since is known.
    expect(before.knownStops).toBe(5);
    for (let k = 3; k >= 1; k--) {
      await stopAfter(() => dc!.reverseContinueRequest({ threadId: 1 }));
      expect(await here()).toEqual(forward[k]);
      expect((await position()).reexecutions).toBe(before.reexecutions + (4 - k));
      // The second round's first stop is landed on from its own turn: the turns before it run without the debugger.
      if (k === 3) expect((await position()).origin).toBe((await position()).turn);
    }
    // Stops are known afterwards too: forwards then back again is still one re-execution each.
    await stopAfter(() => dc!.continueRequest({ threadId: 1 }));
    expect(await here()).toEqual(forward[2]);
    const mid = await position();
    await stopAfter(() => dc!.reverseContinueRequest({ threadId: 1 }));
    expect(await here()).toEqual(forward[1]);
    expect((await position()).reexecutions).toBe(mid.reexecutions + 1);
  }, 120_000);

  it("evaluating while paused does not shift the log; the output is the recorded run's, marked with event numbers", async () => {
    const output: string[] = [];
    await launch([{ line: LOOP_LINE }]);
    dc!.on('output', (e: DebugProtocol.OutputEvent) => {
      if (e.body.category === 'stdout') output.push(e.body.output);
    });
    await stopAfter(() => dc!.continueRequest({ threadId: 1 }));
    const frameId = (await dc!.stackTraceRequest({ threadId: 1 })).body.stackFrames[0].id;
    for (const expression of ['Math.random()', 'Date.now()', 'Math.random() + Date.now()']) {
      const r = await dc!.evaluateRequest({ expression, frameId });
      expect(Number(r.body.result)).not.toBeNaN();
    }
    await dc!.setBreakpointsRequest({ source: { path: PROGRAM }, breakpoints: [] });
    await Promise.all([dc!.waitForEvent('terminated'), dc!.continueRequest({ threadId: 1 })]);
    const text = output.join('');
    expect(text).toMatch(/^\[#\d+\] round 1 /m);
    expect(text.replace(/^\[#\d+\] /gm, '')).toBe(rec.stdout.toString());
  }, 120_000);

  it('rewind/events lists the events; rewind/goto stops before an event', async () => {
    await launch([]);
    const r = await dc!.customRequest('rewind/events');
    const events = r.body.events as { n: number; kind: string }[];
    const turns = events.filter((e) => e.kind === 'turn');
    expect(turns.length).toBe(4);
    await stopAfter(() => dc!.customRequest('rewind/goto', { event: turns[2].n }));
    const top = (await dc!.stackTraceRequest({ threadId: 1 })).body.stackFrames[0];
    expect(top.source?.path).toBe(PROGRAM);
    // The turn's callback is the arrow round 2 scheduled: its first line calls tick(round + 1).
    const round = await dc!.evaluateRequest({ expression: 'round + 1', frameId: top.id });
    expect(round.body.result).toBe('3');
  }, 120_000);

  it("a failed run: the first stop is on the failing callback's first line, and the failure is in the event list", async () => {
    const failed = await record('debug-fail.cjs');
    expect(failed.status).toBe(1);
    await launch([], undefined, failed.dir);
    const top = (await dc!.stackTraceRequest({ threadId: 1 })).body.stackFrames[0];
    expect(top.name).toBe('fail');
    expect(top.source?.path).toBe(fixture('debug-fail.cjs'));
    const events = (await dc!.customRequest('rewind/events')).body.events as { n: number; kind: string }[];
    expect(events.filter((e) => e.kind === 'failure')).toHaveLength(1);
    // One step back from the turn's start: the turn before it.
    await stopAfter(() => dc!.stepBackRequest({ threadId: 1 }));
    const previous = (await dc!.stackTraceRequest({ threadId: 1 })).body.stackFrames[0];
    expect(previous.name).not.toBe('fail');
    const failure = events.find((e) => e.kind === 'failure')!;
    const turnsBefore = events.filter((e) => e.kind === 'turn' && e.n < failure.n);
    expect((await dc!.customRequest('rewind/position')).body.origin).toBe(turnsBefore.at(-2)!.n);
  }, 120_000);

  it('restartFrame lands where a forward run enters that frame (locals compared), in the same turn and a later one', async () => {
    const lines = fs.readFileSync(PROGRAM, 'utf8').split('\n');
    // The first statement of tick(): where a forward run entering the frame stops.
    const entryLine = lines.findIndex((l) => l.startsWith('function tick')) + 2;
    await launch([{ line: entryLine }, { line: LOOP_LINE }]);
    const stopAt = async (line: number) => {
      await stopAfter(() => dc!.continueRequest({ threadId: 1 }));
      const h = await here();
      expect(h.line).toBe(line);
      return h;
    };
    const restart = async () => {
      const frames = (await dc!.stackTraceRequest({ threadId: 1 })).body.stackFrames;
      const tick = frames.find((f) => f.name === 'tick')!;
      const s = await stopAfter(() => dc!.restartFrameRequest({ frameId: tick.id }));
      expect(s.body.reason).toBe('restart');
      return here();
    };
    const entered1 = await stopAt(entryLine);
    expect(entered1.locals.round).toBe('1');
    await stopAt(LOOP_LINE);
    const second = await stopAt(LOOP_LINE);
    expect(second.locals.i).toBe('1');
    await stopAfter(() => dc!.nextRequest({ threadId: 1 }));
    expect(await restart()).toEqual(entered1);
    // And forwards again from the entry: the same passes.
    await stopAt(LOOP_LINE);
    expect(await stopAt(LOOP_LINE)).toEqual(second);
    await stopAt(LOOP_LINE);
    const entered2 = await stopAt(entryLine);
    expect(entered2.locals.round).toBe('2');
    await stopAt(LOOP_LINE);
    expect(await restart()).toEqual(entered2);
  }, 120_000);

  it('gotoTargets lists the events whose call site is on a line; goto lands before one', async () => {
    await launch([]);
    const lines = fs.readFileSync(PROGRAM, 'utf8').split('\n');
    const scheduling = lines.findIndex((l) => l.includes('setTimeout(() => tick(round + 1)')) + 1;
    const events = (await dc!.customRequest('rewind/events')).body.events as { n: number; kind: string }[];
    const turns = events.filter((e) => e.kind === 'turn');
    const r = await dc!.gotoTargetsRequest({ source: { path: PROGRAM }, line: scheduling });
    // Rounds 2 to 4 were scheduled on that line (round 1 on the last line).
    expect(r.body.targets.map((t) => t.id)).toEqual(turns.slice(1).map((t) => t.n));
    expect(r.body.targets[0].label).toMatch(/turn/);
    const s = await stopAfter(() => dc!.gotoRequest({ threadId: 1, targetId: r.body.targets[1].id }));
    expect(s.body.reason).toBe('goto');
    const top = (await dc!.stackTraceRequest({ threadId: 1 })).body.stackFrames[0];
    expect(top.line).toBe(scheduling);
    expect((await dc!.evaluateRequest({ expression: 'round + 1', frameId: top.id })).body.result).toBe('3');
    expect((await dc!.customRequest('rewind/position')).body.origin).toBe(r.body.targets[1].id);
  }, 120_000);

  it('a forked child is thread 2: it stops at a breakpoint in its own code, with its own stack and locals', async () => {
    const forked = await record('dap-fork.cjs');
    expect(forked.status, forked.stderr.toString()).toBe(0);
    const draws = /child draws ([\d,]+)/.exec(forked.stdout.toString())![1].split(',');
    const childFile = fixture('dap-fork-child.cjs');
    const childLine =
      fs
        .readFileSync(childFile, 'utf8')
        .split('\n')
        .findIndex((l) => l.includes('// child loop')) + 1;
    dc = new DebugClient(NODE, ADAPTER, 'rewind', { env: baseEnv() });
    dc.defaultTimeout = WAIT_MS;
    await dc.start();
    // The child's first stop comes by itself once the session runs: thread 2, in the child's loop.
    const childStop = dc.waitForEvent('stopped').then(function next(e): Promise<DebugProtocol.Event> {
      return e.body.threadId === 2 ? Promise.resolve(e) : dc!.waitForEvent('stopped').then(next);
    });
    await Promise.all([
      dc.waitForEvent('initialized').then(async () => {
        await dc!.setBreakpointsRequest({ source: { path: childFile }, breakpoints: [{ line: childLine }] });
        await dc!.configurationDoneRequest();
      }),
      dc.initializeRequest({ adapterID: 'rewind', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' }),
      dc.launch({ recording: forked.dir, process: 'dap-fork', stopOn: 'start' }),
    ]);
    const stopped = (await childStop) as DebugProtocol.StoppedEvent;
    expect(stopped.body.reason).toBe('breakpoint');
    const threads = (await dc.threadsRequest()).body.threads;
    expect(threads.map((t) => t.id)).toEqual([1, 2]);
    expect(threads[1].name).toMatch(/dap-fork-child/);
    const seen: string[] = [];
    for (let k = 0; k < 3; k++) {
      if (k > 0) {
        const [e] = await Promise.all([dc.waitForEvent('stopped'), dc.continueRequest({ threadId: 2 })]);
        expect(e.body.threadId).toBe(2);
      }
      const top = (await dc.stackTraceRequest({ threadId: 2 })).body.stackFrames[0];
      expect(top.source?.path).toBe(childFile);
      expect(top.line).toBe(childLine);
      const i = await dc.evaluateRequest({ expression: 'i', frameId: top.id });
      expect(i.body.result).toBe(String(k));
      const scopes = await dc.scopesRequest({ frameId: top.id });
      const block = scopes.body.scopes.find((s) => s.name === 'Block')!;
      const vars = await dc.variablesRequest({ variablesReference: block.variablesReference });
      seen.push(vars.body.variables.find((v) => v.name === 'draw')!.value);
    }
    // The child's draws at the breakpoint are the recorded run's.
    expect(seen).toEqual(draws);
    // Thread 1 is the parent, still paused at its first event; goto in thread 2 names one of the
    // child's own events (going back and goto there: dap-threads.test.ts).
    const parentFrames = (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames;
    expect(parentFrames.length).toBeGreaterThan(0);
    expect(parentFrames.every((f) => f.source?.path !== childFile)).toBe(true);
    await expect(dc.gotoRequest({ threadId: 2, targetId: 999 })).rejects.toThrow(/has no event 999/);
    // Once the child runs to its end, its thread is gone.
    await dc.setBreakpointsRequest({ source: { path: childFile }, breakpoints: [] });
    const exited = dc.waitForEvent('thread').then(function next(e): Promise<DebugProtocol.Event> {
      return e.body.reason === 'exited' ? Promise.resolve(e) : dc!.waitForEvent('thread').then(next);
    });
    await dc.continueRequest({ threadId: 2 });
    expect((await exited).body.threadId).toBe(2);
  }, 120_000);

  it('--port: a DAP server on TCP, one session per connection', async () => {
    const server = spawn(NODE, [BIN, 'dap', '--port', '0'], { env: baseEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let said = '';
        server.stderr.on('data', (d: Buffer) => {
          said += d;
          const m = /listening on 127\.0\.0\.1:(\d+)/.exec(said);
          if (m) resolve(Number(m[1]));
        });
        server.on('close', () => reject(new Error(`rewind dap --port ended: ${said}`)));
      });
      dc = new DebugClient(NODE, ADAPTER, 'rewind');
      dc.defaultTimeout = WAIT_MS;
      await dc.start(port);
      await Promise.all([
        dc.initializeRequest({ adapterID: 'rewind', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' }),
        dc.configurationDoneRequest(),
        dc.launch({ recording: rec.dir, stopOn: 'start' }),
        dc.waitForEvent('stopped'),
      ]);
      const top = (await dc.stackTraceRequest({ threadId: 1 })).body.stackFrames[0];
      expect(top.source?.path).toBe(PROGRAM);
      // Disconnecting ends the session's replay; the server goes on listening.
      await dc.stop();
      dc = undefined;
      expect(server.exitCode).toBeNull();
    } finally {
      server.kill();
    }
  }, 120_000);
});
