// process.execve (Node 22.15+) replaces the process with another program. Recording runs
// that program as a child (its output recorded, its ending this process's), so the replay
// prints what it printed and ends as it ended, without starting it.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempDirs, describeRun, fixture, record, replay, rewind, runPlain, tempDir } from './helpers.js';

afterAll(cleanupTempDirs);

const hasExecve = typeof (process as unknown as { execve?: unknown }).execve === 'function';
/** Node 26 throws a failed execve to the program; earlier versions abort. */
const EXECVE_THROWS = Number(process.versions.node.split('.')[0]) >= 26;

/** Runs execve.cjs plain, recorded and replayed; what each printed, how each ended. */
async function threeWays(how: string, extra: string[] = []) {
  const marker = path.join(tempDir(), 'ran.txt');
  const plain = await runPlain('execve.cjs', [marker, how, ...extra]);
  const plainRan = fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8') : null;
  fs.rmSync(marker, { force: true });
  const rec = await record('execve.cjs', [marker, how, ...extra]);
  const recRan = fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8') : null;
  fs.rmSync(marker, { force: true });
  const rep = await replay(rec.dir);
  const repRan = fs.existsSync(marker);
  return { plain, plainRan, rec, recRan, rep, repRan };
}

describe.skipIf(!hasExecve)('process.execve (Node 22.15+)', () => {
  it("runs the new program as recorded: its output (stdout and stderr), its environment, its exit status; never at replay, and the old program's exit handler never", async () => {
    const { plain, plainRan, rec, recRan, rep, repRan } = await threeWays('shell');
    const out = 'before true\nrefused: ERR_INVALID_ARG_VALUE\nchannel saw /bin/sh 5 args\nreplaced set\n';
    expect(plain.stdout.toString(), describeRun('plain', plain)).toBe(out);
    expect(plain.status).toBe(0);
    expect(rec.stdout.toString(), describeRun('record', rec)).toBe(out);
    expect(rec.stderr.toString()).toBe('to stderr\n');
    expect(rec.status).toBe(0);
    expect(recRan).toBe(plainRan);
    expect(rep.stdout.toString(), describeRun('replay', rep)).toBe(out);
    expect(rep.stderr.toString()).toBe('to stderr\n');
    expect(rep.status).toBe(0);
    expect(repRan, 'the replay ran the program execve names').toBe(false);
  });

  it('ends with the exit status the new program ended with', async () => {
    const { plain, rec, rep, repRan } = await threeWays('status');
    expect(plain.status, describeRun('plain', plain)).toBe(3);
    expect(rec.status, describeRun('record', rec)).toBe(3);
    expect(rec.stdout.toString()).toMatch(/ending with 3\n$/);
    expect(rep.status, describeRun('replay', rep)).toBe(3);
    expect(rep.stdout.toString()).toBe(rec.stdout.toString());
    expect(repRan).toBe(false);
    // The log says whose ending it was (not process.exit()'s).
    const info = await rewind(['info', rec.dir]);
    expect(info.stdout.toString(), describeRun('info', info)).toContain('exit code 3 (process.execve: /bin/sh)');
  });

  it('dies of the signal the new program died of', async () => {
    const { plain, rec, rep } = await threeWays('signal');
    expect(plain.signal, describeRun('plain', plain)).toBe('SIGTERM');
    expect(rec.signal, describeRun('record', rec)).toBe('SIGTERM');
    expect(rec.stdout.toString()).toMatch(/killing itself\n$/);
    expect(rep.signal, describeRun('replay', rep)).toBe('SIGTERM');
    expect(rep.stdout.toString()).toBe(rec.stdout.toString());
    const info = await rewind(['info', rec.dir]);
    expect(info.stdout.toString(), describeRun('info', info)).toContain('killed by SIGTERM (process.execve: /bin/sh)');
  });

  it.skipIf(EXECVE_THROWS)(
    'a program that cannot be started: the failed call is reported and the process aborts, as in Node 22-25',
    async () => {
      const { plain, rec, rep } = await threeWays('missing');
      expect(plain.signal, describeRun('plain', plain)).toBe('SIGABRT');
      expect(plain.stderr.toString()).toMatch(/process\.execve failed with error code ENOENT/);
      expect(rec.stderr.toString(), describeRun('record', rec)).toMatch(
        /process\.execve failed with error code ENOENT/,
      );
      expect(rec.signal).toBe('SIGABRT');
      expect(rep.stderr.toString(), describeRun('replay', rep)).toMatch(
        /process\.execve failed with error code ENOENT/,
      );
      expect(rep.signal).toBe('SIGABRT');
      expect(rep.stdout.toString()).toBe(rec.stdout.toString());
    },
  );

  it.runIf(EXECVE_THROWS)(
    'a program that cannot be started, on Node 26+ (which throws it to the program): named when recording, the replay stops there',
    async () => {
      const { plain, rec, rep } = await threeWays('missing');
      expect(plain.status, describeRun('plain', plain)).toBe(1);
      expect(plain.stderr.toString()).toMatch(/ENOENT/);
      expect(rec.status, describeRun('record', rec)).toBe(1);
      expect(rec.stdout.toString()).toBe(plain.stdout.toString());
      expect(rec.stderr.toString()).toMatch(/a process\.execve\(\) that fails/);
      expect(rep.status, describeRun('replay', rep)).toBe(70);
      expect(rep.stderr.toString()).toMatch(/cannot replay past it without making the system call/);
    },
  );

  it('a worker thread still running ends with the process: its log is finished, and the replay goes through it', async () => {
    const { plain, rec, rep } = await threeWays('worker');
    const out =
      'before true\nrefused: ERR_INVALID_ARG_VALUE\nworker up \nchannel saw /bin/sh 5 args\nreplaced with a worker running\n';
    expect(plain.stdout.toString(), describeRun('plain', plain)).toBe(out);
    expect(rec.stdout.toString(), describeRun('record', rec)).toBe(out);
    expect(rec.status).toBe(0);
    expect(rep.stdout.toString(), describeRun('replay', rep)).toBe(out);
    expect(rep.status).toBe(0);
    const ps = await rewind(['ps', rec.dir]);
    expect(ps.stdout.toString(), ps.stderr.toString()).toMatch(/worker 1 .*terminated as its process ended/);
  });

  it('a Node program it starts is recorded as a process of its own, and replays alone', async () => {
    const script = fixture('execve-node.cjs');
    const { rec, recRan, rep, repRan } = await threeWays('node', [script]);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stdout.toString()).toMatch(/node program: number 3 args\nnode program done\n$/);
    expect(recRan).toBe('node ran\n');
    expect(rep.status, describeRun('replay', rep)).toBe(0);
    expect(rep.stdout.toString()).toBe(rec.stdout.toString());
    expect(repRan).toBe(false);
    const ps = await rewind(['ps', rec.dir, '--json']);
    const procs = ps.stdout
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { program: string; pid: number });
    const child = procs.find((p) => p.program.includes('execve-node'));
    expect(child, ps.stdout.toString()).toBeDefined();
    const alone = await replay(rec.dir, { flags: ['-p', String(child!.pid)] });
    expect(alone.status, describeRun('replay -p', alone)).toBe(0);
    expect(alone.stdout.toString()).toBe('node program: number 3 args\nnode program done\n');
  });
});
