// Helpers for the record→replay conformance suites: run the rewind CLI (bin/rewind.js,
// which loads the compiled dist/) as a child process, with a clean environment, and
// compare what a recording and its replay printed.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BIN = path.join(ROOT, 'bin', 'rewind.js');
export const FIXTURES = path.join(ROOT, 'test', 'fixtures');
export const NODE = process.execPath;

/** Per-process time limit: a hung replay fails the test instead of hanging the suite. */
export const PROCESS_TIMEOUT_MS = 30_000;

/**
 * A callback fs.readFile's first completion, and how many turns the whole read takes: open,
 * fstat, read, close up to Node 25; Node 26 does it in one thread-pool trip (a ReadFileJob).
 */
const ONE_TRIP_READ_FILE = Number(process.versions.node.split('.')[0]) >= 26;
export const READ_FILE_FIRST_API = ONE_TRIP_READ_FILE ? 'fs.readFileJob' : 'fs.open';
export const READ_FILE_TURNS = ONE_TRIP_READ_FILE ? 1 : 4;

export interface RunResult {
  stdout: Buffer;
  stderr: Buffer;
  status: number | null;
  signal: NodeJS.Signals | null;
  /** Wall time from spawn to exit. */
  ms: number;
  /** Killed after PROCESS_TIMEOUT_MS. */
  timedOut: boolean;
}

export interface RunOptions {
  cwd?: string;
  /** Added to the clean base environment; `undefined` values remove a variable. */
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  /** Written to the process's stdin, which is then closed (default: no stdin). */
  input?: string | Buffer;
}

/**
 * The environment every child starts from: the test runner's, without anything that would
 * change how Node or rewind behave (a preload in NODE_OPTIONS, rewind's own steering
 * variables, forced or disabled colours), or how a vitest run inside a test behaves (the
 * variables this vitest gives its workers).
 */
export function baseEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) {
    if (
      k.startsWith('REWIND_') ||
      k.startsWith('VITEST') ||
      ['NODE_OPTIONS', 'FORCE_COLOR', 'NO_COLOR', 'NODE_DISABLE_COLORS', 'FORCE_TTY', 'TEST'].includes(k)
    ) {
      delete env[k];
    }
  }
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** Runs a command to completion, collecting its output as Buffers. Never rejects on a bad status. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return start(cmd, args, opts).done;
}

export interface Started {
  child: ChildProcess;
  /** Resolves with the first match of `re` in the process's stdout so far or to come. */
  waitFor(re: RegExp): Promise<RegExpMatchArray>;
  done: Promise<RunResult>;
}

/** Starts a command and lets the caller react to its output while it runs. */
export function start(cmd: string, args: string[], opts: RunOptions = {}): Started {
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  let text = '';
  let child!: ChildProcess;
  const done = new Promise<RunResult>((resolve, reject) => {
    const started = performance.now();
    child = spawn(cmd, args, {
      cwd: opts.cwd ?? os.tmpdir(),
      env: baseEnv(opts.env),
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => {
      out.push(b);
      text += b.toString('utf8');
      for (let i = waiters.length - 1; i >= 0; i--) {
        const m = waiters[i].re.exec(text);
        if (m) waiters.splice(i, 1)[0].resolve(m);
      }
    });
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? PROCESS_TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    // 'close' (not 'exit'): every byte of both pipes has been read.
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err),
        status,
        signal,
        ms: performance.now() - started,
        timedOut,
      });
    });
  });
  const waitFor = (re: RegExp) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const m = re.exec(text);
      if (m) return resolve(m);
      waiters.push({ re, resolve });
      done.then(
        (r) => reject(new Error(`the process ended without printing ${re}\n${describeRun('process', r)}`)),
        reject,
      );
    });
  return { child, waitFor, done };
}

/** `node bin/rewind.js ...args` */
export function rewind(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(NODE, [BIN, ...args], opts);
}

/** The fixture's absolute path (names are relative to test/fixtures). */
export function fixture(name: string): string {
  return path.isAbsolute(name) ? name : path.join(FIXTURES, name);
}

/** Runs a fixture with plain node, without rewind. */
export function runPlain(name: string, args: string[] = [], opts: RunOptions = {}): Promise<RunResult> {
  return run(NODE, [fixture(name), ...args], opts);
}

const tempRoots: string[] = [];

/** A fresh, empty directory under the OS temp dir; removed by cleanupTempDirs(). */
export function tempDir(prefix = 'rewind-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempRoots.push(dir);
  return dir;
}

