// Acceptance: a debugger attached mid-replay. A real DevTools-protocol client drives the
// inspector of `rewind replay --inspect`, the way Chrome DevTools or VS Code would.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REWIND_FRAMES, debugReplay } from './debug-client.js';
import { cleanupTempDirs, eventsOf, fixture, record, type EventJson, type Recorded } from './helpers.js';

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
    // rewind's trampoline, just before the failing turn's callback.
    const entry = await d.nextPause();
    expect(entry.callFrames[0].functionName).toBe('stopBefore');
    expect(d.scripts.get(entry.callFrames[0].location.scriptId)).toMatch(/\/dist\/debug\/trampoline\.js$/);
    expect(await d.evaluate(entry, 'event')).toBe(failingTurn.n);

    // Stepping in twice (onto the call, then into it), with rewind's other frames skipped as
    // skipFiles does, lands on the callback's first line.
    await d.client.Debugger.setBlackboxPatterns({ patterns: [REWIND_FRAMES] });
    await d.client.Debugger.stepInto({});
    const onCall = await d.nextPause();
    expect(onCall.callFrames[0].functionName).toBe('stopBefore');
    await d.client.Debugger.stepInto({});
    const inCallback = await d.nextPause();
    expect(inCallback.callFrames[0].functionName, d.scripts.get(inCallback.callFrames[0].location.scriptId) + ' ' + REWIND_FRAMES).toBe('fail');
    expect(inCallback.callFrames[0].location.lineNumber).toBe(lineOf('const key = 1 + (counter % 7)'));

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

  it('what the client evaluates while paused runs off the log, and the replay stays faithful', async () => {
    const midTurn = events.filter((e) => e.kind === 'turn')[100];
    const d = await debugReplay([`--until=${midTurn.n}`, '--inspect=127.0.0.1:0', rec.dir]);
    const p = await d.nextPause();
    expect(await d.evaluate(p, 'event')).toBe(midTurn.n);
    // Live values: none of these consumes the log or advances the program's generator.
    const before = Date.now();
    const now = (await d.evaluate(p, 'Date.now()')) as number;
    expect(now).toBeGreaterThanOrEqual(before);
    for (let i = 0; i < 5; i++) expect(typeof (await d.evaluate(p, 'Math.random()'))).toBe('number');
    expect(await d.evaluate(p, 'new Date().getTime() >= ' + before)).toBe(true);
    expect(await d.evaluate(p, 'typeof performance.now()')).toBe('number');
    expect(await d.evaluate(p, "process.getBuiltinModule('node:crypto').randomBytes(8).length")).toBe(8);
    expect(await d.evaluate(p, "process.getBuiltinModule('node:crypto').randomUUID().length")).toBe(36);
    await d.evaluate(p, 'console.log("said while paused")');
    // What would change the recorded run is refused.
    await expect(d.evaluate(p, 'setTimeout(() => {}, 5)')).rejects.toThrow(/refused while the replay is paused in a debugger/);

    const end = await d.finish();
    expect(end.status).toBe(1);
    expect(end.stdout.split('said while paused\n')).toHaveLength(2);
    expect(end.stdout.replace('said while paused\n', '')).toBe(rec.stdout.toString());
  });
});
