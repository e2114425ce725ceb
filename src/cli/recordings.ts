// Finding the log the user means: a recording directory, a .rwnd file, or the latest one.
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { CliError, EXIT } from '../exit-codes.js';
import { TraceReader, TraceError, type TraceFile } from '../trace/reader.js';
import { indexProblem } from '../trace/validate.js';
import { printable } from '../shell.js';
import {
  INDEX_FILE,
  STORE_DIR,
  latestRecording,
  logsIn,
  summarizeProcess,
  type RecordedProcess,
  type RecordingIndex,
} from '../trace/store.js';

export { logsIn, summarizeProcess, type RecordedProcess } from '../trace/store.js';

export { CliError } from '../exit-codes.js';

export interface Recording {
  /** The recording directory (or the directory holding a single log file). */
  dir: string;
  /** The log chosen for this command. */
  log: string;
  trace: TraceFile;
  index: RecordingIndex | null;
  /** Every process of a recording directory (one log given directly: none). */
  processes?: RecordedProcess[];
}

/** A recording's index.json, checked; null when there is none. A bad one is exit 65. */
export function readIndex(dir: string): RecordingIndex | null {
  const file = path.join(dir, INDEX_FILE);
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch {
    return null;
  }
  const bad = (why: string) =>
    new CliError(
      `rewind: the recording's index ${file} ${why}. Record the program again, or pass one of its .rwnd logs directly.`,
      EXIT.BAD_TRACE,
    );
  if (!st.isFile()) throw bad('is not a regular file (a link, FIFO or device)');
  if (st.size > 1 << 24) throw bad(`is too large to be an index (${st.size} bytes)`);
  let index: unknown;
  try {
    index = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw bad(`is not valid JSON (${(e as Error).message})`);
  }
  const problem = indexProblem(index);
  if (problem) throw bad(`is corrupt: ${problem}`);
  return index as RecordingIndex;
}

/** Opens a log to inspect it: checked and counted, its events read again when listed (bounded memory). */
function openTrace(log: string): TraceFile {
  try {
    return TraceReader.open(log, { streamed: true });
  } catch (e) {
    if (e instanceof TraceError) throw new CliError(e.message, EXIT.BAD_TRACE);
    throw e;
  }
}

/** The signals with which a parent stops its children (see processesOf). */
const STOP_SIGNALS = new Set(['SIGTERM', 'SIGINT', 'SIGKILL']);

/** Every process (and worker thread) recorded in a recording directory, parents first. */
export function processesOf(dir: string): RecordedProcess[] {
  const list = logsIn(dir)
    .map((log) => summarizeProcess(log, openTrace(log)))
    .sort((a, b) => a.trace.header.startWall - b.trace.header.startWall || a.threadId - b.threadId);
  // A pool ends its workers with a signal (vitest's forks: SIGTERM; Next.js's jest-worker
  // children: SIGINT; a worker that ignored it: SIGKILL): a child that died of one with
  // nothing else wrong, under a recorded parent that outlived it and was not killed itself,
  // was stopped, not failed. `rewind ps` still shows how it ended.
  const parents = new Map(list.filter((p) => p.threadId === 0).map((p) => [p.pid, p]));
  for (const p of list) {
    const parent = parents.get(p.ppid);
    if (STOP_SIGNALS.has(p.end?.signal ?? '') && !p.failures.length && parent?.end && !parent.end.signal)
      p.failed = null;
  }
  return list;
}

/**
 * The process `rewind replay` means by default: the one that failed (an uncaught error or
 * a failed test before a mere non-zero exit, which is often a parent reporting its child;
 * then the earliest), or else the root: the first one whose parent was not recorded. A
 * failure no one saw (a child whose stdout and stderr were /dev/null, as foreground-child's
 * watchdog under c8 and nyc, whose `node -e` source fails to parse) comes after the others.
 */
export function defaultProcess(all: RecordedProcess[]): RecordedProcess {
  // npm's own process (output only) is never replayed: the program it ran is.
  const list = all.filter((p) => !p.passThrough);
  if (list.length === 0) return all[0];
  const rank = (p: RecordedProcess) => (p.unseen ? 2 : 0) + (p.failures.length ? 0 : 1);
  const failed = list.filter((p) => p.failed).sort((a, b) => rank(a) - rank(b) || a.failedAtUs - b.failedAtUs);
  if (failed.length) return failed[0];
  const pids = new Set(list.map((p) => p.pid));
  return list.find((p) => p.threadId === 0 && !pids.has(p.ppid)) ?? list[0];
}

/** `-p PID|NAME`: a pid, "pid/thread", a program name, or a log file name. */
export function pickProcess(list: RecordedProcess[], which: string, dir: string): RecordedProcess {
  const [pidPart, threadPart] = which.split('/');
  const byPid = list.filter(
    (p) =>
      String(p.pid) === pidPart && (threadPart === undefined ? p.threadId === 0 : String(p.threadId) === threadPart),
  );
  // A pid first: a program's name can be a number (`node -e CODE 2896` is named "2896").
  if (byPid.length === 1) return byPid[0];
  const matches = list.filter((p) => byPid.includes(p) || path.basename(p.log) === which || p.name === which);
  if (matches.length === 1) return matches[0];
  const known = printable(list.map((p) => `${p.pid}${p.threadId ? `/${p.threadId}` : ''} (${p.name})`).join(', '));
  if (matches.length === 0) {
    throw new CliError(
      `rewind: no process ${JSON.stringify(which)} in ${dir}. It holds: ${known}. \`rewind ps\` lists them.`,
      EXIT.USAGE,
    );
  }
  throw new CliError(
    `rewind: ${JSON.stringify(which)} names ${matches.length} processes in ${dir}; pick one by pid: ${known}.`,
    EXIT.USAGE,
  );
}

