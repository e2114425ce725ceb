// `rewind replay [RECORDING]`: re-creates the recorded process (same argv, env, cwd, entry
// module) with the preload in replay mode, and ends the way it ends.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { EXIT } from '../exit-codes.js';
import { ENV } from '../session/env.js';
import { Api, type EndInfo, type TraceHeader } from '../trace/format.js';
import { TraceReader, type TraceEvent } from '../trace/reader.js';
import { CliError, resolveRecording, type Recording } from './recordings.js';
import { exitLike, runChild } from './record.js';
import { withPreloadAsRecorded, withoutPreload } from '../paths.js';
import { checkNative } from './native.js';
import { printable } from '../shell.js';
import { envWithoutEffects, reviewStartup, signedByMe, withoutEffects, type StartupReview } from '../session/trust.js';

export interface ReplayCliOptions {
  force?: boolean;
  summary?: boolean;
  /** -p: which process of a recording of several. */
  process?: string;
  /** Native addons allowed to run for real (--allow-native). */
  allowNative?: string[];
  /** Apply the recorded start-up (code-loading flags, -e source, NODE_PATH...) of a recording not signed by this user. */
  trust?: boolean;
}

interface Located {
  /** argv to pass to node. */
  args: string[];
  cwd: string;
}

/** How a recorded process starts at replay: as recorded if trusted, else without what it would run. */
export interface StartupPlan {
  /** Signed with this user's key: made by this user, on this machine, and unchanged. */
  signed: boolean;
  /** Apply the recorded start-up as is. */
  trusted: boolean;
  review: StartupReview;
}

export function startupPlan(rec: Recording, trust: boolean): StartupPlan {
  const h = rec.trace.header;
  const signed = signedByMe(rec.log, rec.trace.preamble);
  return { signed, trusted: signed || trust, review: reviewStartup(h, withoutPreload(h.env.NODE_OPTIONS)) };
}

/**
 * The refusal when an untrusted recording names code to run at start-up: exactly what,
 * and how to run it anyway.
 */
function refuseUntrusted(rec: Recording, code: string[]): CliError {
  return new CliError(
    `rewind: ${rec.log} was not recorded by you on this machine (it is not signed with your key: it comes from another user, ` +
      `machine or HOME, or was changed), and replaying it would run code it names at start-up:\n` +
      code.map((c) => `  ${printable(c)}\n`).join('') +
      `rewind does not run these unless you trust them. Read them; if they are what you expect, replay with --trust.`,
    EXIT.NOT_TRUSTED,
  );
}

/** Finds the recorded program on this machine, also when the project moved. */
export function locateProgram(h: TraceHeader, force: boolean, execArgv: string[] = h.execArgv): Located {
  const here = process.cwd();
  const cwd = fs.existsSync(h.cwd) ? h.cwd : here;
  const entry = h.entry.path;
  if (!entry || h.entry.path === null) return { args: [...execArgv, ...h.argv.slice(1)], cwd };
  let file = entry;
  if (!fs.existsSync(file)) {
    const moved = path.resolve(here, path.relative(h.cwd, entry));
    if (!fs.existsSync(moved)) {
      throw new CliError(
        `rewind: the recorded program ${printable(entry)} is not on this machine. Replay needs the program's code ` +
          `(only its inputs are in the recording): run \`rewind replay\` from the project's directory, where ` +
          `${printable(path.relative(h.cwd, entry))} exists.`,
        EXIT.BAD_TRACE,
      );
    }
    file = moved;
  }
  const st = fs.statSync(file);
  if (!st.isFile() && !st.isDirectory()) {
    // A device or FIFO (a recording naming /dev/zero): node would read it forever.
    throw new CliError(
      `rewind: the recorded program ${printable(file)} is not a regular file (a device, FIFO or socket), so it cannot be the program that was recorded.`,
      EXIT.BAD_TRACE,
    );
  }
  if (!force && st.isFile()) {
    const sum = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
    if (sum !== h.entry.sha256) {
      throw new CliError(
        `rewind: ${file} changed since it was recorded (its content hash differs), so replaying it would run a ` +
          `different program. Record it again, or pass --force to replay anyway (it will likely diverge).`,
        EXIT.BAD_TRACE,
      );
    }
  }
  return { args: [...execArgv, file, ...h.argv.slice(2)], cwd: file === entry ? cwd : here };
}

/**
 * The replayed program never reads its stdin (the recording has what it read), but Node
 * builds process.stdin from what fd 0 is, so it gets one of the recorded kind: a pipe
 * nobody writes to, /dev/null for a file, the terminal for a terminal.
 */
function replayStdin(h: TraceHeader): 'inherit' | 'pipe' | 'ignore' {
  switch (h.stdio.stdin.kind) {
    case 'pipe':
      return 'pipe';
    case 'file':
      return 'ignore';
    case 'tty':
      return process.stdin.isTTY ? 'inherit' : 'pipe';
    default:
      return 'inherit';
  }
}

