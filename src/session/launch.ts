// `rewind record [--out DIR] [--audit] -- node SCRIPT [args...]` in one process. The front end
// (bin/rewind, a POSIX shell script) execs node itself, with the preload in NODE_OPTIONS as the
// CLI would set it, instead of starting the CLI's own Node process to spawn it: that second
// process was most of what recording cost at start-up. This root process then does the CLI's
// part itself: before the program runs, it checks --out, creates the recording directory and
// writes its index (refusing, exit 64/73/74, exactly as the CLI does); when the log ends, it
// completes the index with the exit status, points `.rewind/latest` at the recording and, on
// a terminal, prints the summary line. Signals reach the program directly (no process sits
// in between to forward them) and its exit status is the command's.
//
// `rewind replay [DIR] [--summary|--no-summary]` likewise, for a recording made that way: the
// root writes REPLAY_ARGS (its cwd and argv, a line each), from which the front end execs
// `node SCRIPT ARGS` in that directory, as the CLI would start the replay. Before the
// program runs, this process checks what the CLI checks (see replayHere); anything else
// (another process to replay, a recording not signed by this user, a changed program, other
// start-up options, stdin of another kind...) and the CLI replays it instead, as always.
import path from 'node:path';
import { CliError } from '../exit-codes.js';
import { isatty } from '../node/bindings.js';
import { builtinModule } from '../node/fields.js';
import { original, writeStderr } from '../node/originals.js';
import { CLI_BIN, withoutPreload } from '../paths.js';
import {
  INDEX_FILE,
  STORE_DIR,
  createRecordingDir,
  logsIn,
  programName,
  setLatest,
  type RecordingIndex,
} from '../trace/store.js';
import { Api, type EndInfo } from '../trace/format.js';
import { TraceReader, type TraceFile } from '../trace/reader.js';
import { mainLogOf } from '../sources/workers.js';
import { ENV, keepBytesOf } from './env.js';
import { signedByMe } from './trust.js';
import { sha256Hex } from './digest.js';
import type { RecordSession } from './record.js';
import { discardRun, outDir, outputError, summaryLine, writeIndex, type OutDir } from './recording-dir.js';

export interface Launch {
  out: OutDir;
  /** --out given: the recording does not become `.rewind/latest`. */
  named: boolean;
  index: RecordingIndex;
}

/**
 * In the root process bin/rewind started: the recording directory, ready, with its index
 * (ENV.DIR then names it for this process and every one it starts). Elsewhere null. The
 * front end's variables are taken out of the environment first: the program's children
 * are not roots, and the program's recorded environment is the one the CLI would give it.
 */
export function takeLaunch(): Launch | null {
  const env = process.env;
  const mode = env[ENV.LAUNCH];
  const given = env[ENV.LAUNCH_OUT];
  const node = env[ENV.LAUNCH_NODE];
  delete env[ENV.LAUNCH];
  delete env[ENV.LAUNCH_OUT];
  delete env[ENV.LAUNCH_NODE];
  if (mode !== 'record') return null;
  const cwd = original.processCwd();
  const command = [node || process.execPath, ...process.execArgv, ...process.argv.slice(1)];
  const index: RecordingIndex = { command, cwd, started: new original.Date(original.dateNow()).toISOString() };
  let out: OutDir;
  try {
    out = given ? outDir(given, false, cwd) : newRecordingDir(cwd, programName(command));
    try {
      writeIndex(out.dir, index);
    } catch (e) {
      discardRun(out);
      throw outputError(e as NodeJS.ErrnoException, `write into the recording directory ${out.dir}`);
    }
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    // Before the program runs, as the CLI refuses before it starts the command.
    writeStderr(`${e.message}\n`);
    return original.reallyExit(e.code);
  }
  env[ENV.DIR] = out.dir;
  return { out, named: Boolean(given), index };
}

/** `.rewind/<name>/` under cwd, as `rewind record` without --out makes it. */
function newRecordingDir(cwd: string, program: string): OutDir {
  try {
    const dir = createRecordingDir(cwd, program);
    return { dir, created: dir };
  } catch (e) {
    throw outputError(e as NodeJS.ErrnoException, `create a recording directory under ${path.join(cwd, STORE_DIR)}`);
  }
}

