// Children given the program's own stdout and stderr (stdio: 'inherit'): their output is
// part of what the user saw, so the replay prints it, in its place among the program's own
// lines, without starting the children again.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import {
  BIN,
  NODE,
  cleanupTempDirs,
  describeRun,
  expectReplayMatches,
  fixture,
  record,
  replay,
  run,
  sleep,
  tempDir,
} from './helpers.js';

afterAll(cleanupTempDirs);

describe.concurrent('children with stdio: inherit', () => {
  it("spawnSync: the tool's output and status replay; the tool does not run again", async ({ expect }) => {
    const marker = path.join(tempDir('rewind-inherit-'), 'ran');
    const rec = await record('loop/inherit-sync.cjs', [marker]);
    expect(rec.stdout.toString()).toMatch(/^running the tool\ntool output \d+\ntool exited 1 null null\n$/);
    expect(rec.stderr.toString()).toBe('tool warning\n');
    expect(rec.status).toBe(1);
    expect(fs.existsSync(marker)).toBe(true);
    fs.rmSync(marker);
    await sleep(20);
    const rep = await replay(rec.dir);
    expectReplayMatches(expect, { record: rec, replay: rep });
    expect(fs.existsSync(marker), 'the replay ran the tool').toBe(false);
  });

  it("spawn: a shell and a Node child (6 KB of output) replay byte for byte, in order with the program's lines", async ({
    expect,
  }) => {
    const marker = path.join(tempDir('rewind-inherit-'), 'ran');
    const rec = await record('loop/inherit-async.cjs', [marker]);
    const out = rec.stdout.toString();
    expect(out).toMatch(/^before \d+\nshell says \d+\nshell exited 3 null\n[0-9a-f]{12000}\nnode child exited 0\n$/);
    expect(rec.stderr.toString()).toBe('shell error\n');
    expect(rec.status).toBe(3);
    fs.rmSync(marker);
    const rep = await replay(rec.dir);
    expectReplayMatches(expect, { record: rec, replay: rep });
    expect(fs.existsSync(marker), 'the replay ran the shell').toBe(false);
  });
});

// util-linux `script` gives the recorded program a terminal.
const hasScript = fs.existsSync('/usr/bin/script');

describe.concurrent('children with stdio: inherit, on a terminal', () => {
  it.skipIf(!hasScript)(
    "the recording says the child's output is not recorded, and so does the replay",
    async ({ expect }) => {
      const marker = path.join(tempDir('rewind-inherit-'), 'ran');
      const dir = path.join(tempDir('rewind-rec-'), 'rec');
      const cmd = [NODE, BIN, 'record', '--out', dir, '--', NODE, fixture('loop/inherit-sync.cjs'), marker]
        .map((a) => `'${a}'`)
        .join(' ');
      const rec = await run('script', ['-qec', cmd, '/dev/null']);
      const seen = rec.stdout.toString();
      expect(seen, describeRun('record on a terminal', rec)).toMatch(
        /^rewind: warning: child process output to the terminal \(fd 1\) is not recorded/m,
      );
      expect(seen).toMatch(/^tool output \d+\r$/m); // the child wrote to the terminal itself
      const rep = await replay(dir);
      expect(rep.status, describeRun('replay', rep)).toBe(1);
      expect(rep.stdout.toString()).not.toMatch(/tool output/);
      expect(rep.stderr.toString()).toMatch(
        /^rewind: note: what a child process wrote to the terminal \(fd 1\) when this was recorded is not in the recording, so this replay does not show it\.$/m,
      );
    },
  );
});
