// rewind-replay/jest on a real Jest project (test/fixtures/jest-project: a test in jest's node
// environment, one in jsdom, and one that fails on purpose after a timer), run by
// jest-worker child processes. The failing test is a failure event in its worker's
// recording; that recording alone is kept and its printed commands name it; and the same
// holds under `rewind record -- jest`.
//
// Every process replays byte for byte. (Two causes of drift were fixed: a worker on Node 20
// encoded the error Node's fs threw with its stack, whose first read ran jest's
// Error.prepareStackTrace inside the recorded call — the stack is now re-captured in both
// runs, sources/fs/calls.ts; and jest's main process read REWIND_MODE=off at replay where it
// had read `record`, so rewind/jest's config wrapper left its reporter out — replay now
// restores rewind's variables as recorded, sources/process.ts.)
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import {
  NODE,
  ROOT,
  cleanupTempDirs,
  describeRun,
  eventsOf,
  logsOf,
  rewind,
  run,
  tempDir,
  type RunResult,
} from './helpers.js';

afterAll(cleanupTempDirs);

const JEST = path.join(ROOT, 'node_modules', 'jest', 'bin', 'jest.js');
const PROJECT = path.join(ROOT, 'test', 'fixtures', 'jest-project');
const FAILING = 'fails.jest.js > adds after a timer';
const FAILURE = new RegExp(
  `^rewind: test failed, as recorded \\(event \\d+\\): ${FAILING.replace(/[.>]/g, '\\$&')}\\nError: expect\\(received\\)\\.toBe\\(expected\\)`,
  'm',
);

/** A copy of the fixture project, its config pointing at this rewind, with a fresh jest cache (jest runs in band once it has timings). */
function project(): string {
  const dir = tempDir('rewind-jest-');
  for (const f of fs.readdirSync(PROJECT).filter((f) => f.endsWith('.jest.js')))
    fs.copyFileSync(path.join(PROJECT, f), path.join(dir, f));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  const config = {
    testEnvironment: 'node',
    maxWorkers: 2,
    testMatch: ['**/*.jest.js'],
    cacheDirectory: path.join(dir, '.jest-cache'),
  };
  fs.writeFileSync(
    path.join(dir, 'jest.config.cjs'),
    `module.exports = require(${JSON.stringify(path.join(ROOT, 'dist', 'runners', 'jest.cjs'))})(${JSON.stringify(config)});\n`,
  );
  return dir;
}