/** When `session`'s log ends, completes the recording as the CLI does once its child has exited. */
export function finishLaunch(session: RecordSession, launch: Launch): void {
  const end = session.end.bind(session);
  let done = false;
  session.end = (info: EndInfo) => {
    end(info);
    if (done) return;
    done = true;
    complete(launch, info, session.writer.path);
  };
}

function complete({ out, named, index }: Launch, info: EndInfo, log: string): void {
  index.ended = new original.Date(original.dateNow()).toISOString();
  index.status = { code: info.signal ? null : info.code, signal: info.signal };
  try {
    writeIndex(out.dir, index);
  } catch (e) {
    // The directory went away (or filled up) while the program ran: its status still counts.
    writeStderr(
      `rewind: the recording directory ${out.dir} could not be completed (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): it was deleted, or became unwritable, while the program ran; the recording is lost or incomplete.\n`,
    );
    return;
  }
  // Only the root recorded (and its threads): then bin/rewind can start its replay itself.
  if (logsIn(out.dir).every((l) => mainLogOf(l) === log)) writeReplayArgs(out.dir, index.cwd);
  if (!named) setLatest(out.dir);
  if (isatty(2)) writeStderr(summaryLine(out.dir, logsIn(out.dir), undefined, index.cwd));
}

/** The file bin/rewind reads to start a replay itself: the recorded cwd, then argv[1...], a line each. */
export const REPLAY_ARGS = 'replay.args';

function writeReplayArgs(dir: string, cwd: string): void {
  const lines = [cwd, ...process.argv.slice(1)];
  // A line each: a newline in one would need quoting the front end does not do (the CLI replays those).
  // With node's own options, the replay needs them too: the CLI's.
  if (process.argv.length < 2 || process.execArgv.length > 0 || lines.some((l) => /[\n\r\0]/.test(l))) return;
  try {
    original.fs.writeFileSync(path.join(dir, REPLAY_ARGS), `${lines.join('\n')}\n`, { mode: 0o600, flag: 'wx' });
  } catch {
    // without it, `rewind replay` goes through the CLI
  }
}

/** Variables Node, libc or ICU read as the process starts: a replay started here must see the recorded ones. */
const STARTUP_ENV =
  /^(NODE_(?!OPTIONS$)|UV_|TZ$|LANG$|LANGUAGE$|LC_|OPENSSL_|SSL_CERT_|LD_|DYLD_|GCONV_PATH$|LOCPATH$|NLSPATH$|HOSTALIASES$|MALLOC_|GLIBC_TUNABLES$)/;

/**
 * In the process bin/rewind started for `rewind replay`: the log to replay, opened, with
 * ENV.TRACE and the recorded status set as the CLI sets them; elsewhere null. When this
 * process is not what the CLI would have started, the CLI replays the recording instead
 * (a process of its own) and this one ends as that replay ends, before the program runs.
 */
export function takeReplayLaunch(stdinKind: string): TraceFile | null {
  const env = process.env;
  const mode = env[ENV.LAUNCH];
  const dir = env[ENV.LAUNCH_OUT];
  const from = env[ENV.LAUNCH_CWD];
  const debug = env[ENV.LAUNCH_DEBUG] === '1';
  for (const k of [ENV.LAUNCH, ENV.LAUNCH_OUT, ENV.LAUNCH_CWD, ENV.LAUNCH_DEBUG]) delete env[k];
  if (mode !== 'replay' || !dir) return null;
  if (env[ENV.SUMMARY] === undefined) env[ENV.SUMMARY] = isatty(2) ? '1' : '0';
  let found: { log: string; file: TraceFile } | string;
  try {
    found = replayHere(dir, stdinKind);
  } catch (e) {
    found = (e as Error).message; // the CLI says it properly
  }
  if (typeof found !== 'string') {
    if (debug) writeStderr('rewind: replaying in this process\n');
    env[ENV.TRACE] = found.log;
    return found.file;
  }
  if (debug) writeStderr(`rewind: replaying through the CLI: ${found}\n`);
  return viaCli(dir, from ?? original.processCwd(), env[ENV.SUMMARY] === '1');
}

