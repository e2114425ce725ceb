// process.stdout and process.stderr are of the class the recorded process had (a pipe's
// net.Socket, a file's SyncWriteStream), whatever the replay's own fds are, while the replay
// still writes where its fds go: Node picks the class from the fd, and a program sees it (the
// "[Socket]" of a MaxListenersExceededWarning, found replaying tinypool's suite into a file).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BIN,
  NODE,
  PROCESS_TIMEOUT_MS,
  ROOT,
  baseEnv,
  cleanupTempDirs,
  describeRun,
  fixture,
  logsOf,
  run,
  tempDir,
  type RunResult,
} from './helpers.js';
import { TraceReader } from '../src/trace/reader.js';

afterAll(cleanupTempDirs);

const FIXTURE = fixture('stdio-kind.cjs');
const FRONT = path.join(ROOT, 'bin', 'rewind');

/**
 * Runs a command with stdout (and stderr, if `stderrToFile`) into a file instead of a pipe,
 * and returns what it wrote there as a run's output.
 */
function runIntoFile(cmd: string, args: string[], cwd: string, env: Record<string, string> = {}, stderrToFile = false) {
  const dir = tempDir('rewind-out-');
  const outFile = path.join(dir, 'stdout');
  const errFile = path.join(dir, 'stderr');
  const out = fs.openSync(outFile, 'w');
  const errFd = stderrToFile ? fs.openSync(errFile, 'w') : 'pipe';
  return new Promise<RunResult>((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { cwd, env: baseEnv(env), stdio: ['ignore', out, errFd] });
    fs.closeSync(out);
    if (typeof errFd === 'number') fs.closeSync(errFd);
    const err: Buffer[] = [];
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), PROCESS_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({
        stdout: fs.readFileSync(outFile),
        stderr: stderrToFile ? fs.readFileSync(errFile) : Buffer.concat(err),
        status,
        signal,
        ms: performance.now() - started,
        timedOut: signal === 'SIGKILL',
      });
    });
  });
}

function expectSameRun(rec: RunResult, rep: RunResult): void {
  const ctx = `\n${describeRun('record', rec)}\n${describeRun('replay', rep)}`;
  expect({ status: rep.status, signal: rep.signal }, `replay ended differently${ctx}`).toEqual({
    status: rec.status,
    signal: rec.signal,
  });
  expect(rep.stdout.toString('utf8'), `stdout differs${ctx}`).toBe(rec.stdout.toString('utf8'));
  expect(rep.stderr.toString('utf8'), `stderr differs${ctx}`).toBe(rec.stderr.toString('utf8'));
  expect(Buffer.compare(rep.stdout, rec.stdout), 'stdout differs byte for byte').toBe(0);
  expect(Buffer.compare(rep.stderr, rec.stderr), 'stderr differs byte for byte').toBe(0);
}

/** The recorded process's stdio, from its log's header. */
function recordedStdio(dir: string) {
  const [log] = logsOf(dir).filter((l) => !TraceReader.open(l).header.threadId);
  return TraceReader.open(log).header.stdio;
}

// Recorded by the front end, which replays such a recording in its own process (session/launch.ts);
// the CLI replays it in a child.
const REPLAYERS = [
  ['the CLI', NODE, [BIN, 'replay'], { REWIND_LAUNCH: '0' }],
  ['bin/rewind in its process', FRONT, ['replay'], { REWIND_LAUNCH_DEBUG: '1' }],
] as const;
const HERE = 'rewind: replaying in this process\n';
/** The replay's stderr without the front end's word on where it replayed (it must have been here). */
function withoutLaunchNote(r: RunResult, how: string): RunResult {
  if (!how.startsWith('bin/rewind')) return r;
  const err = r.stderr.toString('utf8');
  expect(err.startsWith(HERE), `bin/rewind did not replay in its process:\n${err}`).toBe(true);
  return { ...r, stderr: Buffer.from(err.slice(HERE.length)) };
}

describe.each(REPLAYERS)('stdout and stderr keep their recorded class, replayed by %s', (how, cmd, args, env) => {
  it('a pipe recorded, a file at replay: net.Socket, writing into the file', async () => {
    const cwd = tempDir('rewind-cwd-');
    const dir = path.join(tempDir('rewind-rec-'), 'rec');
    // stdout and stderr pipes (the test's), as every recorded child process's are
    const rec = await run(FRONT, ['record', '--out', dir, '--', NODE, FIXTURE], { cwd });
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stdout.toString()).toContain('stdout {"class":"Socket","type":"pipe"');
    expect(rec.stderr.toString()).toContain('added to [Socket]');
    expect(recordedStdio(dir)).toMatchObject({ stdout: { kind: 'pipe' }, stderr: { kind: 'pipe' } });
    const rep = await runIntoFile(cmd, [...args, dir], cwd, env, true);
    expectSameRun(rec, withoutLaunchNote(rep, how));
  });

  it('a file recorded, a pipe at replay: SyncWriteStream, writing into the pipe', async () => {
    const cwd = tempDir('rewind-cwd-');
    const dir = path.join(tempDir('rewind-rec-'), 'rec');
    // stdout into a file, stderr a pipe: each keeps its own class
    const rec = await runIntoFile(FRONT, ['record', '--out', dir, '--', NODE, FIXTURE], cwd);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stdout.toString()).toContain('stdout {"class":"SyncWriteStream","type":"fs"');
    expect(rec.stdout.toString()).toContain('stderr {"class":"Socket","type":"pipe"');
    expect(rec.stderr.toString()).toContain('added to [SyncWriteStream]');
    expect(recordedStdio(dir)).toMatchObject({ stdout: { kind: 'file' }, stderr: { kind: 'pipe' } });
    const rep = await run(cmd, [...args, dir], { cwd, env });
    expectSameRun(rec, withoutLaunchNote(rep, how));
  });
});

describe('a forked child', () => {
  it('a pipe recorded, a file at replay of the child alone (-p): net.Socket', async () => {
    const cwd = tempDir('rewind-cwd-');
    const dir = path.join(tempDir('rewind-rec-'), 'rec');
    const rec = await run(FRONT, ['record', '--out', dir, '--', NODE, fixture('stdio-kind-fork.cjs')], { cwd });
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(rec.stderr.toString()).toContain('added to [Socket]');
    const child = logsOf(dir).find((l) => path.basename(l).startsWith('stdio-kind-'))!;
    const pid = TraceReader.open(child).header.pid;
    const rep = await runIntoFile(NODE, [BIN, 'replay', '-p', String(pid), dir], cwd, {}, true);
    expectSameRun(rec, rep);
  });
});
