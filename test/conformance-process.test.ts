// Record→replay conformance for process inputs (argv, env, cwd, pid) and for the ways a
// process ends: exit codes, exitCode, uncaught exceptions, unhandled rejections, signals.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import {
  cleanupTempDirs,
  describeRun,
  expectReplayMatches,
  fixture,
  record,
  recordAndReplay,
  replay,
  rewind,
  runPlain,
  tempDir,
  type Expect,
} from './helpers.js';

afterAll(cleanupTempDirs);

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';

interface Case {
  fixture: string;
  status: number | null;
  signal?: NodeJS.Signals;
  varies?: 'stdout' | 'stderr';
  check?: (out: string, err: string, expect: Expect) => void;
}

/** Rewind's own modules must not show in the program's stack traces. */
const REWIND_FRAMES = /[\\/]dist[\\/](session|sources|trace|cli)[\\/]/;

const CASES: Case[] = [
  {
    fixture: 'exit-3.cjs',
    status: 3,
    varies: 'stdout',
    check(out, _err, expect) {
      expect(out).toMatch(/^start \S+\nexiting with 3 \d+\nexit listener 3 \d+\n$/);
    },
  },
  {
    fixture: 'exit-3-main.cjs',
    status: 3,
    varies: 'stdout',
    check(out, _err, expect) {
      expect(out).toMatch(/^start \S+ \d+\n$/);
    },
  },
  {
    fixture: 'exitcode-4.mjs',
    status: 4,
    varies: 'stdout',
    check(out, _err, expect) {
      expect(out).toMatch(new RegExp(`^set exitCode ${UUID}\\ndone \\d+\\n$`));
    },
  },
  {
    fixture: 'uncaught-timer.cjs',
    status: 1,
    varies: 'stderr',
    check(out, err, expect) {
      expect(out).toMatch(/^start \d+\nabout to throw\n$/);
      expect(err).toMatch(/^Error: boom 0\.\d+$/m);
      expect(err).toMatch(/uncaught-timer\.cjs:\d+/);
      expect(err).toMatch(/^Node\.js v\d+/m);
      expect(err).not.toMatch(REWIND_FRAMES);
    },
  },
  {
    fixture: 'uncaught-immediate.mjs',
    status: 1,
    varies: 'stderr',
    check(out, err, expect) {
      expect(out).toMatch(/^start \d+\n$/);
      expect(err).toMatch(/TypeError: bad value [0-9a-f]{8}/);
      expect(err).toMatch(/extra: \d{13}/);
      expect(err).toMatch(/uncaught-immediate\.mjs:\d+/);
      expect(err).not.toMatch(REWIND_FRAMES);
    },
  },
  {
    fixture: 'uncaught-handled.cjs',
    status: 0,
    varies: 'stdout',
    check(out, _err, expect) {
      expect(out).toMatch(
        /^handler caught first 0\.\d+ uncaughtException\nhandler caught second \d+ uncaughtException\ndone \d+\n$/,
      );
    },
  },
  {
    fixture: 'unhandled-rejection.mjs',
    status: 1,
    varies: 'stderr',
    check(out, err, expect) {
      expect(out).toMatch(/^start \d+\nrejecting\n$/);
      expect(err).toMatch(new RegExp(`Error: rejected ${UUID}`));
      expect(err).toMatch(/unhandled-rejection\.mjs:\d+/);
      expect(err).not.toMatch(REWIND_FRAMES);
    },
  },
  {
    fixture: 'signal-self.cjs',
    status: null,
    signal: 'SIGTERM',
    varies: 'stdout',
    check(out, _err, expect) {
      expect(out).toMatch(/^start \S+ \d+\nsending SIGTERM \d+\n$/);
    },
  },
  {
    fixture: 'signal-handler.cjs',
    status: 5,
    check(out, _err, expect) {
      expect(out).toMatch(
        /^(tick \d+\n)*sending\n(tick \d+\n)*handler got SIGTERM after ticks \d+ \d+\n(tick \d+\n)*exiting \d+\n$/,
      );
      expect(out).toMatch(/^tick 1$/m);
    },
  },
];

