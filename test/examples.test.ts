// The README's examples do what the README says: record, then replay the same output.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import {
  NODE,
  ROOT,
  cleanupTempDirs,
  describeRun,
  eventsOf,
  expectReplayMatches,
  logsOf,
  recordAndReplay,
  rewind,
  run,
  tempDir,
} from './helpers.js';

afterAll(cleanupTempDirs);

describe.concurrent('examples/', () => {
  it('dice.js records and replays', async ({ expect }) => {
    const r = await recordAndReplay(path.join(ROOT, 'examples', 'dice.js'));
    expect(r.record.status, describeRun('record', r.record)).toBe(0);
    expect(r.record.stdout.toString()).toMatch(
      /^start \d+ .*\nrolls (\d,){5}\d [0-9a-f]{8} [0-9a-f-]{36}\ndone at \d+ /,
    );
    expectReplayMatches(expect, r);
  });

  // As its comment says: recorded until it crashes (half the runs do: 100 runs without a
  // crash would be a 2^-100 chance), then the crash replays.
  it('crash.js: record --until-fail keeps the crash, which replays', async ({ expect }) => {
    const dir = path.join(tempDir('rewind-crash-'), 'rec');
    const rec = await rewind(
      ['record', '--until-fail', '--out', dir, '--', NODE, path.join(ROOT, 'examples', 'crash.js')],
      { cwd: tempDir() },
    );
    const ctx = describeRun('record --until-fail', rec);
    expect(rec.status, ctx).toBe(1);
    const failed = "uncaught exception: TypeError: Cannot read properties of null (reading 'items')";
    expect(rec.stderr.toString(), ctx).toContain(`(crash): ${failed}\n`);
    const served = rec.stdout.toString().match(/^served .*\n/gm)!;
    const rep = await rewind(['replay', dir], { cwd: tempDir() });
    const rctx = describeRun('replay', rep);
    expect(rep.status, rctx).toBe(1);
    expect(rep.stdout.toString(), rctx).toBe(served.at(-1));
    expect(rep.stdout.toString(), rctx).toMatch(/^served (alice then bob|bob then alice) at \d+\n$/);
    expect(rep.stderr.toString(), rctx).toContain("TypeError: Cannot read properties of null (reading 'items')");
  });
});

// The README: rewind also works without the CLI, as a preload.
describe.concurrent('node --import rewind-replay/register, and NODE_OPTIONS', () => {
  const PROGRAM = `setTimeout(() => console.log('uuid', randomUUID(), Date.now() % 1000, Math.random()), 20);\n`;
  const forms = [
    [
      '--import rewind-replay/register, ESM',
      'program.mjs',
      `import { randomUUID } from 'node:crypto';\n${PROGRAM}`,
      (p: string): [string[], Record<string, string>] => [['--import', 'rewind-replay/register', p], {}],
    ],
    [
      'NODE_OPTIONS=--import=rewind-replay/register, CommonJS',
      'program.cjs',
      `const { randomUUID } = require('node:crypto');\n${PROGRAM}`,
      (p: string): [string[], Record<string, string>] => [[p], { NODE_OPTIONS: '--import=rewind-replay/register' }],
    ],
  ] as const;
  for (const [label, file, text, how] of forms) {
    it(`${label}: records into REWIND_DIR, and rewind replay reproduces it`, async ({ expect }) => {
      const dir = tempDir('rewind-register-');
      const program = path.join(dir, file);
      fs.writeFileSync(program, text);
      const out = path.join(dir, 'recorded');
      const [args, env] = how(program);
      // From the repository, where `rewind` resolves to this package.
      const rec = await run(NODE, [...args], { cwd: ROOT, env: { ...env, REWIND_DIR: out } });
      expect(rec.status, describeRun('record', rec)).toBe(0);
      expect(rec.stdout.toString()).toMatch(/^uuid [0-9a-f-]{36} \d+ 0\.\d+\n$/);
      const logs = logsOf(out);
      expect(logs).toHaveLength(1);
      const rep = await rewind(['replay', logs[0]], { cwd: dir });
      expect(rep.status, describeRun('replay', rep)).toBe(0);
      expect(rep.stdout.toString()).toBe(rec.stdout.toString());
      // Under a debugger too: rewind loads in the form it recorded in (an ES module here), the
      // debug controller with it, and stops at the timer's turn with the call sites listed.
      const events = await eventsOf(logs[0], { sites: true });
      const turn = events.find((e) => e.kind === 'turn')!;
      expect(turn.site, 'the timer was scheduled in the program').toContain(file);
      const stop = await rewind(['replay', logs[0], '--until', String(turn.n)], { cwd: dir });
      expect(stop.status, describeRun('replay --until', stop)).toBe(0);
      expect(stop.stderr.toString()).toMatch(new RegExp(`rewind: stopped before event ${turn.n} of ${events.length}`));
    });
  }
});
