// `rewind record [--out DIR] [--chaos] -- <command> [args...]`: runs the command with the
// preload in NODE_OPTIONS; every Node process it starts writes its own log into one
// directory. The program's stdio, exit status and signals pass through unchanged.
// (--until-fail: until-fail.ts.)
import { spawn, type StdioOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { EXIT } from '../exit-codes.js';
import { CHAOS_CLAIM } from '../session/chaos.js';
import { ENV } from '../session/env.js';
import { TraceReader } from '../trace/reader.js';
import {
  INDEX_FILE,
  LOG_EXT,
  STORE_DIR,
  createRecordingDir,
  programName,
  setLatest,
  type RecordingIndex,
} from '../trace/store.js';
import { CliError } from './recordings.js';
import { logsIn } from '../trace/store.js';
import { withPreload } from '../paths.js';

export interface RecordOptions {
  out?: string;
  /** Report every callback the event loop ran that rewind did not record (async_hooks: slow). */
  audit?: boolean;
  /** Perturb the schedule (session/chaos.ts) with this seed. */
  seed?: number;
  /** --force: add this run to the user's own recording already at --out. */
  force?: boolean;
  /** --redact[=RULES]: replace the recording by its redacted copy once the run ends. */
  redact?: string | boolean;
  /** --schedule: the file (written by cli/schedule.ts) with the order to deliver turns in. */
  schedule?: string;
  /** The program's stdout and stderr are not shown (rewind analyze's candidate runs): they are in the recording. */
  quiet?: boolean;
  /** Kill the command after this many ms (rewind analyze's candidate runs: a hung one must not hang the search). */
  killAfterMs?: number;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** rewind lost the recording while the program ran (why, for the user); the program's status stands. */
  lost?: string;
}

/** Runs a child with stdio inherited; forwards termination signals; resolves with its status. */
export function runChild(
  cmd: string,
  args: string[],
  opts: {
    env: NodeJS.ProcessEnv;
    cwd?: string;
    stdin?: 'inherit' | 'pipe' | 'ignore';
    ipc?: 'json' | 'advanced';
    output?: 'inherit' | 'ignore';
    killAfterMs?: number;
  },
): Promise<ExitStatus> {
  return new Promise((resolve, reject) => {
    const out = opts.output ?? 'inherit';
    const stdio: StdioOptions = [opts.stdin ?? 'inherit', out, out, ...(opts.ipc ? ['ipc' as const] : [])];
    const child = spawn(cmd, args, { stdio, env: opts.env, cwd: opts.cwd, serialization: opts.ipc });
    // A signal sent to rewind goes on to the child, and rewind then ends as the child does.
    // Except a Ctrl-C typed at the terminal: it reaches the whole foreground process group,
    // the child included, and must not arrive twice.
    const forward = (sig: NodeJS.Signals) => {
      if (sig !== 'SIGINT' || !inForegroundOfTerminal()) child.kill(sig);
    };
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    for (const s of signals) process.on(s, forward);
    child.on('error', (err: NodeJS.ErrnoException) => {
      for (const s of signals) process.off(s, forward);
      reject(err);
    });
    const kill = opts.killAfterMs === undefined ? null : setTimeout(() => child.kill('SIGKILL'), opts.killAfterMs);
    child.on('exit', (code, signal) => {
      if (kill) clearTimeout(kill);
      for (const s of signals) process.off(s, forward);
      resolve({ code, signal });
    });
  });
}

/**
 * Whether rewind runs in the foreground process group of a terminal, where a SIGINT is most
 * likely the terminal's Ctrl-C, sent to the whole group. Linux: /proc/self/stat's pgrp and
 * tpgid; elsewhere: whether stdin is a terminal.
 */
function inForegroundOfTerminal(): boolean {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // after "pid (comm) ": state ppid pgrp session tty_nr tpgid
    return fields[2] === fields[5];
  } catch {
    return Boolean(process.stdin.isTTY);
  }
}

/** Ends rewind the way the child ended: same exit code, or the same signal. */
export function exitLike(status: ExitStatus): never {
  if (status.signal) {
    process.kill(process.pid, status.signal);
    // If the signal is ignored or handled somewhere, fall back to the shell convention.
  }
  process.exit(status.code ?? 128 + 1);
}

export function needsCommand(command: string[], how = 'rewind record'): void {
  if (command.length === 0) {
    throw new CliError(
      `rewind: \`${how}\` needs a command to run, after \`--\`. For example: \`${how} -- node app.js\`, ` +
        `\`${how} -- npm test\`, or \`${how} -- npx vitest run\`.`,
      EXIT.USAGE,
    );
  }
}

/**
 * Where a run records, and what rewind made there itself: only that is ever removed (a
 * mistyped command must never cost the user a directory of theirs).
 */
export interface OutDir {
  dir: string;
  /** The topmost directory this run created (removed again, if empty, when nothing was recorded). */
  created: string | null;
}

