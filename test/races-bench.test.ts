// bench/races/run.mjs, the harness of the real race bugs, on a bug of its own with nothing to
// install (the real bugs' packages come from npm, so they are not run here): it counts plain and
// --chaos runs, finds a failure with --until-fail --chaos, and judges analyze's answer against
// the bug's pair.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NODE, ROOT, cleanupTempDirs, describeRun, run, tempDir } from './helpers.js';

afterAll(cleanupTempDirs);

interface Arm {
  runs: number;
  fail: number;
  rate: number | null;
  broken: string[];
}
interface BugResult {
  id: string;
  error?: string;
  plain: Arm;
  chaos: Arm;
  untilFail: { tries: number[]; broken: string[] };
  analyze: { verdict: string; seconds: number; withPassing: boolean; report: { kind: string } } | null;
}

describe('bench/races/run.mjs', () => {
  it('measures a bug: plain and --chaos rates, tries to the first failure, and whether analyze named its pair', async () => {
    const harness = path.join(ROOT, 'bench', 'races', 'run.mjs');
    const dir = path.join(ROOT, 'test', 'fixtures', 'races');
    const args = [harness, '--dir', dir, '--runs', '3', '--reps', '1', '--jobs', '2'];
    const r = await run(NODE, [...args, '--json'], { timeoutMs: 240_000 });
    expect(r.status, describeRun('harness', r)).toBe(0);
    const res = JSON.parse(r.stdout.toString().trim()) as BugResult;
    expect(res.error).toBeUndefined();
    // Every run counted, none broken: a pass or the bug's own failure, nothing else.
    for (const arm of [res.plain, res.chaos]) {
      expect(arm.broken).toEqual([]);
      expect(arm.runs).toBe(3);
      expect(arm.rate).toBe(arm.fail / 3);
    }
    expect(res.untilFail.broken).toEqual([]);
    expect(res.untilFail.tries).toHaveLength(1);
    expect(res.untilFail.tries[0]).toBeGreaterThanOrEqual(1);
    expect(res.untilFail.tries[0]).toBeLessThanOrEqual(100);
    expect(res.analyze, describeRun('harness', r)).not.toBeNull();
    expect(res.analyze!.report.kind).toBe('pair');
    expect(res.analyze!.verdict, JSON.stringify(res.analyze)).toBe('right');
    expect(r.stderr.toString()).toMatch(/deadline-read: plain \d+% \(\d\/3\), --chaos \d+% \(\d\/3\)/);
    // The table, rendered from the saved results without running anything, has the bug's row.
    const saved = path.join(tempDir('rewind-races-'), 'results.jsonl');
    fs.writeFileSync(saved, r.stdout);
    const t = await run(NODE, [harness, '--render', saved]);
    expect(t.status, describeRun('render', t)).toBe(0);
    const row = t.stdout
      .toString()
      .split('\n')
      .find((l) => l.startsWith('| [deadline-read]'));
    expect(row, t.stdout.toString()).toMatch(
      /\| node@builtin \| \d+% \(\d\/3\) \| \d+% \(\d\/3\) \| — \| .* \| right \| [\d.]+ s/,
    );
  });
});