describe.concurrent('record → replay: how the process ends', () => {
  for (const c of CASES) {
    it(c.fixture, async ({ expect }) => {
      const plain = c.varies ? runPlain(c.fixture) : null;
      const r = await recordAndReplay(c.fixture);
      expect({ status: r.record.status, signal: r.record.signal }, describeRun('record', r.record)).toEqual({
        status: c.status,
        signal: c.signal ?? null,
      });
      c.check?.(r.record.stdout.toString('utf8'), r.record.stderr.toString('utf8'), expect);
      expectReplayMatches(expect, r);
      if (plain) {
        const p = await plain;
        expect({ status: p.status, signal: p.signal }, describeRun('plain run', p)).toEqual({
          status: r.record.status,
          signal: r.record.signal,
        });
        expect(p[c.varies!].equals(r.record[c.varies!]), `a plain run printed the same ${c.varies}`).toBe(false);
      }
    });
  }
});

describe.concurrent("the program's own --require preloads (NODE_OPTIONS) and exit wrappers", () => {
  // instrument.cjs reads a clock and Math.random when loaded and wraps process.emit and
  // reallyExit after rewind, as signal-exit does (nyc, foreground-child): its exit handler
  // prints and writes a file after rewind's end record. Both used to escape the recording:
  // the preload ran before rewind's, the handler after the log was closed (nyc's watchdog
  // wrote its coverage file unrecorded, and its replay stopped there with exit 70).
  for (const how of ['natural', 'exit', 'throw'] as const) {
    it(`recorded and replayed, nothing written at replay (${how})`, async ({ expect }) => {
      const out = path.join(tempDir('rewind-instrument-'), 'out.txt');
      const env = {
        NODE_OPTIONS: `--require ${fixture('preload-first/instrument.cjs')}`,
        INSTRUMENT_OUT: out,
      };
      const rec = await record('preload-first/app.cjs', [how], { env });
      const status = { natural: 0, exit: 3, throw: 1 }[how];
      expect(rec.status, describeRun('record', rec)).toBe(status);
      expect(rec.stdout.toString()).toMatch(
        new RegExp(`^app: instrumented \\w+ at \\d+, now \\d+\ninstrument: exit ${status} after a while\n$`),
      );
      const written = fs.readFileSync(out, 'utf8');
      expect(written).toMatch(new RegExp(`^\\w+ ${status} 0\\.\\d+\n$`));
      fs.rmSync(out);

      const rep = await replay(rec.dir);
      expectReplayMatches(expect, { record: rec, replay: rep });
      expect(fs.existsSync(out), 'the exit handler wrote its file at replay').toBe(false);
      // Under a debugger's controller rewind loads as ESM, after every --require: the preload
      // is taken off the command line and loaded by rewind, in its recorded place.
      const ev = await rewind(['events', rec.dir]);
      expect(ev.status, describeRun('events', ev)).toBe(0);
      expect(ev.stdout.toString()).toMatch(/^1 .*Date\.now\(\) → \d+ +@ \S+instrument\.cjs:8:/);
      expect(ev.stdout.toString()).toMatch(/\bend .*\n(.*\n)*.*fs\.writeFile .*out\.txt.* @ \S+instrument\.cjs:16:/);
      expect(fs.existsSync(out)).toBe(false);
    });
  }
});

