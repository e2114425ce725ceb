// `rewind record -- npm test`: npm's own process is not the program, but what it printed
// ("> pkg@1.0.0 test", "> node test.js") is part of what the user saw. Its process records
// its output only; replaying the program prints npm's lines around it, byte for byte.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { cleanupTempDirs, describeRun, expectReplayMatches, fixture, rewind, sleep, tempDir } from './helpers.js';

afterAll(cleanupTempDirs);

/** npm without the notices that depend on the network or the day. */
const NPM_ENV = {
  npm_config_update_notifier: 'false',
  npm_config_fund: 'false',
  npm_config_audit: 'false',
  npm_config_loglevel: 'notice',
};

describe.concurrent('rewind record -- npm test', () => {
  it("the replay prints npm's lines and the test's, and exits as npm did; npm's own process is not replayed", async ({
    expect,
  }) => {
    const project = tempDir('rewind-npm-');
    for (const f of ['package.json', 'test.js']) fs.copyFileSync(fixture(`loop/npm-pkg/${f}`), path.join(project, f));
    const dir = path.join(tempDir('rewind-rec-'), 'rec');
    const rec = await rewind(['record', '--out', dir, '--', 'npm', 'test'], {
      cwd: project,
      env: NPM_ENV,
      timeoutMs: 60_000,
    });
    const ctx = describeRun('record', rec);
    expect(rec.status, ctx).toBe(1);
    expect(rec.stdout.toString(), ctx).toMatch(
      /^\n> rewind-npm-fixture@1\.0\.0 test\n> node test\.js\n\ntest ran at \d+ 0\.\d+\n$/,
    );
    expect(rec.stderr.toString(), ctx).toMatch(/^expected 1, got \d+\n/);

    const ps = await rewind(['ps', dir, '--json']);
    const procs = ps.stdout
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { pid: number; program: string; default: boolean });
    expect(procs.map((p) => p.program).sort()).toEqual(['npm', 'test']);
    expect(procs.find((p) => p.default)!.program).toBe('test');

    await sleep(20);
    const rep = await rewind(['replay', dir], { cwd: project, env: NPM_ENV });
    expectReplayMatches(expect, { record: { ...rec, dir }, replay: rep });

    const refused = await rewind(['replay', dir, '-p', 'npm'], { cwd: project });
    expect(refused.status).toBe(64);
    expect(refused.stdout.length).toBe(0);
    expect(refused.stderr.toString()).toMatch(
      /^rewind: process \d+ \(npm\) is a package manager's own process: rewind recorded only what it printed/,
    );
  });
});
