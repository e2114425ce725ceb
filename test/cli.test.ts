// The CLI on bad input, on a crashed recording, and its read-only commands.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FORMAT_VERSION } from '../src/trace/format.js';
import { within } from './helpers.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const CLI = path.join(ROOT, 'bin', 'rewind.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rewind-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function rewind(args: string[], cwd = tmp): Run {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

function write(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, text);
  return file;
}

/** A valid recording of a small program, as raw bytes. */
function sampleLog(): Buffer {
  const prog = write(
    'sample.js',
    'console.log(Date.now(), Math.random()); setTimeout(() => console.log("t", Date.now()), 5);\n',
  );
  const out = path.join(tmp, `sample-${Math.random().toString(36).slice(2)}`);
  const r = rewind(['record', '--out', out, '--', process.execPath, prog]);
  expect(r.status).toBe(0);
  const log = fs.readdirSync(out).find((f) => f.endsWith('.rwnd'))!;
  return fs.readFileSync(path.join(out, log));
}

/** A message is one paragraph for the user: no stack frames of rewind's own code. */
function expectUserMessage(r: Run, code: number, pattern: RegExp): void {
  expect(r.status).toBe(code);
  expect(r.stderr).toMatch(pattern);
  expect(r.stderr).not.toMatch(/^\s+at .*(dist|src)\//m);
  expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(3);
}

describe('bad input', () => {
  it('a missing recording', () => {
    expectUserMessage(rewind(['replay', path.join(tmp, 'nope')]), 65, /no recording at .*nope/);
  });

  it('no recording yet in this directory', () => {
    const empty = fs.mkdtempSync(path.join(tmp, 'empty-'));
    expectUserMessage(rewind(['replay'], empty), 65, /no recording in .*\.rewind yet/);
  });

  it('an empty recording', () => {
    expectUserMessage(rewind(['replay', write('empty.rwnd', '')]), 65, /is empty \(0 bytes\)/);
  });

  it('random bytes', () => {
    const junk = path.join(tmp, 'junk.rwnd');
    fs.writeFileSync(junk, Buffer.from(Array.from({ length: 500 }, (_, i) => (i * 7919) % 256)));
    expectUserMessage(rewind(['replay', junk]), 65, /not a rewind recording/);
  });

  it('a recording from a newer format version', () => {
    const log = sampleLog();
    log[4] = FORMAT_VERSION + 1;
    const file = path.join(tmp, 'newer.rwnd');
    fs.writeFileSync(file, log);
    expectUserMessage(
      rewind(['info', file]),
      65,
      new RegExp(
        `newer rewind \\(trace format ${FORMAT_VERSION + 1}; this rewind reads format ${FORMAT_VERSION}\\).*Upgrade`,
      ),
    );
  });

  it('a recording from format 1, which recorded the public fs functions, is refused', () => {
    const log = sampleLog();
    log[4] = 1;
    const file = path.join(tmp, 'older.rwnd');
    fs.writeFileSync(file, log);
    expectUserMessage(
      rewind(['replay', file]),
      65,
      new RegExp(
        `made by an older rewind \\(trace format 1; this rewind replays formats 2-${FORMAT_VERSION} only.*fs binding.*\\)\\. Record the program again`,
      ),
    );
  });

  it('a recording cut inside its header', () => {
    const file = path.join(tmp, 'cut-header.rwnd');
    fs.writeFileSync(file, sampleLog().subarray(0, 40));
    expectUserMessage(rewind(['replay', file]), 65, /cut short after 40 bytes, inside its header/);
  });

  it('a corrupted chunk', () => {
    const log = sampleLog();
    log[log.length - 3] ^= 0xff;
    const file = path.join(tmp, 'corrupt.rwnd');
    fs.writeFileSync(file, log);
    expectUserMessage(rewind(['replay', file]), 65, /is corrupt: the chunk at byte \d+ fails its checksum/);
  });

  it('record with no command', () => {
    expectUserMessage(rewind(['record']), 64, /needs a command to run/);
    expectUserMessage(rewind(['record', '--']), 64, /needs a command to run/);
  });

  it('a command that does not exist', () => {
    expectUserMessage(
      rewind(['record', '--out', path.join(tmp, 'nocmd'), '--', 'no-such-command-xyz']),
      127,
      /cannot run `no-such-command-xyz`: command not found/,
    );
    expect(fs.existsSync(path.join(tmp, 'nocmd'))).toBe(false);
  });

  it('a command that is not a Node program', () => {
    const r = rewind(['record', '--out', path.join(tmp, 'ls'), '--', 'ls', tmp]);
    expect(r.stdout).toContain('sample.js'); // its output still passes through
    expectUserMessage(r, 64, /no Node\.js process started/);
  });

  it('--out pointing at an existing recording', () => {
    const out = path.join(tmp, 'twice');
    const prog = write('twice.js', 'console.log(1)\n');
    expect(rewind(['record', '--out', out, '--', process.execPath, prog]).status).toBe(0);
    expectUserMessage(rewind(['record', '--out', out, '--', process.execPath, prog]), 64, /already holds a recording/);
  });

  it('a changed program is refused unless --force', () => {
    const prog = write('changes.js', 'console.log("v1", Date.now());\n');
    const out = path.join(tmp, 'changes');
    expect(rewind(['record', '--out', out, '--', process.execPath, prog]).status).toBe(0);
    fs.writeFileSync(prog, 'console.log("v2", Date.now());\n');
    expectUserMessage(rewind(['replay', out]), 65, /changes\.js changed since it was recorded.*--force/);
    // --force runs the new code against the old recording: it reads the recorded clock,
    // then its first write differs, and the report shows both.
    const forced = rewind(['replay', '--force', out]);
    expect(forced.status).toBe(70);
    expect(forced.stderr).toMatch(
      /^rewind: divergence at event 2 \(of 3\)\n  the recording has: stdout "v1 \d+\\n"\n  the program did: +wrote to stdout "v2 \d+\\n"/,
    );
    expect(forced.stderr).toMatch(/at .*changes\.js:1/);
  });
});

describe('a recording whose process was killed (SIGKILL)', () => {
  it('replays up to its last complete event, then says the recording ends there', async () => {
    const prog = write(
      'ticker.js',
      'console.log("pid", process.pid);\nlet i = 0;\nsetInterval(() => console.log("tick", i++, Date.now()), 10);\n',
    );
    const out = path.join(tmp, 'killed');
    const child = spawn(process.execPath, [CLI, 'record', '--out', out, '--', process.execPath, prog], { cwd: tmp });
    let stdout = '';
    const exited = new Promise((r) => child.on('exit', r));
    await within(
      new Promise<void>((resolve) => {
        child.stdout.on('data', (d: Buffer) => {
          stdout += d;
          const pid = /pid (\d+)/.exec(stdout)?.[1];
          // Past the 30th tick, at least one periodic flush has happened.
          if (pid && /tick 30 /.test(stdout)) {
            process.kill(Number(pid), 'SIGKILL');
            resolve();
          }
        });
      }),
      'the 30th tick',
    );
    await within(exited, 'the end of rewind record');
    const replay = rewind(['replay', out]);
    expect(replay.stderr).toMatch(/rewind: the recording ends at event \d+ \(.*\): the recorded process was killed/);
    const replayed = replay.stdout.split('\n').filter(Boolean);
    expect(replayed.length).toBeGreaterThan(5);
    // Everything replayed is exactly what the recorded run printed, in order.
    expect(stdout.startsWith(replay.stdout)).toBe(true);
    const info = rewind(['info', out]);
    expect(info.status).toBe(0);
    expect(info.stdout).toMatch(/ended\s+no end record/);
  });
});

describe('events and info', () => {
  const prog = write(
    'events.js',
    'console.log("a", Date.now());\nsetTimeout(() => { console.log("b", Math.random()); process.exitCode = 3; }, 20);\n',
  );
  const out = path.join(tmp, 'events');

  it('lists numbered events, with --json and filters', () => {
    expect(rewind(['record', '--out', out, '--', process.execPath, prog]).status).toBe(3);
    const text = rewind(['events', out]);
    expect(text.status).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines.map((l) => Number(l.trim().split(/\s+/)[0]))).toEqual(lines.map((_, i) => i + 1));
    expect(text.stdout).toMatch(/clock\s+Date\.now\(\) → \d+/);
    expect(text.stdout).toMatch(/turn\s+setTimeout callback \(op #1\)/);
    expect(text.stdout).toMatch(/end\s+exit code 3 \(event loop empty\)/);

    const json = rewind(['events', out, '--json'])
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(json.map((e) => e.kind)).toEqual(['clock', 'output', 'turn', 'output', 'end']);
    expect(json[2].time_us).toBeGreaterThanOrEqual(20_000); // the timer's virtual time
    expect(json[4].end).toEqual({ code: 3, signal: null, via: 'natural' });

    const outputs = rewind(['events', out, '--json', '--kind', 'output']).stdout.trim().split('\n');
    expect(outputs).toHaveLength(2);
    const range = rewind(['events', out, '--from', '2', '--to', '3']).stdout.trim().split('\n');
    expect(range.map((l) => l.trim().split(/\s+/)[0])).toEqual(['2', '3']);
  });

  it('info shows the header and how the run ended', () => {
    const r = rewind(['info', out]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/program\s+.*events\.js/);
    expect(r.stdout).toMatch(new RegExp(`node\\s+${process.version.replace(/\./g, '\\.')}`));
    expect(r.stdout).toMatch(/events\s+5\n/);
    expect(r.stdout).toMatch(/ended\s+exit code 3/);
  });
});
