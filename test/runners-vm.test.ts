// rewind-replay/vitest with vitest's vmForks pool: each test file runs in a vm context of a
// forked worker, with the context's own Date and Math.random. The failing test (whose
// message holds a Math.random() drawn inside the context) is recorded in its worker's log
// and replays with the same number, every time.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { NODE, ROOT, cleanupTempDirs, describeRun, rewind, run, tempDir } from './helpers.js';

afterAll(cleanupTempDirs);

const VITEST = path.join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');

describe('rewind-replay/vitest, pool vmForks', () => {
  it('keeps the failing worker, whose replay draws the same numbers inside the vm context', async ({ expect }) => {
    const dir = tempDir('rewind-vmforks-');
    const files: Record<string, string> = {
      'vitest.config.mjs': `import rewind from ${JSON.stringify(path.join(ROOT, 'dist', 'runners', 'vitest.js'))};\nexport default { plugins: [rewind()], test: { pool: 'vmForks' } };\n`,
      'draws.test.mjs': [
        "import { expect, test } from 'vitest';",
        "test('draws after a timer', async () => {",
        '  await new Promise((resolve) => setTimeout(resolve, 5));',
        '  expect(`${Date.now()} ${Math.random()}`).toBe(2);',
        '});',
        '',
      ].join('\n'),
      'passes.test.mjs':
        "import { expect, test } from 'vitest';\ntest('passes', () => { expect(Math.random()).toBeLessThan(1); });\n",
    };
    for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
    const r = await run(NODE, [VITEST, 'run', '--root', dir], { cwd: dir, timeoutMs: 120_000 });
    const ctx = describeRun('vitest', r);
    expect(r.status, ctx).toBe(1);
    expect(r.stderr.toString() + r.stdout.toString(), ctx).not.toMatch(/is not recorded/);
    const printed = /^ +replay: +npx rewind (replay \S+ -p \d+)$/m.exec(r.stderr.toString());
    expect(printed, ctx).not.toBeNull();
    const drawn = /expected '(\d{13} 0\.\d+)' to be 2/.exec(r.stderr.toString() + r.stdout.toString());
    expect(drawn, ctx).not.toBeNull();
    for (let i = 0; i < 2; i++) {
      const rep = await rewind(printed![1].split(' '), { cwd: dir });
      const rctx = describeRun('replay', rep);
      expect(rep.stderr.toString(), rctx).toContain(`rewind: test failed, as recorded`);
      expect(rep.stderr.toString(), rctx).toContain(
        `draws.test.mjs > draws after a timer\nAssertionError: expected '${drawn![1]}' to be 2`,
      );
      expect(rep.stderr.toString(), rctx).not.toMatch(/divergence/);
    }
  });
});
