// The README's examples do what the README says: record, then replay the same output.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { NODE, ROOT, cleanupTempDirs, describeRun, expectReplayMatches, logsOf, recordAndReplay, rewind, run, tempDir } from './helpers.js';

afterAll(cleanupTempDirs);

describe.concurrent('examples/', () => {
  for (const name of ['dice.js', 'crash.js']) {
    it(`${name} records and replays`, async ({ expect }) => {
      const r = await recordAndReplay(path.join(ROOT, 'examples', name));
      expect([0, 1], describeRun('record', r.record)).toContain(r.record.status);
      expect(r.record.stdout.length).toBeGreaterThan(0);
      expectReplayMatches(expect, r);
    });
  }
});

// The README: rewind also works without the CLI, as a preload.
describe.concurrent('node --import rewind/register, and NODE_OPTIONS', () => {
  const PROGRAM = `setTimeout(() => console.log('uuid', randomUUID(), Date.now() % 1000, Math.random()), 20);\n`;
  const forms = [
    ['--import rewind/register, ESM', 'program.mjs', `import { randomUUID } from 'node:crypto';\n${PROGRAM}`, (p: string): [string[], Record<string, string>] => [['--import', 'rewind/register', p], {}]],
    ['NODE_OPTIONS=--import=rewind/register, CommonJS', 'program.cjs', `const { randomUUID } = require('node:crypto');\n${PROGRAM}`, (p: string): [string[], Record<string, string>] => [[p], { NODE_OPTIONS: '--import=rewind/register' }]],
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
    });
  }
});