/**
 * Resolves the user's argument to one log. In a directory with several logs (a command
 * that started several Node processes), `process` (-p) names one; otherwise the one that
 * failed, or the root (see defaultProcess).
 */
export function resolveRecording(
  arg: string | undefined,
  cwd = process.cwd(),
  which?: string,
  opts: { thread?: boolean } = {},
): Recording {
  let target = arg;
  if (!target) {
    const latest = latestRecording(cwd);
    const pointer = path.join(cwd, STORE_DIR, 'latest');
    if (!latest && fs.existsSync(pointer)) {
      throw new CliError(
        `rewind: ${pointer} does not name a recording inside ${path.join(cwd, STORE_DIR)} (it must hold one directory name, nothing that leads elsewhere). ` +
          `Pass the path of a recording, or record a new one.`,
        EXIT.BAD_TRACE,
      );
    }
    if (latest && fs.lstatSync(latest, { throwIfNoEntry: false })?.isSymbolicLink()) {
      throw new CliError(
        `rewind: ${latest}, the latest recording, is a symbolic link; rewind does not follow links out of ${path.join(cwd, STORE_DIR)}. Pass the path of a recording.`,
        EXIT.BAD_TRACE,
      );
    }
    if (!latest) {
      throw new CliError(
        `rewind: there is no recording in ${path.join(cwd, STORE_DIR)} yet. ` +
          `Record one with \`rewind record -- node app.js\`, or pass the path of a recording.`,
        EXIT.BAD_TRACE,
      );
    }
    target = latest;
  }
  const abs = path.resolve(cwd, target);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(abs);
  } catch {
    throw new CliError(
      `rewind: there is no recording at ${abs}. Check the path, or record one with \`rewind record -- node app.js\`.`,
      EXIT.BAD_TRACE,
    );
  }
  // .rewind/latest is a pointer (a directory's name), not a log: the recording it names.
  if (stat.isFile() && path.basename(abs) === 'latest' && path.basename(path.dirname(abs)) === STORE_DIR)
    return resolveRecording(undefined, path.dirname(path.dirname(abs)), which, opts);
  if (!stat.isDirectory()) {
    return { dir: path.dirname(abs), log: abs, trace: openTrace(abs), index: readIndex(path.dirname(abs)) };
  }
  const logs = logsIn(abs);
  if (logs.length === 0) {
    const index = readIndex(abs);
    const what = index
      ? `\`${printable(index.command.join(' '))}\` started no Node.js process`
      : 'it holds no .rwnd log';
    throw new CliError(
      `rewind: ${abs} is not a usable recording: ${what}. rewind records Node.js programs: ` +
        `\`rewind record -- node app.js\` (or \`-- npm test\`, \`-- npx …\`).`,
      EXIT.BAD_TRACE,
    );
  }
  const list = processesOf(abs);
  let pick = which !== undefined ? pickProcess(list, which, abs) : defaultProcess(list);
  if (pick.passThrough && !opts.thread) {
    throw new CliError(
      `rewind: process ${pick.pid} (${pick.name}) is a package manager's own process: rewind recorded only what it printed, to print it ` +
        `around the program it ran, which is what replays. \`rewind ps ${arg ?? ''}\` lists the processes.`.replace(
          'ps  ',
          'ps ',
        ),
      EXIT.USAGE,
    );
  }
  if (pick.threadId !== 0 && opts.thread && which !== undefined) {
    // Reading one log (events, info): the thread's own.
    return { dir: abs, log: pick.log, trace: pick.trace, index: readIndex(abs), processes: list };
  }
  if (pick.threadId !== 0) {
    // A worker thread replays within its process (the messages it gets are its parent's).
    const host = list.find((p) => p.pid === pick.pid && p.threadId === 0);
    if (!host)
      throw new CliError(
        `rewind: ${abs} has worker thread ${pick.threadId} of process ${pick.pid} but not that process's own log; a worker thread replays within its process.`,
        EXIT.BAD_TRACE,
      );
    if (which !== undefined)
      process.stderr.write(
        `rewind: worker thread ${pick.threadId} replays within its process, ${pick.pid}: replaying that.\n`,
      );
    pick = host;
  }
  return { dir: abs, log: pick.log, trace: pick.trace, index: readIndex(abs), processes: list };
}

/**
 * Reading a large log makes much short-lived garbage (an event, its description), for which
 * V8 keeps growing its young generation: kept from growing, the commands that read a log stay
 * within a small, bounded memory (about 65 MB of RSS for a 1 GB log, against 117 MB).
 */
export function boundMemory(): void {
  v8.setFlagsFromString('--semi-space-growth-factor=1');
}