/** How to start the replay of a recording: node's arguments, cwd, environment and stdin. */
export function replayCommand(
  rec: Recording,
  opts: ReplayCliOptions,
): Located & { env: NodeJS.ProcessEnv; stdin: 'inherit' | 'pipe' | 'ignore' } {
  const h = rec.trace.header;
  // What the recording names to run at start-up is applied only if it is trusted; the
  // program still reads the recorded env and execArgv (sources/process.ts restores them).
  const plan = startupPlan(rec, Boolean(opts.trust));
  if (!plan.trusted && plan.review.code.length) throw refuseUntrusted(rec, plan.review.code);
  if (!plan.signed && plan.review.code.length) {
    process.stderr.write(
      `rewind: --trust: running what ${rec.log} names at start-up: ${plan.review.code.map(printable).join('; ')}\n`,
    );
  }
  const startEnv = envWithoutEffects(plan.trusted ? h.env : plan.review.env);
  // rewind's own steering variables come from this replay, never from the recording.
  for (const k of Object.keys(startEnv)) if (k.startsWith('REWIND_')) delete startEnv[k];
  checkNative(rec.trace, opts.allowNative ?? []);
  const execArgv = withoutEffects(plan.trusted ? h.execArgv : plan.review.execArgv);
  const { args, cwd } = locateProgram(h, Boolean(opts.force), execArgv);
  const status = rec.index?.status;
  const env: NodeJS.ProcessEnv = {
    ...startEnv,
    NODE_OPTIONS: withPreloadAsRecorded(startEnv.NODE_OPTIONS),
    [ENV.MODE]: 'replay',
    [ENV.TRACE]: rec.log,
    [ENV.SUMMARY]: (opts.summary ?? process.stderr.isTTY) ? '1' : '0',
  };
  // A cluster worker: Node sets it up as one (and sends its primary nothing: the channel is the CLI's).
  if (Number.isSafeInteger(h.clusterWorker)) env.NODE_UNIQUE_ID = String(h.clusterWorker);
  if (opts.allowNative?.length) env[ENV.ALLOW_NATIVE] = opts.allowNative.join(',');
  else delete env[ENV.ALLOW_NATIVE];
  if (status) env[ENV.STATUS] = status.signal ? `signal:${status.signal}` : `code:${status.code}`;
  if (process.env[ENV.KEEP_BYTES]) env[ENV.KEEP_BYTES] = process.env[ENV.KEEP_BYTES];
  return { args, cwd, env, stdin: replayStdin(h) };
}

export async function replay(arg: string | undefined, opts: ReplayCliOptions): Promise<never> {
  const rec = resolveRecording(arg, process.cwd(), opts.process);
  const { args, cwd, env, stdin } = replayCommand(rec, opts);
  const around = aroundOf(rec);
  if (around) printOutputs(around.before);
  // A forked child gets an IPC channel, as Node builds process.send from it; nothing is sent on it.
  const result = await runChild(process.execPath, args, { env, cwd, stdin, ipc: rec.trace.header.ipc?.serialization });
  if (!around) return exitLike(result);
  // The program replayed as recorded: the rest is what the package manager printed, and its status.
  const own = rec.processes?.find((p) => p.log === rec.log)?.end;
  if (!own || !around.end || result.code !== own.code || (result.signal ?? null) !== own.signal)
    return exitLike(result);
  printOutputs(around.after);
  return exitLike({ code: around.end.code, signal: around.end.signal as NodeJS.Signals | null });
}

interface Around {
  /** What the package manager printed before it started the program, and after. */
  before: TraceEvent[];
  after: TraceEvent[];
  end: EndInfo | null;
}

/**
 * `rewind record -- npm test`: npm's own process recorded what it printed and when the
 * process it started ran (TraceHeader.passThrough). Replaying the program it started
 * (directly, or through the shell npm runs scripts with) prints those lines around it.
 */
function aroundOf(rec: Recording): Around | null {
  const h = rec.trace.header;
  if (h.threadId) return null;
  const isOurs = (v: unknown) => v === h.ppid || v === h.pid;
  for (const p of rec.processes ?? []) {
    if (!p.passThrough) continue;
    const around: Around = { before: [], after: [], end: null };
    let phase: 'before' | 'running' | 'after' = 'before';
    for (const ev of TraceReader.events(p.trace)) {
      if (ev.kind === 'value' && ev.api === Api['passThrough.spawn'] && phase === 'before' && isOurs(ev.payload))
        phase = 'running';
      else if (ev.kind === 'value' && ev.api === Api['passThrough.exit'] && phase === 'running' && isOurs(ev.payload))
        phase = 'after';
      else if (ev.kind === 'output' && ev.fd !== undefined)
        (phase === 'before' ? around.before : around.after).push(ev);
      else if (ev.end) around.end = ev.end;
    }
    if (phase !== 'before') return around;
  }
  return null;
}

function printOutputs(events: TraceEvent[]): void {
  for (const ev of events) {
    fs.writeSync(ev.fd!, ev.data!);
    if (ev.digest)
      fs.writeSync(2, `\nrewind: (${ev.length! - ev.data!.length} more bytes written here are not in the recording)\n`);
  }
}
