// Test runner integrations: rewind-replay/vitest and rewind-replay/node-test on real test suites whose
// failing test fails on purpose. The failing test's recording is kept and the passing
// ones dropped; the command printed for it replays the failure (same assertion message,
// every time); --break-before-failure stops before the turn where the assertion threw;
// and `rewind record -- node --test` records node:test failures as failure events.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, it } from 'vitest';
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
  type Expect,
  type RunResult,
} from './helpers.js';

afterAll(cleanupTempDirs);

const VITEST = path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
const NODE_TEST = path.join(ROOT, 'dist', 'node-test.cjs');
/** How this Node spells running test files in the runner's process: --experimental-test-isolation=none (22.8+), --test-isolation=none (23.6+), or null. */
const ISOLATION_NONE =
  ['--test-isolation=none', '--experimental-test-isolation=none'].find(
    (flag) => spawnSync(process.execPath, [flag, '-e', ''], { stdio: 'ignore' }).status === 0,
  ) ?? null;

const FAILING_TEST = `
test('adds after a timer', async () => {
  await new Promise((resolve) => setTimeout(resolve, 5));
  expect(1 + 1).toBe(3);
});
test('passes too', () => {});
`;
const PASSING_TEST = `
test('draws a number', () => {
  expect(Math.random()).toBeLessThan(1);
});
`;