/** The root's log, when this process is the replay the CLI would start; else why not. */
function replayHere(dir: string, stdinKind: string): { log: string; file: TraceFile } | string {
  const logs = logsIn(dir);
  const files = logs.map((log) => ({ log, file: TraceReader.open(log, { keepBytes: keepBytesOf(process.env) }) }));
  const roots = files.filter((f) => !f.file.header.threadId);
  if (roots.length !== 1) return 'more than one process';
  const [{ log, file }] = roots;
  const h = file.header;
  if (files.some((f) => f.file.header.pid !== h.pid)) return 'more than one process';
  if (h.passThrough || h.ipc || h.clusterWorker !== undefined) return 'not a plain root process';
  if (h.execArgv.length > 0 || withoutPreload(h.env.NODE_OPTIONS) !== '' || withoutPreload(process.env.NODE_OPTIONS))
    return 'node options';
  if (!h.entry.path || h.argv[1] !== h.entry.path) return 'not a script';
  const argv = process.argv.slice(1);
  if (argv.length !== h.argv.length - 1 || argv.some((a, i) => a !== h.argv[i + 1])) return 'another command line';
  if (original.processCwd() !== h.cwd) return 'another directory';
  if (h.stdio.stdin.kind !== stdinKind) return 'stdin of another kind';
  for (const k of new Set([...Object.keys(h.env), ...Object.keys(process.env)]))
    if (STARTUP_ENV.test(k) && h.env[k] !== process.env[k]) return `start-up variable ${k}`;
  if (!signedByMe(log, file.preamble)) return 'not signed by you';
  if (sha256Hex(original.fs.readFileSync(h.entry.path)) !== h.entry.sha256) return 'the program changed';
  if (usesNativeLive(file)) return 'native addons';
  const status = recordedStatus(dir);
  if (status === undefined) return 'index.json';
  if (status !== null) process.env[ENV.STATUS] = status;
  return { log, file };
}

/** An addon that ran live, or that the log cannot serve: the CLI refuses or asks for --allow-native. */
function usesNativeLive(t: TraceFile): boolean {
  // Most logs hold no call of these: no second pass over every event.
  if (t.callApis && !t.callApis.has(Api['native.unservable']) && !t.callApis.has(Api['native.load'])) return false;
  for (const ev of TraceReader.events(t)) {
    if (!ev.call) continue;
    if (ev.api === Api['native.unservable']) return true;
    if (ev.api === Api['native.load'] && ev.call.status === 1 && (ev.call.value as unknown[])[0] === 'live')
      return true;
  }
  return false;
}

/** "code:N" / "signal:NAME" from index.json, null without a status, undefined if unreadable. */
function recordedStatus(dir: string): string | null | undefined {
  try {
    const index = JSON.parse(String(original.fs.readFileSync(path.join(dir, INDEX_FILE), 'utf8'))) as RecordingIndex;
    const st = index.status;
    if (!st) return null;
    if (typeof st.signal === 'string') return `signal:${st.signal}`;
    return Number.isInteger(st.code) ? `code:${st.code}` : undefined;
  } catch {
    return undefined;
  }
}

/** `rewind replay DIR` through the CLI, from where the user ran it; this process then ends as it ended. */
function viaCli(dir: string, cwd: string, summary: boolean): never {
  const env = { ...process.env };
  delete env[ENV.MODE];
  delete env[ENV.TRACE];
  delete env[ENV.STATUS];
  delete env[ENV.SUMMARY];
  const rest = withoutPreload(env.NODE_OPTIONS);
  if (rest) env.NODE_OPTIONS = rest;
  else delete env.NODE_OPTIONS;
  // Loaded here, not at start-up: node:child_process (and dgram, which it loads) cost every
  // process about 0.5 ms, and only this rare path uses them.
  const { spawnSync } = builtinModule<typeof import('node:child_process')>('node:child_process');
  const r = spawnSync(process.execPath, [CLI_BIN, 'replay', dir, summary ? '--summary' : '--no-summary'], {
    cwd,
    env,
    stdio: 'inherit',
  });
  if (r.signal) original.processKill(process.pid, r.signal);
  return original.reallyExit(r.status ?? 1);
}
