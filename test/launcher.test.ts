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
  run,
  start,
  tempDir,
  within,
  type RunOptions,
} from './helpers.js';
import { ENV } from '../src/session/env.js';

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

/** `bin/rewind replay DIR`, saying (REWIND_LAUNCH_DEBUG) whether it ran in its process or through the CLI. */
function replayVia(dir: string | null, opts: RunOptions = {}) {
  return run(FRONT, ['replay', ...(dir === null ? [] : [dir])], {
    cwd: opts.cwd ?? tempDir('rewind-cwd-'),
    ...opts,
    env: { REWIND_LAUNCH_DEBUG: '1', ...opts.env },
  });
}
const HERE = 'rewind: replaying in this process\n';

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
    // Two processes recorded: no replay.args, so bin/rewind has the CLI replay the root.
    expect(fs.existsSync(path.join(dir, 'replay.args'))).toBe(false);
    const rep = await replayVia(dir);
    expect(rep.status, describeRun('replay', rep)).toBe(0);
    expect(Buffer.compare(rep.stdout, rec.stdout)).toBe(0);
    expect(text(rep.stderr)).toBe('');
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
    const rep = await replayVia(crash);
    expect(rep.status).toBe(1);
    expect(text(rep.stderr)).toBe((how === 'launch' ? HERE : '') + text(rc.stderr));
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
    const rep = await replayVia(null, { cwd });
    expect(Buffer.compare(rep.stdout, rec.stdout), describeRun('replay', rep)).toBe(0);
    expect(text(rep.stderr)).toBe(how === 'launch' ? HERE : '');
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
    const rep = await replayVia(dir);
    expect(rep.signal, describeRun('replay', rep)).toBe('SIGTERM');
    expect(text(rep.stderr)).toBe(how === 'launch' ? HERE : '');
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
    // node's own long options: one process too; the replay of that goes through the CLI.
    const flagged = path.join(tempDir('rewind-rec-'), 'rec');
    const r = await run('sh', [
      '-c',
      `echo $$; exec "$0" "$@"`,
      path.join(bin, 'rewind'),
      'record',
      '--out',
      flagged,
      '--',
      NODE,
      '--no-warnings',
      FIXTURE,
    ]);
    const [shPid, firstLine] = text(r.stdout).split('\n');
    expect(firstLine).toMatch(new RegExp(`^pid ${shPid} `));
    expect(text(r.stdout)).toContain('execArgv ["--no-warnings"]');
    expect(readIndex(flagged).command).toEqual([NODE, '--no-warnings', FIXTURE]);
    expect(fs.existsSync(path.join(flagged, 'replay.args'))).toBe(false);
    const rep = await replayVia(flagged);
    expect(Buffer.compare(rep.stdout, r.stdout.subarray(shPid.length + 1)), describeRun('replay', rep)).toBe(0);
    // One-letter options, and those with which node runs no program: the CLI, as before.
    const short = await run('sh', [
      '-c',
      `echo $$; exec "$0" "$@"`,
      path.join(bin, 'rewind'),
      'record',
      '--out',
      `${flagged}-2`,
      '--',
      NODE,
      '-r',
      'node:util',
      FIXTURE,
    ]);
    const [shPid2, first2] = text(short.stdout).split('\n');
    expect(first2).toMatch(/^pid \d+ /);
    expect(first2).not.toMatch(new RegExp(`^pid ${shPid2} `));
    const version = await run(path.join(bin, 'rewind'), ['record', '--out', `${flagged}-3`, '--', NODE, '--version']);
    expect(version.status).toBe(64);
    expect(text(version.stderr)).toContain('no Node.js process started');
    // --audit: the same report, from the one process.
    const audited = path.join(tempDir('rewind-rec-'), 'rec');
    const a = await run('sh', [
      '-c',
      `echo $$; exec "$0" "$@"`,
      FRONT,
      'record',
      '--audit',
      '--out',
      audited,
      '--',
      NODE,
      FIXTURE,
    ]);
    const [aPid, aFirst] = text(a.stdout).split('\n');
    expect(aFirst).toMatch(new RegExp(`^pid ${aPid} `));
    expect(text(a.stderr)).toContain('rewind audit: every callback the event loop ran in process');
    expect(fs.readdirSync(audited).filter((f) => f.endsWith('.audit.json'))).toHaveLength(1);
    const cliVersion = await run(path.join(bin, 'rewind'), ['--version']);
    expect(text(cliVersion.stdout)).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('rewind replay of a recording bin/rewind made', () => {
  /** Records the fixture with `--read=FILE` through the front end; the file then changes. */
  async function recorded(args: string[] = []) {
    const work = tempDir('rewind-work-');
    const input = path.join(work, 'input.txt');
    fs.writeFileSync(input, 'recorded input\n');
    const dir = path.join(work, 'rec');
    const rec = await recordVia('launch', ['--out', dir, '--', NODE, FIXTURE, `--read=${input}`, ...args]);
    expect(rec.status, describeRun('record', rec)).toBe(0);
    expect(text(rec.stdout)).toContain('read recorded input\n');
    fs.writeFileSync(input, 'changed input\n');
    return { dir, rec, work };
  }

  it('runs in one process, from the log alone, and matches byte for byte', async () => {
    const { dir, rec } = await recorded(['x  y', '']);
    const rep = await replayVia(dir);
    expect(rep.status, describeRun('replay', rep)).toBe(0);
    expect(text(rep.stderr)).toBe(HERE);
    expect(Buffer.compare(rep.stdout, rec.stdout)).toBe(0);
    const summary = await replayVia(dir, { env: { REWIND_LAUNCH_DEBUG: undefined } });
    expect(text(summary.stderr)).toBe(''); // not a terminal: no summary line, as the CLI
    const said = await run(FRONT, ['replay', dir, '--summary'], { cwd: tempDir('rewind-cwd-') });
    expect(text(said.stderr)).toMatch(/^rewind: replay complete: \d+ of \d+ events matched/);
    expect(Buffer.compare(said.stdout, rec.stdout)).toBe(0);
  });

  it('runs in one process from a relative path too, and leaves every variable of rewind to the CLI', async () => {
    const { dir, rec, work } = await recorded();
    const relative = await replayVia(path.basename(dir), { cwd: work });
    expect(text(relative.stderr), describeRun('replay', relative)).toBe(HERE);
    expect(Buffer.compare(relative.stdout, rec.stdout)).toBe(0);
    // bin/rewind tests each of rewind's variables by name (listing the environment would fork):
    // each one the preload reads is in its list, but LAUNCH_DEBUG (its own, taken out first).
    const front = fs.readFileSync(FRONT, 'utf8');
    for (const name of Object.values(ENV).filter((n) => n !== ENV.LAUNCH_DEBUG))
      expect(front, `bin/rewind does not check ${name}`).toContain(`\${${name}+1}`);
    const steered = await replayVia(dir, { env: { [ENV.STATE]: '' } });
    expect(text(steered.stderr)).not.toContain(HERE);
  });

  it('has the CLI replay it when this process is not the replay the CLI would start', async () => {
    const { dir, rec } = await recorded();
    // fd 0 of another kind than recorded (a pipe now, /dev/null then)
    const piped = await replayVia(dir, { input: 'ignored' });
    expect(text(piped.stderr)).toBe('rewind: replaying through the CLI: stdin of another kind\n');
    expect(Buffer.compare(piped.stdout, rec.stdout)).toBe(0);
    // a start-up variable that differs
    const tz = await replayVia(dir, { env: { TZ: 'Pacific/Chatham' } });
    expect(text(tz.stderr)).toBe('rewind: replaying through the CLI: start-up variable TZ\n');
    expect(Buffer.compare(tz.stdout, rec.stdout)).toBe(0);
    // rewind's own variables: the front end leaves them to the CLI
    const steered = await replayVia(dir, { env: { REWIND_MARK: '1' } });
    expect(text(steered.stderr)).toBe('');
    expect(Buffer.compare(steered.stdout, rec.stdout)).toBe(0);
  });

  it('refuses, through the CLI, a program that changed, and a recording that is not signed by you', async () => {
    const { dir } = await recorded();
    const unsigned = path.join(tempDir('rewind-rec-'), 'rec');
    fs.cpSync(dir, unsigned, { recursive: true });
    for (const f of fs.readdirSync(unsigned)) if (f.endsWith('.sig')) fs.rmSync(path.join(unsigned, f));
    const r = await replayVia(unsigned);
    expect(text(r.stderr)).toContain('rewind: replaying through the CLI: not signed by you\n');
    // A program edited since: the CLI refuses it (65) before it runs.
    const prog = path.join(tempDir('rewind-prog-'), 'prog.cjs');
    fs.copyFileSync(FIXTURE, prog);
    const out = path.join(tempDir('rewind-rec-'), 'rec');
    expect((await recordVia('launch', ['--out', out, '--', NODE, prog])).status).toBe(0);
    fs.appendFileSync(prog, '\nconsole.log("the edited program ran");\n');
    const edited = await replayVia(out);
    expect(edited.status).toBe(65);
    expect(text(edited.stderr)).toContain('rewind: replaying through the CLI: the program changed\n');
    expect(text(edited.stderr)).toContain('changed since it was recorded');
    expect(text(edited.stdout)).toBe('');
  });

  it('takes replay.args as data: a script it names other than the recorded one does not run here', async () => {
    const { dir, rec } = await recorded();
    const args = fs.readFileSync(path.join(dir, 'replay.args'), 'utf8').split('\n');
    expect(args[1]).toBe(FIXTURE);
    const other = path.join(tempDir('rewind-prog-'), 'other.cjs');
    fs.writeFileSync(other, 'console.log("the other script ran");\n');
    fs.writeFileSync(path.join(dir, 'replay.args'), [args[0], other, ...args.slice(2)].join('\n'));
    const swapped = await replayVia(dir);
    expect(text(swapped.stderr)).toBe('rewind: replaying through the CLI: another command line\n');
    expect(text(swapped.stdout)).not.toContain('the other script ran');
    expect(Buffer.compare(swapped.stdout, rec.stdout)).toBe(0);
    // A recorded directory holding a `node` of its own, with `.` in PATH: never run.
    const planted = tempDir('rewind-planted-');
    fs.writeFileSync(path.join(planted, 'node'), '#!/bin/sh\necho planted node ran\n', { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'replay.args'), [planted, ...args.slice(1)].join('\n'));
    const dotted = await replayVia(dir, { env: { PATH: `.:${path.dirname(NODE)}:${process.env.PATH}` } });
    expect(text(dotted.stdout)).not.toContain('planted');
    expect(Buffer.compare(dotted.stdout, rec.stdout), describeRun('replay', dotted)).toBe(0);
    // Another process's log added since: the CLI picks the process to replay.
    fs.writeFileSync(path.join(dir, 'replay.args'), args.join('\n'));
    const { dir: second } = await recorded();
    for (const f of fs.readdirSync(second))
      if (f.endsWith('.rwnd')) fs.copyFileSync(path.join(second, f), path.join(dir, f));
    const two = await replayVia(dir);
    expect(text(two.stderr)).toBe('rewind: replaying through the CLI: more than one process\n');
    expect(two.status, describeRun('replay', two)).toBe(0);
  });
});