export function cleanupTempDirs(): void {
  for (const d of tempRoots.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** `promise`, or a rejection naming `what` once `ms` have passed: every wait in a test ends. */
export function within<T>(promise: Promise<T>, what: string, ms = PROCESS_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

export interface RecordOptions extends RunOptions {
  /** The recording directory (default: a fresh temp dir). Must not hold a recording yet. */
  out?: string;
}

export interface Recorded extends RunResult {
  /** The recording directory passed to --out. */
  dir: string;
}

/** `rewind record --out DIR -- node FIXTURE ...args` */
export async function record(name: string, args: string[] = [], opts: RecordOptions = {}): Promise<Recorded> {
  const dir = opts.out ?? path.join(tempDir('rewind-rec-'), 'rec');
  const cwd = opts.cwd ?? tempDir('rewind-cwd-');
  const r = await rewind(['record', '--out', dir, '--', NODE, fixture(name), ...args], { ...opts, cwd });
  return { ...r, dir };
}

/**
 * Records `name` as `node --import rewind-replay/register` does (rewind loaded after Node's ESM
 * loader), with the preload `first`, if any, ahead of rewind's. The CLI puts rewind's preload
 * first; a program started with rewind's own --import has Node run every --require before it.
 * Replayed through the log, where rewind's preload is put back in its recorded place.
 */
export async function recordWithRegister(
  name: string,
  cwd: string,
  args: string[] = [],
  first?: string,
): Promise<Recorded> {
  const out = path.join(tempDir('rewind-rec-'), 'rec');
  const register = pathToFileURL(path.join(ROOT, 'dist', 'register.js')).href;
  const preload = first === undefined ? '' : `--require=${fixture(first)} `;
  const r = await run(NODE, [fixture(name), ...args], {
    cwd,
    env: { NODE_OPTIONS: `${preload}--import=${register}`, REWIND_DIR: out },
  });
  return { ...r, dir: logsOf(out)[0] };
}

/** Records `name` with the preload `first` ahead of rewind's (see recordWithRegister). */
export const recordAfterPreload = (name: string, first: string, cwd: string, args: string[] = []): Promise<Recorded> =>
  recordWithRegister(name, cwd, args, first);

export interface ReplayOptions extends RunOptions {
  /** Extra flags for `rewind replay` (e.g. --force, --summary). */
  flags?: string[];
}

/** `rewind replay DIR` */
export function replay(dir: string, opts: ReplayOptions = {}): Promise<RunResult> {
  return rewind(['replay', dir, ...(opts.flags ?? [])], { ...opts, cwd: opts.cwd ?? tempDir('rewind-cwd-') });
}

export interface RecordAndReplayOptions {
  record?: RecordOptions;
  replay?: ReplayOptions;
  /** Pause between record and replay, so that real clocks have moved on. */
  gapMs?: number;
}

export interface RecordAndReplay {
  record: Recorded;
  replay: RunResult;
}

/** Records the fixture into a fresh directory, waits, then replays it. */
export async function recordAndReplay(
  name: string,
  args: string[] = [],
  opts: RecordAndReplayOptions = {},
): Promise<RecordAndReplay> {
  const rec = await record(name, args, opts.record);
  await sleep(opts.gapMs ?? 50);
  const rep = await replay(rec.dir, opts.replay);
  return { record: rec, replay: rep };
}

/** A short description of a run for assertion messages. */
export function describeRun(label: string, r: RunResult): string {
  const tail = (b: Buffer) => {
    const s = b.toString('utf8');
    return s.length > 3000 ? `…${s.slice(-3000)}` : s;
  };
  return (
    `${label}: status ${r.status} signal ${r.signal}${r.timedOut ? ' (TIMED OUT)' : ''} in ${r.ms.toFixed(0)} ms\n` +
    `--- ${label} stderr ---\n${tail(r.stderr)}\n--- ${label} stdout (tail) ---\n${tail(r.stdout)}`
  );
}

/** A recorded .rwnd log of a recording directory (there is one per Node process). */
export function logsOf(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.rwnd'))
    .map((f) => path.join(dir, f));
}

export interface EventJson {
  n: number;
  time_us: number;
  kind: string;
  call: string;
  detail: string;
  [k: string]: unknown;
}

/**
 * `rewind events DIR --json`, parsed; with `sites`, each event's call site too (a replay
 * more); with `process`, of that process (-p) of a recording of several.
 */
export async function eventsOf(dir: string, opts: { sites?: boolean; process?: string } = {}): Promise<EventJson[]> {
  const which = opts.process === undefined ? [] : ['-p', opts.process];
  const r = await rewind(['events', dir, '--json', ...which, ...(opts.sites ? [] : ['--no-sites'])]);
  if (r.status !== 0) throw new Error(describeRun('rewind events', r));
  return r.stdout
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as EventJson);
}

/** The `expect` of a test context (needed for concurrent tests). */
export type Expect = typeof import('vitest').expect;

/**
 * The replay printed exactly what the recording printed (stdout byte for byte, stderr
 * equal) and ended the same way (exit status, or signal).
 */
export function expectReplayMatches(expect: Expect, r: RecordAndReplay): void {
  const ctx = `\n${describeRun('record', r.record)}\n${describeRun('replay', r.replay)}`;
  expect(r.record.timedOut, `the recording timed out${ctx}`).toBe(false);
  expect(r.replay.timedOut, `the replay timed out${ctx}`).toBe(false);
  expect({ status: r.replay.status, signal: r.replay.signal }, `replay ended differently${ctx}`).toEqual({
    status: r.record.status,
    signal: r.record.signal,
  });
  expect(r.replay.stderr.toString('utf8'), `stderr differs${ctx}`).toBe(r.record.stderr.toString('utf8'));
  expect(r.replay.stdout.toString('utf8'), `stdout differs${ctx}`).toBe(r.record.stdout.toString('utf8'));
  expect(Buffer.compare(r.replay.stdout, r.record.stdout), 'stdout differs byte for byte').toBe(0);
  expect(Buffer.compare(r.replay.stderr, r.record.stderr), 'stderr differs byte for byte').toBe(0);
}