/**
 * The directory --out names. A new or empty directory is used; anything else is refused
 * (exit 64): a symbolic link (never followed), a file, a non-empty directory that is not a
 * recording, and a recording (unless `force`, to add to one of the user's own).
 */
export function outDir(out: string, force = false): OutDir {
  const dir = path.resolve(process.cwd(), out);
  let st: fs.Stats | null = null;
  try {
    st = fs.lstatSync(dir);
  } catch {
    // absent: created below
  }
  if (st === null) return { dir, created: createDir(dir) };
  if (st.isSymbolicLink()) {
    throw new CliError(
      `rewind: --out ${dir} is a symbolic link; rewind does not follow links when it writes a recording. Name the directory itself, or a new one.`,
      EXIT.USAGE,
    );
  }
  if (!st.isDirectory())
    throw new CliError(
      `rewind: --out ${dir} is a file, not a directory. Choose a new or empty directory for the recording.`,
      EXIT.USAGE,
    );
  const entries = fs.readdirSync(dir);
  if (entries.length === 0) return { dir, created: null };
  const recording = entries.some((f) => f === INDEX_FILE || f.endsWith(LOG_EXT));
  if (!recording) {
    throw new CliError(
      `rewind: --out ${dir} is not empty and is not a rewind recording (it holds ${entries.length} other file${entries.length === 1 ? '' : 's'}). ` +
        `rewind writes a recording only into a new or empty directory: choose another --out.`,
      EXIT.USAGE,
    );
  }
  const mine = typeof process.getuid !== 'function' || st.uid === process.getuid();
  if (!force || !mine) {
    throw new CliError(
      `rewind: ${dir} already holds a recording. Choose another --out directory, or delete that one first` +
        (mine
          ? ' (or pass --force to add this run to it).'
          : '; it belongs to another user, so --force cannot add to it.'),
      EXIT.USAGE,
    );
  }
  return { dir, created: null };
}

/** Creates a recording directory (0700); an output directory rewind cannot make is exit 73, before anything runs. */
function createDir(dir: string): string | null {
  try {
    return fs.mkdirSync(dir, { recursive: true, mode: 0o700 }) ?? null;
  } catch (e) {
    throw outputError(e as NodeJS.ErrnoException, `create the recording directory ${dir}`);
  }
}

/** The CliError for rewind's own output failing: 74 for an I/O error (disk full, EIO), else 73 (cannot create). */
export function outputError(err: NodeJS.ErrnoException, what: string): CliError {
  const io = err.code === 'ENOSPC' || err.code === 'EIO' || err.code === 'EDQUOT';
  return new CliError(
    `rewind: cannot ${what} (${err.code ?? err.message}). ` +
      (io
        ? 'The disk is full or failing: free some space, or record elsewhere with --out DIR.'
        : 'Check that the directory is writable, or record elsewhere with --out DIR.'),
    io ? EXIT.IO_ERROR : EXIT.CANT_CREATE,
  );
}

/**
 * Undoes what a run that recorded nothing left: its index and chaos claims, and the
 * directories it created if they are empty. Nothing else is touched.
 */
export function discardRun(out: OutDir): void {
  for (const f of [INDEX_FILE, `${INDEX_FILE}.tmp`]) fs.rmSync(path.join(out.dir, f), { force: true });
  try {
    removeChaosClaims(out.dir);
  } catch {
    // the directory is gone already
  }
  if (out.created === null) return;
  for (let d = out.dir; ; d = path.dirname(d)) {
    try {
      fs.rmdirSync(d); // fails on a directory that is not empty: then it is not only ours
    } catch {
      return;
    }
    if (d === out.created || path.dirname(d) === d) return;
  }
}

/** The environment the command records in: the preload, the recording directory, the options. */
export function recordingEnv(dir: string, opts: RecordOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_OPTIONS: withPreload(process.env.NODE_OPTIONS),
    [ENV.MODE]: 'record',
    [ENV.DIR]: dir,
  };
  if (opts.audit) env[ENV.AUDIT] = '1';
  else delete env[ENV.AUDIT];
  if (opts.seed !== undefined) env[ENV.CHAOS] = String(opts.seed);
  else delete env[ENV.CHAOS];
  if (opts.schedule !== undefined) env[ENV.SCHEDULE] = opts.schedule;
  else delete env[ENV.SCHEDULE];
  return env;
}

/**
 * Runs the command into `out.dir` and completes its index; a command that does not start is
 * the user's to fix. The index is written before the command starts: an output directory
 * that cannot be written is reported (73/74) before anything runs.
 */