/** A directory holding `files` (name → content). */
function project(files: Record<string, string>): string {
  const dir = tempDir('rewind-runner-');
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

/** Splits a command line the way a POSIX shell does for the words rewind prints. */
function shellWords(line: string): string[] {
  return [...line.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)].map((m) =>
    m[1] !== undefined ? m[1].replace(/'\\''/g, "'") : m[2],
  );
}

interface Printed {
  /** `rewind` arguments of each printed `replay:` command. */
  replay: string[][];
  /** ... and of each `debug:` command, without --inspect (which waits for a debugger). */
  debug: string[][];
}

function printedCommands(r: RunResult): Printed {
  const text = r.stderr.toString('utf8') + r.stdout.toString('utf8');
  const words = (kind: string) =>
    [...text.matchAll(new RegExp(`^[# ]*${kind}: +npx rewind (.+)$`, 'gm'))].map((m) => shellWords(m[1]));
  return { replay: words('replay'), debug: words('debug').map((w) => w.filter((a) => a !== '--inspect')) };
}

/** The one recording directory a run kept under `<cwd>/.rewind/`. */
function keptRecordings(cwd: string): string[] {
  const store = path.join(cwd, '.rewind');
  if (!fs.existsSync(store)) return [];
  return fs
    .readdirSync(store)
    .filter((f) => f !== 'latest' && f !== '.gitignore')
    .map((f) => path.join(store, f));
}

/** Replays `times` times, one after the other; every replay must print the recorded test failure. */
async function replaysReproduce(
  expect: Expect,
  cwd: string,
  args: string[],
  times: number,
  failure: RegExp,
): Promise<RunResult[]> {
  const runs: RunResult[] = [];
  for (let i = 0; i < times; i++) {
    const r = await rewind(args, { cwd });
    const ctx = describeRun(`replay ${i + 1}`, r);
    expect(r.stderr.toString(), ctx).toMatch(failure);
    expect(r.stderr.toString(), ctx).not.toMatch(/divergence/);
    expect(r.status, ctx).not.toBe(70);
    runs.push(r);
  }
  for (const r of runs.slice(1)) expect(r.stderr.toString()).toBe(runs[0].stderr.toString());
  return runs;
}

/** --break-before-failure stops before the last turn ahead of the named test's failure event. */
async function breaksBeforeFailingTurn(
  expect: Expect,
  cwd: string,
  args: string[],
  dir: string,
  pid: string,
  test: string,
): Promise<void> {
  const events = await eventsOf(dir, { sites: false, process: pid });
  const failure = events.find((e) => e.kind === 'failure' && (e.failure as { test?: string }).test === test);
  expect(failure, `no failure event for ${test}`).toBeDefined();
  const turn = events.filter((e) => e.kind === 'turn' && e.n < failure!.n).at(-1)!;
  // The assertion ran in the timer's callback: that turn, not a later one, holds the failure.
  expect(turn.call).toBe('setTimeout callback');
  expect(events.filter((e) => e.n > turn.n && e.n < failure!.n && e.kind === 'turn')).toEqual([]);
  const r = await rewind(args, { cwd });
  const ctx = describeRun('break', r);
  expect(r.status, ctx).toBe(0);
  expect(r.stderr.toString(), ctx).toContain(`stopped before event ${turn.n} of`);
  expect(r.stderr.toString(), ctx).toContain(`failed in this turn: test failed: ${test}:`);
}

describe.concurrent('rewind-replay/vitest', () => {
  it('keeps the failing worker recording only; its printed commands replay the failure and break before it', async ({
    expect,
  }) => {
    const dir = project({
      'vitest.config.mjs': `import rewind from ${JSON.stringify(path.join(ROOT, 'dist', 'runners', 'vitest.js'))};\nexport default { plugins: [rewind()] };\n`,
      'fail.test.mjs': `import { expect, test } from 'vitest';\n${FAILING_TEST}`,
      'pass.test.mjs': `import { expect, test } from 'vitest';\n${PASSING_TEST}`,
    });
    const r = await run(NODE, [VITEST, 'run', '--root', dir], { cwd: dir });
    const ctx = describeRun('vitest', r);
    expect(r.status, ctx).toBe(1);
    expect(r.stderr.toString(), ctx).toContain('rewind: 1 failing test recorded in .rewind/');
    expect(r.stderr.toString(), ctx).toContain('(the recordings of 1 passing test process were dropped)');
    const kept = keptRecordings(dir);
    expect(kept, ctx).toHaveLength(1);
    expect(logsOf(kept[0]), 'only the failing worker').toHaveLength(1);

    const printed = printedCommands(r);
    expect(printed.replay, ctx).toHaveLength(1);
    const [, , , pid] = printed.replay[0];
    const failure =
      /^rewind: test failed, as recorded \(event \d+\): fail\.test\.mjs > adds after a timer\nAssertionError: expected 2 to be 3 \/\/ Object\.is equality\n/m;
    await replaysReproduce(expect, dir, printed.replay[0], 3, failure);
    expect(printed.debug[0]).toEqual([
      ...printed.replay[0],
      '--break-before-failure',
      '--test',
      'fail.test.mjs > adds after a timer',
    ]);
    await breaksBeforeFailingTurn(expect, dir, printed.debug[0], kept[0], pid, 'fail.test.mjs > adds after a timer');
  });
});

describe.concurrent('rewind-replay/node-test', () => {
  const files = {
    'fail.test.mjs': `import test from 'node:test';\nimport assert from 'node:assert/strict';\nconst expect = (v) => ({ toBe: (w) => assert.equal(v, w) });\n${FAILING_TEST}`,
    'pass.test.mjs': `import test from 'node:test';\nimport assert from 'node:assert/strict';\nconst expect = (v) => ({ toBeLessThan: (w) => assert.ok(v < w) });\n${PASSING_TEST}`,
  };
  const failure =
    /^rewind: test failed, as recorded \(event \d+\): fail\.test\.mjs > adds after a timer\nAssertionError \[ERR_ASSERTION\]: Expected values to be strictly equal:\n\n2 !== 3\n/m;

  it('node --test: each file in its child; the failing child keeps its recording, which replays the failure', async ({
    expect,
  }) => {
    const dir = project(files);
    const r = await run(
      NODE,
      ['--require', NODE_TEST, '--test', '--test-reporter=tap', 'fail.test.mjs', 'pass.test.mjs'],
      { cwd: dir },
    );
    const ctx = describeRun('node --test', r);
    expect(r.status, ctx).toBe(1);
    expect(r.stderr.toString(), ctx).toContain('(the recordings of 1 passing test process were dropped)');
    const kept = keptRecordings(dir);
    expect(kept, ctx).toHaveLength(1);
    expect(logsOf(kept[0])).toHaveLength(1);
    const printed = printedCommands(r);
    expect(printed.replay, ctx).toHaveLength(1);
    const [, , , pid] = printed.replay[0];
    await replaysReproduce(expect, dir, printed.replay[0], 3, failure);
    await breaksBeforeFailingTurn(expect, dir, printed.debug[0], kept[0], pid, 'fail.test.mjs > adds after a timer');
  });

  it('in-process (node file.test.mjs): the recording is judged as the process exits; the replay prints the same report', async ({
    expect,
  }) => {
    const dir = project(files);
    const passing = await run(NODE, ['--require', NODE_TEST, 'pass.test.mjs'], { cwd: dir });
    expect(passing.status, describeRun('passing', passing)).toBe(0);
    expect(keptRecordings(dir), 'a passing run keeps nothing').toEqual([]);
    expect(passing.stderr.toString()).toBe('');

    const r = await run(NODE, ['--require', NODE_TEST, 'fail.test.mjs'], { cwd: dir });
    const ctx = describeRun('in-process', r);
    expect(r.status, ctx).toBe(1);
    expect(keptRecordings(dir), ctx).toHaveLength(1);
    const printed = printedCommands(r);
    expect(printed.replay, ctx).toHaveLength(1);
    const replays = await replaysReproduce(expect, dir, printed.replay[0], 3, failure);
    // node:test printed its report in the recorded process: the replay prints it again, byte for byte.
    expect(replays[0].stdout.equals(r.stdout), describeRun('replay', replays[0])).toBe(true);
    expect(replays[0].status).toBe(1);
  });

  it('under rewind record -- node --test: a failed test is a failure event, and rewind replay picks its process', async ({
    expect,
  }) => {
    const dir = project(files);
    const out = path.join(dir, 'rec');
    const r = await rewind(['record', '--out', out, '--', NODE, '--test', 'fail.test.mjs', 'pass.test.mjs'], {
      cwd: dir,
    });
    expect(r.status, describeRun('record', r)).toBe(1);
    const ps = await rewind(['ps', out, '--json']);
    const procs = ps.stdout
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { pid: number; argv: string[]; default: boolean });
    expect(procs, ps.stdout.toString()).toHaveLength(3); // the runner and a child per file
    // rewind replay picks the child that ran the failing file.
    const child = procs.find((p) => p.default)!;
    expect(child.argv.slice(1), ps.stdout.toString()).toEqual([path.join(dir, 'fail.test.mjs')]);
    // node:test's child exits 1 by itself once its tests are done, with no uncaught error.
    const events = await eventsOf(out, { sites: false, process: String(child.pid) });
    expect(events.at(-1)!.detail).toBe('exit code 1 (event loop empty)');
    expect(events.filter((e) => e.kind === 'failure').map((e) => e.detail)).toEqual([
      expect.stringMatching(
        /^test failed: fail\.test\.mjs > adds after a timer: AssertionError: Expected values to be strictly equal:/,
      ),
    ]);
    const replay = await rewind(['replay', out], { cwd: dir });
    expect(replay.stderr.toString(), describeRun('replay', replay)).toMatch(failure);
    expect(replay.status).toBe(1);
  });

  it.skipIf(ISOLATION_NONE === null)(
    'under rewind record -- node --test --test-isolation=none: the runner runs the files itself, and a failed test is a failure event',
    async ({ expect }) => {
      const dir = project(files);
      const out = path.join(dir, 'rec');
      const args = ['--test', ISOLATION_NONE!, '--test-reporter=tap', 'fail.test.mjs', 'pass.test.mjs'];
      const r = await rewind(['record', '--out', out, '--', NODE, ...args], { cwd: dir });
      expect(r.status, describeRun('record', r)).toBe(1);
      expect(logsOf(out), 'one process').toHaveLength(1);
      const events = await eventsOf(out, { sites: false });
      expect(events.filter((e) => e.kind === 'failure').map((e) => e.detail)).toEqual([
        expect.stringMatching(
          /^test failed: fail\.test\.mjs > adds after a timer: AssertionError: Expected values to be strictly equal:/,
        ),
      ]);
      const replay = await rewind(['replay', out], { cwd: dir });
      expect(replay.stderr.toString(), describeRun('replay', replay)).toMatch(failure);
      expect(replay.stdout.equals(r.stdout), describeRun('replay', replay)).toBe(true);
      expect(replay.status).toBe(1);
    },
  );

  it('node --experimental-test-coverage on a test file: the coverage report replays, and V8 writes no coverage at replay', async ({
    expect,
  }) => {
    const dir = project({
      'lib.js': "exports.size = (n) => {\n  if (n < 0.5) return 'small';\n  return 'large';\n};\n",
      'size.test.js': `const test = require('node:test');\nconst assert = require('node:assert');\nconst { size } = require('./lib');\ntest('size', async () => {\n  await new Promise((r) => setTimeout(r, 5));\n  assert.ok(['small', 'large'].includes(size(Math.random())));\n});\n`,
    });
    // The runner's temporary directory (where V8 writes the coverage it reads) is made here.
    const tmp = tempDir('rewind-coverage-tmp-');
    const out = path.join(dir, 'rec');
    const args = ['--experimental-test-coverage', '--test-reporter=tap', 'size.test.js'];
    const r = await rewind(['record', '--out', out, '--', NODE, ...args], { cwd: dir, env: { TMPDIR: tmp } });
    expect(r.status, describeRun('record', r)).toBe(0);
    expect(r.stdout.toString(), describeRun('record', r)).toMatch(/# start of coverage report[^]*lib\.js/);
    const events = await eventsOf(out, { sites: false });
    expect(events.map((e) => e.detail).join('\n')).toMatch(/fs\.readFile \["sync", "[^"]*\/node-coverage-/);
    expect(fs.readdirSync(tmp), 'the runner removed its directory').toEqual([]);

    const replay = await rewind(['replay', out], { cwd: dir });
    expect(replay.status, describeRun('replay', replay)).toBe(0);
    expect(replay.stdout.equals(r.stdout), describeRun('replay', replay)).toBe(true);
    expect(replay.stderr.equals(r.stderr), describeRun('replay', replay)).toBe(true);
    // Without rewind's no-op profiler, V8 made the recorded directory again and wrote two files there.
    expect(fs.readdirSync(tmp), 'V8 wrote coverage at replay').toEqual([]);
  });
});

// Each test runs vitest 21 times or more (the recording, then 20 replays): on a loaded machine that outlasts the
// default 60 s.
describe.concurrent(
  'examples/flaky (acceptance 1): its forced failure replays 20 times out of 20',
  { timeout: 240_000 },
  () => {
    const EXAMPLE = path.join(ROOT, 'examples', 'flaky');
    const TEST = 'examples/flaky/loader.test.ts > the config is loaded before the deadline';
    const failure = (name: string) =>
      new RegExp(
        `^rewind: test failed, as recorded \\(event \\d+\\): ${name.replace(/[.>]/g, '\\$&')}\\nAssertionError: expected 'deadline passed' to deeply equal \\{ retries: 3, region: 'eu-west-1' \\}\\n`,
        'm',
      );
    // The backoff outlasts the deadline: the failure the example shows about 1 run in 20.
    const LOSE = { FLAKY_BACKOFF_MS: '45' };

    it('recorded with rewind record from the repository (npx vitest run examples/flaky)', async ({ expect }) => {
      const out = path.join(tempDir('rewind-flaky-'), 'rec');
      const r = await rewind(['record', '--out', out, '--', NODE, VITEST, 'run', 'examples/flaky'], {
        cwd: ROOT,
        env: LOSE,
      });
      expect(r.status, describeRun('record', r)).toBe(1);
      await replaysReproduce(expect, ROOT, ['replay', out], 20, failure(TEST));
    });

    // Not forced by FLAKY_BACKOFF_MS: chaos seed 1000 makes the first run fail, by starving the
    // config read's fstat (the test process's second thread-pool operation) for 1024 ms, past
    // the test's 38 ms deadline: a decision of the seed (a hash of it and the operation), not
    // of timing, with a second to spare. Node 26 reads the file in one operation (no fstat of
    // its own), which seed 1001 starves.
    const seed = Number(process.versions.node.split('.')[0]) >= 26 ? '1001' : '1000';
    it(`rewind record --until-fail --chaos --seed ${seed} fails at its first run, which then replays 20 times out of 20`, async ({
      expect,
    }) => {
      const out = path.join(tempDir('rewind-flaky-'), 'rec');
      const args = ['record', '--until-fail', '--chaos', '--seed', seed, '--runs', '50', '--out', out];
      const r = await rewind([...args, '--', NODE, VITEST, 'run', 'examples/flaky'], { cwd: ROOT });
      const ctx = describeRun('record --until-fail --chaos', r);
      expect(r.status, ctx).toBe(1);
      const summary = r.stderr.toString();
      expect(summary, ctx).toMatch(
        /^rewind: run 1 of 50 failed: exit code 1; process \d+ \(forks\): test failed: examples\/flaky\/loader\.test\.ts > the config is loaded before the deadline: AssertionError: expected 'deadline passed'/m,
      );
      expect(summary, ctx).toMatch(new RegExp(`^ {2}chaos seed: +${seed}$`, 'm'));
      expect(summary, ctx).toContain(`replay it:   rewind replay ${out}`);
      await replaysReproduce(expect, ROOT, ['replay', out], 20, failure(TEST));
    });

    it('the per-test recording rewind-replay/vitest keeps', async ({ expect }) => {
      const dir = project({
        'vitest.config.mjs': `import rewind from ${JSON.stringify(path.join(ROOT, 'dist', 'runners', 'vitest.js'))};\nexport default { plugins: [rewind()] };\n`,
        'examples/flaky/loader.test.ts': fs.readFileSync(path.join(EXAMPLE, 'loader.test.ts'), 'utf8'),
        'examples/flaky/config.json': fs.readFileSync(path.join(EXAMPLE, 'config.json'), 'utf8'),
      });
      const r = await run(NODE, [VITEST, 'run', '--root', dir], { cwd: dir, env: LOSE });
      const printed = printedCommands(r);
      expect(printed.replay, describeRun('vitest', r)).toHaveLength(1);
      await replaysReproduce(expect, dir, printed.replay[0], 20, failure(TEST));
    });
  },
);
