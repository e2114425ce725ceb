// process.execve replaces the recorded process with a program rewind does not record: the
// recording says so, and the replay stops there (exit 70) without running that program.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, describeRun, record, replay, tempDir } from './helpers.js';

afterAll(cleanupTempDirs);

const hasExecve = typeof (process as unknown as { execve?: unknown }).execve === 'function';

describe.skipIf(!hasExecve)('process.execve (Node 22.15+)', () => {
  it('is named when recording; the replay stops at it and never runs the new program', async () => {
    const marker = path.join(tempDir(), 'ran.txt');
    const rec = await record('execve.cjs', [marker]);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stdout.toString()).toBe('before true\nreplaced\n');
    expect(rec.stderr.toString()).toMatch(/process\.execve\(\)/);
    fs.rmSync(marker);
    const r = await replay(rec.dir);
    expect(r.status, describeRun('replay', r)).toBe(70);
    expect(r.stdout.toString()).toBe('before true\n');
    expect(r.stderr.toString()).toMatch(/replaced itself with \/bin\/sh \(process\.execve\)/);
    expect(fs.existsSync(marker), 'the replay ran the program execve names').toBe(false);
  });
});
