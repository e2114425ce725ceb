// bin/rewind, the front end npm links as `rewind`: `record [--out DIR] [--audit] -- node
// SCRIPT` runs as one process (the shell script execs node with the preload; the root process
// does the CLI's part, session/launch.ts); every other command line, and this one with
// REWIND_LAUNCH=0, goes through the CLI (bin/rewind.js). Both paths must record the same way.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  NODE,
  ROOT,
  cleanupTempDirs,
  describeRun,
  fixture,
  logsOf,
  replay,
  run,
  start,
  tempDir,
  within,
  type RunOptions,
} from './helpers.js';

const FRONT = path.join(ROOT, 'bin', 'rewind');
const FIXTURE = fixture('launch-root.cjs');
afterAll(cleanupTempDirs);

/** `bin/rewind record ...`, through the shell front end; `cli` forces the CLI's path. */
function recordVia(how: 'launch' | 'cli', args: string[], opts: RunOptions = {}) {
  return run(FRONT, ['record', ...args], {
    cwd: opts.cwd ?? tempDir('rewind-cwd-'),
    ...opts,
    env: { ...opts.env, ...(how === 'cli' ? { REWIND_LAUNCH: '0' } : {}) },
  });
}

const text = (b: Buffer) => b.toString('utf8');
const readIndex = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));

