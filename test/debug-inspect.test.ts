// Acceptance: a debugger attached mid-replay. A real DevTools-protocol client drives the
// inspector of `rewind replay --inspect`, the way Chrome DevTools or VS Code would.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSPECTOR_URL, attach, debugReplay } from './debug-client.js';
import {
  BIN,
  NODE,
  baseEnv,
  cleanupTempDirs,
  sleep,
  within,
  eventsOf,
  fixture,
  record,
  tempDir,
  type EventJson,
  type Recorded,
} from './helpers.js';

afterAll(cleanupTempDirs);

const FIXTURE = 'debug-fail.cjs';
const source = fs.readFileSync(fixture(FIXTURE), 'utf8').split('\n');
/** 0-based line of the first line holding `text`, as the protocol counts lines. */
const lineOf = (text: string) => source.findIndex((l) => l.includes(text));

let rec: Recorded;
let events: EventJson[];
beforeAll(async () => {
  rec = await record(FIXTURE);
  expect(rec.status, rec.stderr.toString()).toBe(1);
  events = await eventsOf(rec.dir);
});

describe('rewind replay --inspect', () => {
  it('--break-before-failure: the client pauses in the failing callback and reads the locals the recorded run printed', async () => {
    const failure = events.find((e) => e.kind === 'failure')!;
    const failingTurn = events.filter((e) => e.kind === 'turn' && e.n < failure.n).at(-1)!;
    const recorded = /^looking up (\d+) for counter (\d+)$/m.exec(rec.stdout.toString())!;

    const d = await debugReplay(['--break-before-failure', '--inspect=127.0.0.1:0', rec.dir]);
    // No skip list on this client: its first pause is already on the failing callback's
    // first line, with the turn's locals, not in rewind's frames.
    const inCallback = await d.nextPause();
    const top = inCallback.callFrames[0];
    expect(top.functionName, d.scripts.get(top.location.scriptId)).toBe('fail');
    expect(d.scripts.get(top.location.scriptId)).toMatch(/debug-fail\.cjs$/);
    expect(top.location.lineNumber).toBe(lineOf('const key = 1 + (counter % 7)'));
    expect(await d.evaluate(inCallback, 'counter')).toBe(Number(recorded[2]));
    // The callback's own scope, its locals not yet assigned.
    const local = top.scopeChain.find((s) => s.type === 'local')!;
    const { result: locals } = await d.client.Runtime.getProperties({ objectId: local.object.objectId! });
    expect(locals.map((p) => p.name).sort()).toEqual(['entry', 'key']);
    expect(await d.eventOf(inCallback)).toBe(failingTurn.n);

    // A breakpoint on the line before the throw; the locals there are the recorded run's.
    const before = lineOf('console.log(`looking up');
    expect(lineOf('console.log(`found ${entry.name}`)')).toBe(before + 1);
    await d.client.Debugger.setBreakpointByUrl({ lineNumber: before, urlRegex: 'debug-fail\\.cjs$' });
    await d.client.Debugger.resume({});
    const atLine = await d.nextPause();
    expect(atLine.callFrames[0].functionName).toBe('fail');
    expect(atLine.callFrames[0].location.lineNumber).toBe(before);
    expect(await d.evaluate(atLine, 'key')).toBe(Number(recorded[1]));
    expect(await d.evaluate(atLine, 'counter')).toBe(Number(recorded[2]));
    expect(await d.evaluate(atLine, 'entry')).toBeUndefined();

    const end = await d.finish();
    expect(end.status).toBe(1);
    expect(end.stdout).toBe(rec.stdout.toString());
    expect(end.stderr).toContain("TypeError: Cannot read properties of undefined (reading 'name')");
  });

  it('a value event stops inside the call that consumes it; what the client evaluates there runs off the log', async () => {
    const midTurn = events.filter((e) => e.kind === 'turn')[100];
    const clock = events.find((e) => e.kind === 'clock' && e.n > midTurn.n)!;
    const d = await debugReplay([`--until=${clock.n}`, '--inspect=127.0.0.1:0', rec.dir]);
    // The first pause is in the program's own frame: step(), just back from its Date.now() call.
    const p = await d.nextPause();
    expect(p.callFrames[0].functionName).toBe('step');
    expect(d.scripts.get(p.callFrames[0].location.scriptId)).toMatch(/debug-fail\.cjs$/);
    expect(p.callFrames[0].location.lineNumber).toBe(lineOf('Date.now() - started'));
    expect(await d.evaluate(p, 'chain')).toMatch(/^[ab]$/);
    // Live values: none of these consumes the log or advances the program's generator.
    const before = Date.now();
    const now = (await d.evaluate(p, 'Date.now()')) as number;
    expect(now).toBeGreaterThanOrEqual(before);
    // Five draws: numbers in [0, 1), all different. None is the program's: its output after
    // the pause is the recorded one (checked below), so its generator did not advance.
    const draws: unknown[] = [];
    for (let i = 0; i < 5; i++) draws.push(await d.evaluate(p, 'Math.random()'));
    for (const x of draws) expect(x as number).toSatisfy((v: number) => typeof v === 'number' && v >= 0 && v < 1);
    expect(new Set(draws).size).toBe(5);
    expect(await d.evaluate(p, 'new Date().getTime() >= ' + before)).toBe(true);
    // The monotonic clock, read while paused, is the replay's virtual now (ReplaySession.mono):
    // it does not move while the program is paused.
    const m1 = (await d.evaluate(p, 'performance.now()')) as number;
    await sleep(20);
    const m2 = (await d.evaluate(p, 'performance.now()')) as number;
    expect(m2).toBe(m1);
    expect(m1).toBeGreaterThan(0);
    expect(await d.evaluate(p, "process.getBuiltinModule('node:crypto').randomBytes(8).length")).toBe(8);
    expect(await d.evaluate(p, "process.getBuiltinModule('node:crypto').randomUUID().length")).toBe(36);
    await d.evaluate(p, 'console.log("said while paused")');
    // A child run while paused runs for real, in the recorded environment but not recording
    // (rewind's variables say record): the recording directory gains nothing.
    const logs = fs.readdirSync(rec.dir).sort();
    const child =
      "process.getBuiltinModule('node:child_process').execFileSync(process.execPath, ['-e', 'console.log(process.env.REWIND_MODE)'])";
    expect(await d.evaluate(p, `${child}.toString()`)).toBe('off\n');
    expect(fs.readdirSync(rec.dir).sort()).toEqual(logs);
    // What would change the recorded run is refused.
    await expect(d.evaluate(p, 'setTimeout(() => {}, 5)')).rejects.toThrow(
      /refused while the replay is paused in a debugger/,
    );

    const end = await d.finish();
    expect(end.status).toBe(1);
    expect(end.stderr).toContain(`stopped inside event ${clock.n} `);
    expect(end.stdout.split('said while paused\n')).toHaveLength(2);
    expect(end.stdout.replace('said while paused\n', '')).toBe(rec.stdout.toString());
  });
});