/** Words of the `replay:` / `debug:` commands rewind printed (without --inspect). */
function printed(r: RunResult, kind: 'replay' | 'debug'): string[][] {
  const text = r.stderr.toString('utf8');
  return [...text.matchAll(new RegExp(`^ +${kind}: +npx rewind (.+)$`, 'gm'))].map((m) =>
    [...m[1].matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)]
      .map((w) => (w[1] !== undefined ? w[1].replace(/'\\''/g, "'") : w[2]))
      .filter((w) => w !== '--inspect'),
  );
}

const failureTests = async (dir: string, pid?: string) =>
  (await eventsOf(dir, { process: pid }))
    .filter((e) => e.kind === 'failure')
    .map((e) => (e.failure as { test?: string }).test);

describe('rewind-replay/jest', () => {
  let dir = '';
  let jest: RunResult;
  let kept = '';

  beforeAll(async () => {
    dir = project();
    jest = await run(NODE, [JEST], { cwd: dir, timeoutMs: 120_000 });
    const store = path.join(dir, '.rewind');
    kept = fs.existsSync(store) ? path.join(store, fs.readdirSync(store).find((f) => f !== 'latest') ?? '') : '';
  });

  it('keeps the failing worker recording only, with the failure event, and prints its commands', async ({ expect }) => {
    const ctx = describeRun('jest', jest);
    expect(jest.status, ctx).toBe(1);
    // jest reports as it always does: 1 failed, 3 passed, in both environments.
    expect(jest.stderr.toString(), ctx).toMatch(/^Tests: +1 failed, 3 passed, 4 total$/m);
    expect(jest.stderr.toString(), ctx).toMatch(/^PASS .*dom\.jest\.js$/m);
    expect(jest.stderr.toString(), ctx).toMatch(/rewind: 1 failing test recorded in \.rewind\/\S+-jest-/);
    expect(kept, ctx).not.toBe('');
    const logs = logsOf(kept);
    expect(logs, 'only the failing worker').toHaveLength(1);
    expect(path.basename(logs[0])).toMatch(/^processChild-\d+\.rwnd$/);
    expect(await failureTests(kept)).toEqual([FAILING]);
    const [replay] = printed(jest, 'replay');
    const [debug] = printed(jest, 'debug');
    expect(replay.slice(0, 3), ctx).toEqual(['replay', path.relative(dir, kept), '-p']);
    expect(debug).toEqual([...replay, '--break-before-failure', '--test', FAILING]);
  });

  it('the printed commands replay the failure, and stop before the turn where it failed', async ({ expect }) => {
    const [replay] = printed(jest, 'replay');
    const runs: RunResult[] = [];
    for (let i = 0; i < 2; i++) {
      const r = await rewind(replay, { cwd: dir });
      expect(r.stderr.toString(), describeRun('replay', r)).toMatch(FAILURE);
      expect(r.status, describeRun('replay', r)).toBe(0); // the worker exits 0: jest judges in its main process
      runs.push(r);
    }
    expect(runs[1].stderr.toString()).toBe(runs[0].stderr.toString());
    const [debug] = printed(jest, 'debug');
    const b = await rewind(debug, { cwd: dir });
    expect(b.stderr.toString(), describeRun('break', b)).toMatch(
      /stopped before event \d+ of \d+ .*turn setTimeout callback .*scheduled at fails\.jest\.js:3:/,
    );
  });
});

describe('rewind record -- jest', () => {
  let dir = '';
  let out = '';
  let rec: RunResult;
  let procs: { pid: number; program: string; default: boolean }[] = [];

  beforeAll(async () => {
    dir = project();
    out = path.join(tempDir('rewind-rec-'), 'rec');
    rec = await rewind(['record', '--out', out, '--', NODE, JEST], { cwd: dir, timeoutMs: 120_000 });
    const ps = await rewind(['ps', out, '--json']);
    procs = ps.stdout
      .toString()
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  });

  it('records jest and its workers; the failing test is a failure event of the worker that ran it', async ({
    expect,
  }) => {
    const ctx = describeRun('record', rec);
    expect(rec.status, ctx).toBe(1);
    expect(rec.stderr.toString(), ctx).toMatch(/^Tests: +1 failed, 3 passed, 4 total$/m);
    // Under rewind record the reporter records nothing of its own: no .rewind/ in the project.
    expect(fs.existsSync(path.join(dir, '.rewind')), ctx).toBe(false);
    expect(
      procs.filter((p) => p.program === 'jest'),
      JSON.stringify(procs),
    ).toHaveLength(1);
    const failing = procs.find((p) => p.default)!;
    expect(failing.program).toBe('processChild');
    expect(await failureTests(out, String(failing.pid))).toEqual([FAILING]);
  });

  it('each process replays byte for byte; the failing worker replays its failure', async ({ expect }) => {
    for (const p of procs) {
      const r = await rewind(['replay', out, '-p', String(p.pid)], { cwd: dir });
      const ctx = describeRun(`replay of ${p.program} ${p.pid}`, r);
      expect(r.status, ctx).not.toBe(70);
      if (p.program === 'jest') {
        expect(r.status, ctx).toBe(1);
        expect(r.stdout.equals(rec.stdout), ctx).toBe(true);
        expect(r.stderr.toString(), ctx).toMatch(/^Tests: +1 failed, 3 passed, 4 total$/m);
      }
      if (p.default) expect(r.stderr.toString(), ctx).toMatch(FAILURE);
    }
  });
});
