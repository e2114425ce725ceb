// The file system: reads of distinct files (this repository's sources), a temporary tree written and read back.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';

const root = path.resolve(import.meta.dirname, '..', '..');

function* walk(dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) yield* walk(path.join(dir, e.name));
    else if (e.name.endsWith('.ts')) yield path.join(dir, e.name);
  }
}

test('reads every source file of rewind', () => {
  let lines = 0;
  for (const f of walk(path.join(root, 'src'))) lines += fs.readFileSync(f, 'utf8').split('\n').length;
  expect(lines).toBeGreaterThan(1_000);
});

test('writes a tree, reads it back, removes it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rewind-bench-suite-'));
  try {
    for (let i = 0; i < 200; i++) await fs.promises.writeFile(path.join(dir, `f${i}.txt`), `file ${i}\n`.repeat(i + 1));
    const sizes = await Promise.all(
      fs.readdirSync(dir).map(async (f) => (await fs.promises.readFile(path.join(dir, f))).length),
    );
    expect(sizes.reduce((a, b) => a + b, 0)).toBeGreaterThan(100_000);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