describe('rewind debug: inspect', () => {
  it('attaches a debugger at the current stop, then reuses it at a later one', async () => {
    const turns = events.filter((e) => e.kind === 'turn');
    const child = spawn(NODE, [BIN, 'debug', rec.dir, '--inspect', '127.0.0.1:0'], {
      cwd: tempDir(),
      env: baseEnv(),
      stdio: 'pipe',
    });
    let stdout = '';
    const waiters: [RegExp, (m: RegExpExecArray) => void][] = [];
    /** Resolves once the transcript, past what was already matched, matches `re`. */
    let seen = 0;
    const when = (re: RegExp) =>
      within(
        new Promise<RegExpExecArray>((resolve) => {
          waiters.push([re, resolve]);
          check();
        }),
        `${re} in the transcript:\n${stdout}`,
      );
    const check = () => {
      const w = waiters[0];
      const m = w && w[0].exec(stdout.slice(seen));
      if (!m) return;
      seen += m.index + m[0].length;
      waiters.shift();
      w[1](m);
    };
    child.stdout.on('data', (d: Buffer) => {
      stdout += d;
      check();
    });
    const closed = new Promise((r) => child.on('close', r));

    await when(new RegExp(`^stopped before event ${turns[0].n} `, 'm'));
    child.stdin.write('inspect\n');
    const url = (await when(INSPECTOR_URL))[1];
    const d = await attach(url);
    // The first client's first pause is in the program's callback; at later stops, with the
    // client still attached, in the trampoline.
    const first = await d.nextPause();
    expect(d.scripts.get(first.callFrames[0].location.scriptId)).toMatch(/debug-fail\.cjs$/);
    expect(await d.eventOf(first)).toBe(turns[0].n);
    await d.client.Debugger.resume({});
    // After the inspected turn, the prompt stops at the next one.
    await when(new RegExp(`^stopped before event ${turns[1].n} `, 'm'));
    child.stdin.write('inspect\n');
    expect((await when(INSPECTOR_URL))[1]).toBe(url); // the same inspector, no second wait
    const second = await d.nextPause();
    expect(second.callFrames[0].functionName).toBe('stopBefore');
    expect(await d.evaluate(second, 'event')).toBe(turns[1].n);
    await d.client.Debugger.resume({});
    await when(new RegExp(`^stopped before event ${turns[2].n} `, 'm'));
    child.stdin.end('quit\n');
    await within(closed, 'exit after quit');
    await d.client.close();
    expect(child.exitCode).toBe(0);
  });

  it("the perf clock read while paused, before the program's own first reading, leaves that reading to the program", async () => {
    // perf_hooks loads with the client's evaluation: the perf.origin reading is not in the
    // log there, and the program's own first performance.now() still takes the recorded one.
    const r = await record('perf-after-pause.cjs');
    expect(r.status, r.stderr.toString()).toBe(0);
    const all = await eventsOf(r.dir);
    const first = all.find((e) => e.kind === 'clock')!;
    expect(all.findIndex((e) => e.api === 'perf.origin')).toBeGreaterThan(all.indexOf(first));
    const d = await debugReplay([`--until=${first.n}`, '--inspect=127.0.0.1:0', r.dir]);
    const p = await d.nextPause();
    const m1 = (await d.evaluate(p, 'performance.now()')) as number;
    expect(m1).toBeGreaterThan(0);
    expect(await d.evaluate(p, 'performance.now()')).toBe(m1);
    const end = await d.finish();
    expect(end.status, end.stderr).toBe(0);
    expect(end.stdout).toBe(r.stdout.toString());
  });
});