export async function runRecording(
  command: string[],
  out: OutDir,
  opts: RecordOptions,
  index: RecordingIndex,
): Promise<ExitStatus> {
  const dir = out.dir;
  try {
    writeIndex(dir, index);
  } catch (e) {
    discardRun(out);
    throw outputError(e as NodeJS.ErrnoException, `write into the recording directory ${dir}`);
  }
  let status: ExitStatus;
  try {
    status = await runChild(command[0], command.slice(1), {
      env: recordingEnv(dir, opts),
      killAfterMs: opts.killAfterMs,
      ...(opts.quiet ? { stdin: 'ignore', output: 'ignore' } : {}),
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    discardRun(out);
    if (err.code === 'ENOENT') {
      throw new CliError(
        `rewind: cannot run \`${command[0]}\`: command not found. Check the spelling and your PATH ` +
          `(to record a script, run it through node: \`rewind record -- node ${command[0]}\`).`,
        EXIT.NOT_FOUND,
      );
    }
    throw new CliError(`rewind: cannot run \`${command[0]}\` (${err.code ?? err.message}).`, EXIT.NOT_FOUND);
  }
  index.ended = new Date().toISOString();
  index.status = { code: status.code, signal: status.signal };
  try {
    writeIndex(dir, index);
    removeChaosClaims(dir);
  } catch (e) {
    // The directory went away (or filled up) while the program ran: its status still counts.
    status.lost = `rewind: the recording directory ${dir} could not be completed (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): it was deleted, or became unwritable, while the program ran; the recording is lost or incomplete.`;
  }
  return status;
}

/** The command ran but no Node process recorded anything: says so, and exits. */
export function nothingRecorded(command: string[], status: ExitStatus, out: OutDir): never {
  discardRun(out);
  process.stderr.write(
    `rewind: \`${command.join(' ')}\` ran (${status.signal ?? `exit code ${status.code}`}) but no Node.js process started, ` +
      `so there is nothing to record. rewind records Node.js programs: \`rewind record -- node app.js\`, ` +
      `\`-- npm test\`, \`-- npx vitest run\`.\n`,
  );
  process.exit(status.code && status.code !== 0 ? status.code : EXIT.USAGE);
}

/** A chaos seed nobody chose: a random one. */
export const randomSeed = (): number => randomBytes(4).readUInt32LE(0);

export async function record(command: string[], opts: RecordOptions): Promise<never> {
  needsCommand(command);
  // Loaded only when asked for (start-up): redaction reads and rewrites whole logs.
  const redaction = opts.redact ? await import('./redact.js') : null;
  if (redaction && opts.redact) redaction.rulesOf(opts.redact); // a bad rule is refused before anything runs
  const cwd = process.cwd();
  let out: OutDir;
  if (opts.out) {
    out = outDir(opts.out, opts.force);
    if (logsIn(out.dir).length > 0)
      process.stderr.write(`rewind: adding this run to the recording in ${out.dir} (--force).\n`);
  } else {
    let dir: string;
    try {
      dir = createRecordingDir(cwd, programName(command));
    } catch (e) {
      throw outputError(e as NodeJS.ErrnoException, `create a recording directory under ${path.join(cwd, STORE_DIR)}`);
    }
    out = { dir, created: dir };
  }
  const index: RecordingIndex = { command, cwd, started: new Date().toISOString() };
  if (opts.seed !== undefined) index.chaos = { seed: opts.seed };
  const status = await runRecording(command, out, opts, index);
  if (status.lost) {
    process.stderr.write(`${status.lost}\n`);
    return exitLike(status);
  }
  const logs = logsIn(out.dir);
  if (logs.length === 0) nothingRecorded(command, status, out);
  if (redaction && opts.redact) redaction.redactInPlace(out.dir, opts.redact);
  if (!opts.out) setLatest(out.dir);
  if (process.stderr.isTTY) process.stderr.write(summaryLine(out.dir, logs, opts.seed));
  return exitLike(status);
}

function summaryLine(dir: string, logs: string[], seed: number | undefined): string {
  let events = 0;
  let bytes = 0;
  for (const log of logs) {
    try {
      const t = TraceReader.open(log);
      events += t.eventCount;
      bytes += t.size;
    } catch {
      // reported when replayed
    }
  }
  const rel = path.relative(process.cwd(), dir) || dir;
  const procs = logs.length === 1 ? '1 process' : `${logs.length} processes`;
  const chaos = seed === undefined ? '' : ` with chaos seed ${seed}`;
  return `rewind: recorded ${procs}, ${events} events (${(bytes / 1024).toFixed(1)} KiB)${chaos} in ${rel}. Replay it: rewind replay${rel.startsWith('.rewind') ? '' : ` ${rel}`}\n`;
}

/** The files chaos mode's processes claim their numbers with (session/chaos.ts): done with once the command ends. */
function removeChaosClaims(dir: string): void {
  for (const f of fs.readdirSync(dir)) if (f.startsWith(CHAOS_CLAIM)) fs.rmSync(path.join(dir, f), { force: true });
}

/** Writes index.json through a new file renamed over it: never follows or writes through a link planted there. */
function writeIndex(dir: string, index: RecordingIndex): void {
  const tmp = path.join(dir, `${INDEX_FILE}.tmp`);
  fs.rmSync(tmp, { force: true });
  fs.writeFileSync(tmp, `${JSON.stringify(index, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  fs.renameSync(tmp, path.join(dir, INDEX_FILE));
}