describe.concurrent('record → replay: process inputs', () => {
  const ARGS = ['alpha', '--beta=1', 'with space', '', 'ünïcödé'];

  it('process-info.cjs: argv, env set only at record, cwd, pid, ppid', async ({ expect }) => {
    const recordCwd = tempDir('rewind-gone-');
    const value = `recorded-only-${Math.random()}`;
    const replayCwd = tempDir('rewind-elsewhere-');
    const r = await recordAndReplay('process-info.cjs', ARGS, {
      record: { cwd: recordCwd, env: { FIXTURE_VALUE: value } },
      // At replay the variable is absent from rewind's environment and another one is set:
      // the program must still see the recorded environment, exactly.
      replay: { cwd: replayCwd, env: { FIXTURE_VALUE: undefined, FIXTURE_REPLAY_ONLY: '1' } },
    });
    const out = r.record.stdout.toString('utf8');
    expect(r.record.status, describeRun('record', r.record)).toBe(0);
    expect(out).toContain(`argv ${JSON.stringify(ARGS)}\n`);
    expect(out).toContain('argv[0] is execPath true\n');
    expect(out).toContain(`env value ${JSON.stringify(value)}\n`);
    expect(out).toContain('replay-only var present false\n');
    expect(out).toContain(`cwd ${fs.realpathSync(recordCwd)}\n`);
    expect(out).toMatch(/^pid \d+ number$/m);
    expect(out).toMatch(/^ppid \d+$/m);
    expect(out).toMatch(/^done$/m);
    expectReplayMatches(expect, r);
  });

  it('process-info.cjs: the recorded cwd is restored when it no longer exists', async ({ expect }) => {
    const recordCwd = tempDir('rewind-gone-');
    const rec = await record('process-info.cjs', ARGS, { cwd: recordCwd, env: { FIXTURE_VALUE: 'x' } });
    expect(rec.status, describeRun('record', rec)).toBe(0);
    const real = fs.realpathSync(recordCwd);
    expect(rec.stdout.toString('utf8')).toContain(`cwd ${real}\n`);
    fs.rmSync(recordCwd, { recursive: true, force: true });
    const rep = await replay(rec.dir, { cwd: tempDir('rewind-elsewhere-') });
    expectReplayMatches(expect, { record: rec, replay: rep });
  });

  it('process-info.mjs: ESM named imports of node:process', async ({ expect }) => {
    const value = `esm-${Math.random()}`;
    const r = await recordAndReplay('process-info.mjs', ARGS, {
      record: { env: { FIXTURE_VALUE: value } },
      replay: { env: { FIXTURE_VALUE: 'something else' } },
    });
    const out = r.record.stdout.toString('utf8');
    expect(r.record.status, describeRun('record', r.record)).toBe(0);
    expect(out).toContain(`argv ${JSON.stringify(ARGS)}\n`);
    expect(out).toContain(`env value ${JSON.stringify(value)}\n`);
    expect(out).toMatch(/^pid \d+ true$/m);
    expectReplayMatches(expect, r);
  });

  it('process-state.cjs: process.title as the OS cut it, loadEnvFile, chdir and credentials; the directory and .env file gone at replay', async ({
    expect,
  }) => {
    const dir = tempDir('rewind-state-');
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(path.join(dir, '.env'), 'FROM_ENV_FILE=from the file\n');
    const rec = await record('process-state.cjs', [dir]);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    const out = rec.stdout.toString('utf8');
    // Cut to the room the recorded process's arguments left (the replay's are longer).
    expect(Number(/^title (\d+) /m.exec(out)![1])).toBeLessThan(215);
    expect(out).toContain('env file from the file\nmissing env file ENOENT\n');
    expect(out).toContain(`cwd sub ${path.join('sub', 'a')}\nchdir gone ENOENT\ncredentials kept\n`);
    fs.rmSync(dir, { recursive: true });
    expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('title-long-argv.cjs: process.title cut to the room of arguments longer than 4 KiB', async ({ expect }) => {
    const rec = await record('title-long-argv.cjs', ['a'.repeat(6000)]);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    // More than 4 KiB kept (the arguments' room), less than was set.
    const kept = Number(/^title (\d+) 6000$/m.exec(rec.stdout.toString('utf8'))![1]);
    expect(kept).toBeGreaterThan(6000);
    expect(kept).toBeLessThan(70_000);
    expectReplayMatches(expect, { record: rec, replay: await replay(rec.dir) });
  });

  it('the recorded pid differs from a plain run (so restoring it is observable)', async ({ expect }) => {
    const [a, b] = await Promise.all([runPlain('process-info.cjs'), runPlain('process-info.cjs')]);
    const pid = (s: Buffer) => /^pid (\d+)/m.exec(s.toString('utf8'))![1];
    expect(pid(a.stdout)).not.toBe(pid(b.stdout));
    expect(path.isAbsolute(/^cwd (.*)$/m.exec(a.stdout.toString('utf8'))![1])).toBe(true);
  });
});