describe.each(['launch', 'cli'] as const)('rewind record -- node SCRIPT, %s path', (how) => {
  it('records the program once, with what a plain run sees, and it replays byte for byte', async () => {
    const dir = path.join(tempDir('rewind-rec-'), 'rec');
    const rec = await recordVia(how, ['--out', dir, '--', NODE, FIXTURE, 'a b', '--child']);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    const out = text(rec.stdout);
    // One process (the front end's own pid runs the program), or the CLI's child.
    const [, pid] = /^pid (\d+)/.exec(out)!;
    const pids = (
      await run('sh', ['-c', `echo $$; exec ${FRONT} record --out ${dir}-pid -- ${NODE} ${FIXTURE}`], {
        env: how === 'cli' ? { REWIND_LAUNCH: '0' } : {},
      })
    ).stdout
      .toString()
      .split('\n');
    expect(new RegExp(`^pid ${pids[0]} `).test(pids[1])).toBe(how === 'launch');
    expect(Number(pid)).toBeGreaterThan(0);
    expect(out).toContain('argv ["a b","--child"] execArgv []\n');
    expect(out).toContain('main true launch undefined\n');
    // The child records into the same recording and is not a root.
    expect(out).toContain('child launch undefined dir true\n');
    expect(logsOf(dir)).toHaveLength(2);
    const index = readIndex(dir);
    expect(index.command.slice(1)).toEqual([FIXTURE, 'a b', '--child']);
    expect(index.status).toEqual({ code: 0, signal: null });
    expect(Date.parse(index.ended)).toBeGreaterThanOrEqual(Date.parse(index.started));
    const rep = await replay(dir);
    expect(rep.status, describeRun('replay', rep)).toBe(0);
    expect(Buffer.compare(rep.stdout, rec.stdout)).toBe(0);
    expect(text(rep.stderr)).toBe(text(rec.stderr));
  });

  it('passes the exit status and an uncaught exception through, into index.json too', async () => {
    const dir = path.join(tempDir('rewind-rec-'), 'rec');
    const rec = await recordVia(how, ['--out', dir, '--', NODE, FIXTURE, '--exit=3']);
    expect(rec.status, describeRun('record', rec)).toBe(3);
    expect(readIndex(dir).status).toEqual({ code: 3, signal: null });
    const crash = path.join(tempDir('rewind-rec-'), 'rec');
    const rc = await recordVia(how, ['--out', crash, '--', NODE, FIXTURE, '--throw']);
    expect(rc.status).toBe(1);
    expect(text(rc.stderr)).toContain('Error: boom');
    expect(readIndex(crash).status).toEqual({ code: 1, signal: null });
    const rep = await replay(crash);
    expect(rep.status).toBe(1);
    expect(text(rep.stderr)).toBe(text(rc.stderr));
    expect(Buffer.compare(rep.stdout, rc.stdout)).toBe(0);
  });

  it('without --out, records into .rewind/ and makes it the latest', async () => {
    const cwd = tempDir('rewind-cwd-');
    const rec = await recordVia(how, ['--', NODE, FIXTURE], { cwd });
    expect(rec.status, describeRun('record', rec)).toBe(0);
    const latest = fs.readFileSync(path.join(cwd, '.rewind', 'latest'), 'utf8').trim();
    expect(latest).toMatch(/^\d{8}-\d{6}-launch-root-[0-9a-f]{6}$/);
    expect(fs.readFileSync(path.join(cwd, '.rewind', '.gitignore'), 'utf8')).toContain('*');
    expect(logsOf(path.join(cwd, '.rewind', latest))).toHaveLength(1);
    const rep = await run(FRONT, ['replay'], { cwd });
    expect(Buffer.compare(rep.stdout, rec.stdout), describeRun('replay', rep)).toBe(0);
  });

  it('refuses an --out that holds a recording, or is a file, before the program runs', async () => {
    const dir = path.join(tempDir('rewind-rec-'), 'rec');
    expect((await recordVia(how, ['--out', dir, '--', NODE, FIXTURE])).status).toBe(0);
    const before = fs.readdirSync(dir).sort();
    const again = await recordVia(how, ['--out', dir, '--', NODE, FIXTURE]);
    expect(again.status).toBe(64);
    expect(text(again.stderr)).toContain('already holds a recording');
    expect(text(again.stdout)).toBe(''); // the program did not run
    expect(fs.readdirSync(dir).sort()).toEqual(before);
    const file = path.join(tempDir('rewind-rec-'), 'file');
    fs.writeFileSync(file, 'mine');
    const onFile = await recordVia(how, ['--out', file, '--', NODE, FIXTURE]);
    expect(onFile.status).toBe(64);
    expect(text(onFile.stderr)).toContain('is a file, not a directory');
    expect(fs.readFileSync(file, 'utf8')).toBe('mine');
    const blocked = path.join(file, 'sub'); // under a file: cannot be created
    const cannot = await recordVia(how, ['--out', blocked, '--', NODE, FIXTURE]);
    expect(cannot.status).toBe(73);
    expect(text(cannot.stdout)).toBe('');
  });

  it('a signal reaches the program, which ends by it; the index says so', async () => {
    const dir = path.join(tempDir('rewind-rec-'), 'rec');
    const s = start(FRONT, ['record', '--out', dir, '--', NODE, FIXTURE, '--wait'], {
      cwd: tempDir('rewind-cwd-'),
      env: how === 'cli' ? { REWIND_LAUNCH: '0' } : {},
    });
    await within(s.waitFor(/^ready$/m), 'ready line');
    s.child.kill('SIGTERM');
    const r = await s.done;
    expect(r.signal, describeRun('record', r)).toBe('SIGTERM');
    expect(text(r.stdout)).not.toContain('not killed');
    expect(readIndex(dir).status).toEqual({ code: null, signal: 'SIGTERM' });
    const rep = await replay(dir);
    expect(rep.signal, describeRun('replay', rep)).toBe('SIGTERM');
  });
});

describe('bin/rewind', () => {
  it('works through a symbolic link, as npm links it, and falls back to the CLI for other shapes', async () => {
    const bin = path.join(tempDir('rewind-bin-'), '.bin');
    fs.mkdirSync(bin);
    fs.symlinkSync(path.relative(bin, FRONT), path.join(bin, 'rewind'));
    const dir = path.join(tempDir('rewind-rec-'), 'rec');
    const rec = await run(path.join(bin, 'rewind'), ['record', '-o', dir, '--', NODE, FIXTURE]);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(readIndex(dir).status).toEqual({ code: 0, signal: null });
    // node's own options: the CLI's path, which records them the same way.
    const flagged = path.join(tempDir('rewind-rec-'), 'rec');
    const r = await run(path.join(bin, 'rewind'), ['record', '--out', flagged, '--', NODE, '--no-warnings', FIXTURE]);
    expect(text(r.stdout)).toContain('execArgv ["--no-warnings"]');
    expect(readIndex(flagged).command).toEqual([NODE, '--no-warnings', FIXTURE]);
    const version = await run(path.join(bin, 'rewind'), ['--version']);
    expect(text(version.stdout)).toMatch(/^\d+\.\d+\.\d+/);
  });
});
