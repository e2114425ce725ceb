// `rewind record [--out DIR] [--chaos] -- <command> [args...]`: runs the command with the
// preload in NODE_OPTIONS; every Node process it starts writes its own log into one
// directory. The program's stdio, exit status and signals pass through unchanged.
// (--until-fail: until-fail.ts.)
import { spawn, type StdioOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CliError, EXIT } from '../exit-codes.js';
import { ENV } from '../session/env.js';
import { STORE_DIR, createRecordingDir, programName, setLatest, type RecordingIndex } from '../trace/store.js';
import {
  discardRun,
  outDir,
  outputError,
  removeChaosClaims,
  summaryLine,
  writeIndex,
  type OutDir,
} from '../session/recording-dir.js';
import { logsIn } from '../trace/store.js';
import { withPreload } from '../paths.js';

export { discardRun, outDir, outputError, type OutDir };

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
