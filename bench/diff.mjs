// How long `rewind diff` takes on two recordings of about 10^5 events each (target: < 3 s).
// Usage: node bench/diff.mjs [turns]  (default 50000 turns, 2 events each)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = path.join(root, 'bin', 'rewind.js');
const program = path.join(root, 'bench', 'diff-events.cjs');
const turns = process.argv[2] ?? '50000';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rewind-bench-diff-'));
try {
  const dirs = ['a', 'b'].map((x) => path.join(tmp, x));
  for (const [i, dir] of dirs.entries()) {
    const chaos = i === 1 ? ['--seed', '7'] : [];
    execFileSync(process.execPath, [bin, 'record', ...chaos, '--out', dir, '--', process.execPath, program, turns], {
      stdio: 'ignore',
    });
  }
  const events = execFileSync(process.execPath, [bin, 'info', dirs[0]], { encoding: 'utf8' }).match(
    /^events\s+(\d+)/m,
  )[1];
  const times = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    try {
      execFileSync(process.execPath, [bin, 'diff', ...dirs], { stdio: 'ignore' });
    } catch (e) {
      if (e.status !== 1) throw e; // 1: the runs differ
    }
    times.push(performance.now() - t0);
  }
  console.log(
    `rewind diff of two recordings of ${events} events: ` +
      `${times.map((t) => `${(t / 1000).toFixed(2)} s`).join(', ')} (whole command, 3 runs)`,
  );
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
