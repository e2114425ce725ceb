// `rewind record [--out DIR] [--chaos] -- <command> [args...]`: runs the command with the
// preload in NODE_OPTIONS; every Node process it starts writes its own log into one
// directory. The program's stdio, exit status and signals pass through unchanged.
// (--until-fail: until-fail.ts.)
import { spawn, type StdioOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { EXIT } from '../exit-codes.js';
import { CHAOS_CLAIM } from '../session/chaos.js';
import { ENV } from '../session/env.js';
import { TraceReader } from '../trace/reader.js';
import { INDEX_FILE, createRecordingDir, programName, setLatest, type RecordingIndex } from '../trace/store.js';
import { CliError, logsIn } from './recordings.js';

const DIST = fileURLToPath(new URL('..', import.meta.url));
/** The bundled CommonJS preload (see src/preload.ts). */
export const PRELOAD = path.join(DIST, 'preload.cjs');
/** The ESM preload, for replays a debugger drives (its controller is ESM). */
export const REGISTER_URL = pathToFileURL(path.join(DIST, 'register.js')).href;

/**
 * NODE_OPTIONS with rewind's preload — the CommonJS bundle, or with `esm` the ESM one —
 * and without a preload of this or another rewind copy (a recorded environment has one).
 */
export function withPreload(nodeOptions: string | undefined, esm = false): string {
  const kept = (nodeOptions ?? '')
    .split(/\s+/)
    .filter((t) => t && !/^--(import|require)="?\S*[\\/](register\.js|preload\.cjs)"?$/.test(t));
  const flag = esm ? `--import=${REGISTER_URL}` : `--require="${PRELOAD.replace(/(["\\])/g, '\\$1')}"`;
  return [...kept, flag].join(' ');
}

export interface RecordOptions {
  out?: string;
  /** Report every callback the event loop ran that rewind did not record (async_hooks: slow). */
  audit?: boolean;
  /** Perturb the schedule (session/chaos.ts) with this seed. */
  seed?: number;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Runs a child with stdio inherited; forwards termination signals; resolves with its status. */
export function runChild(
  cmd: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv; cwd?: string; stdin?: 'inherit' | 'pipe' | 'ignore'; ipc?: 'json' | 'advanced' },
): Promise<ExitStatus> {
  return new Promise((resolve, reject) => {
    const stdio: StdioOptions = [opts.stdin ?? 'inherit', 'inherit', 'inherit', ...(opts.ipc ? ['ipc' as const] : [])];
    const child = spawn(cmd, args, { stdio, env: opts.env, cwd: opts.cwd, serialization: opts.ipc });
    // The terminal sends SIGINT to the whole process group: the child gets it directly.
    // rewind waits for the child to end and then ends the same way.
    const forward = (sig: NodeJS.Signals) => {
      if (sig !== 'SIGINT') child.kill(sig);
    };
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    for (const s of signals) process.on(s, forward);
    child.on('error', (err: NodeJS.ErrnoException) => {
      for (const s of signals) process.off(s, forward);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      for (const s of signals) process.off(s, forward);
      resolve({ code, signal });
    });
  });
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

/** The directory --out names, refused when it already holds a recording. */
export function outDir(out: string): string {
  const dir = path.resolve(process.cwd(), out);
  if (logsIn(dir).length > 0) {
    throw new CliError(`rewind: ${dir} already holds a recording. Choose another --out directory, or delete that one first.`, EXIT.USAGE);
  }
  return dir;
}

/** The environment the command records in: the preload, the recording directory, the options. */
export function recordingEnv(dir: string, opts: RecordOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: withPreload(process.env.NODE_OPTIONS), [ENV.MODE]: 'record', [ENV.DIR]: dir };
  if (opts.audit) env[ENV.AUDIT] = '1';
  else delete env[ENV.AUDIT];
  if (opts.seed !== undefined) env[ENV.CHAOS] = String(opts.seed);
  else delete env[ENV.CHAOS];
  return env;
}

/** Runs the command into `dir` and completes its index; a command that does not start is the user's to fix. */
export async function runRecording(command: string[], dir: string, opts: RecordOptions, index: RecordingIndex): Promise<ExitStatus> {
  writeIndex(dir, index);
  let status: ExitStatus;
  try {
    status = await runChild(command[0], command.slice(1), { env: recordingEnv(dir, opts) });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    fs.rmSync(dir, { recursive: true, force: true });
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
  writeIndex(dir, index);
  removeChaosClaims(dir);
  return status;
}

/** The command ran but no Node process recorded anything: says so, and exits. */
export function nothingRecorded(command: string[], status: ExitStatus, dir: string): never {
  fs.rmSync(dir, { recursive: true, force: true });
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
  const cwd = process.cwd();
  let dir: string;
  if (opts.out) {
    dir = outDir(opts.out);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  } else {
    dir = createRecordingDir(cwd, programName(command));
  }
  const index: RecordingIndex = { command, cwd, started: new Date().toISOString() };
  if (opts.seed !== undefined) index.chaos = { seed: opts.seed };
  const status = await runRecording(command, dir, opts, index);
  const logs = logsIn(dir);
  if (logs.length === 0) nothingRecorded(command, status, dir);
  if (!opts.out) setLatest(dir);
  if (process.stderr.isTTY) process.stderr.write(summaryLine(dir, logs, opts.seed));
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

function writeIndex(dir: string, index: RecordingIndex): void {
  fs.writeFileSync(path.join(dir, INDEX_FILE), `${JSON.stringify(index, null, 2)}\n`, { mode: 0o600 });
}
