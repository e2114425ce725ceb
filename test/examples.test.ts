// The README's examples do what the README says: record, then replay the same output.
import path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { ROOT, cleanupTempDirs, describeRun, expectReplayMatches, recordAndReplay } from './helpers.js';

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
