// Where recordings live: `.rewind/<stamp>-<program>-<id>/` directories, one log per Node
// process inside, plus `.rewind/latest` naming the newest. Shared by the CLI and by the
// preload when it is used directly (`node --import rewind-replay/register app.js`).
import path from 'node:path';
import { original } from '../node/originals.js';
import { WORKER_LOG, type EndInfo, type FailureInfo } from './format.js';
import { TraceReader, type TraceFile } from './reader.js';

export const STORE_DIR = '.rewind';
export const LOG_EXT = '.rwnd';
export const INDEX_FILE = 'index.json';

/** Summary the CLI writes next to the logs when the recorded command ends. */
export interface RecordingIndex {
  command: string[];
  cwd: string;
  started: string;
  ended?: string;
  /** The command's exit status as the CLI saw it. */
  status?: { code: number | null; signal: string | null };
  /** Recorded with --chaos: the seed the schedule was perturbed with. */
  chaos?: { seed: number };
  /** Kept by --until-fail: the number of the run that failed. */
  run?: number;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/**
 * `bytes` random bytes in hex, for names that must not collide: V8's own Math.random (seeded
 * from the system's entropy in each process), so that naming a recording loads no node:crypto.
 */
const randomHex = (bytes: number): string =>
  Array.from({ length: bytes }, () =>
    Math.floor(original.mathRandom() * 256)
      .toString(16)
      .padStart(2, '0'),
  ).join('');

/** A readable, unique name: 20261125-081502-dice-k3f9. */
export function recordingName(program: string, now = new original.Date(original.dateNow())): string {
  const stamp =
    `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-` +
    `${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  const id = randomHex(3);
  const safe = program.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 40) || 'node';
  return `${stamp}-${safe}-${id}`;
}

/** A short program name for file names: the entry's base name without extension. */
export function programName(argv: readonly string[]): string {
  const entry = argv.find((a, i) => i > 0 && !a.startsWith('-'));
  if (!entry) return 'node';
  return path.basename(entry).replace(/\.(c|m)?(j|t)sx?$/, '') || 'node';
}

/** Creates a new recording directory under `<cwd>/.rewind/`, and the store's `.gitignore` with the store. */
export function createRecordingDir(cwd: string, program: string): string {
  const store = path.join(cwd, STORE_DIR);
  const dir = path.join(store, recordingName(program));
  original.fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  ignoreStore(store);
  return dir;
}

/** `.rewind/.gitignore` holding `*`: recordings (which hold the environment and inputs) are never committed by accident. */
function ignoreStore(store: string): void {
  try {
    const fd = original.fs.openSync(path.join(store, '.gitignore'), 'wx', 0o644);
    try {
      original.fs.writeSync(
        fd,
        '# rewind recordings hold the environment and inputs of a run: never commit them.\n*\n',
      );
    } finally {
      original.fs.closeSync(fd);
    }
  } catch {
    // already there (or the user's own)
  }
}

/** A recording's name inside the store: one plain path component, nothing that leads out of `.rewind/`. */
export const isRecordingName = (name: string): boolean => /^[^/\\\0]+$/.test(name) && name !== '.' && name !== '..';

/**
 * Points `.rewind/latest` at dir, atomically, so parallel recorders never leave it
 * half-written. Only functions that go straight to the system are used (writeFileSync
 * would open through the fs exports rewind records), so a recording process may call it.
 */
export function setLatest(dir: string): void {
  const store = path.dirname(dir);
  const tmp = path.join(store, `.latest-${process.pid}-${randomHex(4)}`);
  try {
    const fd = original.fs.openSync(tmp, 'w', 0o600);
    try {
      original.fs.writeSync(fd, `${path.basename(dir)}\n`);
    } finally {
      original.fs.closeSync(fd);
    }
    original.fs.renameSync(tmp, path.join(store, 'latest'));
  } catch {
    // the pointer is a convenience; the recording itself is intact
  }
}

/** The newest recording under cwd, or null. */
export function latestRecording(cwd: string): string | null {
  try {
    const name = String(original.fs.readFileSync(path.join(cwd, STORE_DIR, 'latest'), 'utf8')).trim();
    // `latest` names a directory inside the store, never one elsewhere (a planted `../../x`).
    return name && isRecordingName(name) ? path.join(cwd, STORE_DIR, name) : null;
  } catch {
    return null;
  }
}

/** A new log file path inside a recording directory for this process. */
export function logPath(dir: string, program: string, pid: number): string {
  return path.join(dir, `${program.replace(/[^A-Za-z0-9_.-]+/g, '_')}-${pid}${LOG_EXT}`);
}

/** Every log file of a recording directory. */
function allLogsIn(dir: string): string[] {
  try {
    return original.fs
      .readdirSync(dir)
      .filter((f: string) => f.endsWith(LOG_EXT))
      .map((f: string) => path.join(dir, f));
  } catch {
    return [];
  }
}

/**
 * The logs of a recording directory (one per process and worker thread), but a worker
 * thread's empty log (emptyWorkerLogsIn): that thread recorded nothing.
 */
export const logsIn = (dir: string): string[] => allLogsIn(dir).filter((log) => !isEmptyWorkerLog(log));

/**
 * The worker threads' logs of a recording directory that are empty (0 bytes): each thread was
 * stopped (worker.terminate(), its process ending) after it created its log and before it
 * wrote its header (rewind used to create each log empty, then write it; createLog in
 * writer.ts still does where the file system has no hard links).
 * It ran none of the program's code that rewind saw: its process replays without it, the
 * thread waiting there to be stopped, as one stopped before rewind started in it.
 */
export const emptyWorkerLogsIn = (dir: string): string[] => allLogsIn(dir).filter(isEmptyWorkerLog);

/** Whether `log` is a worker thread's log of 0 bytes (see emptyWorkerLogsIn). */
export function isEmptyWorkerLog(log: string): boolean {
  if (!WORKER_LOG.test(log)) return false;
  try {
    const st = original.fs.lstatSync(log);
    return st.isFile() && st.size === 0;
  } catch {
    return false;
  }
}

/** One recorded process (or worker thread) of a recording, as `rewind ps` shows it. */
export interface RecordedProcess {
  log: string;
  trace: TraceFile;
  pid: number;
  ppid: number;
  /** 0 for a process's main thread; a worker thread's id otherwise. */
  threadId: number;
  /** The program's short name (its entry file's base name). */
  name: string;
  end: EndInfo | null;
  failures: FailureInfo[];
  /** Why this process counts as failed, or null: a non-zero exit, a signal, an uncaught error, a failed test. */
  failed: string | null;
  /** When it first failed, µs since the epoch, for ordering failed processes. */
  failedAtUs: number;
  /** A package manager's process, recorded for its output only (TraceHeader.passThrough): not replayable. */
  passThrough?: boolean;
  /** Its stdout and stderr were /dev/null: no one saw what it printed, a failure included. */
  unseen?: boolean;
}

export function summarizeProcess(log: string, trace: TraceFile): RecordedProcess {
  const h = trace.header;
  let end: EndInfo | null = null;
  const failures: FailureInfo[] = [];
  let firstFailureUs = Infinity;
  for (const ev of TraceReader.events(trace)) {
    if (ev.failure) {
      failures.push(ev.failure);
      firstFailureUs = Math.min(firstFailureUs, ev.timeUs);
    }
    if (ev.end) {
      end = ev.end;
      if (!failures.length && (ev.end.code || ev.end.signal)) firstFailureUs = ev.timeUs;
    }
  }
  const test = failures.find((f) => f.origin === 'test');
  const crash = failures.find((f) => f.origin !== 'test');
  const failed = crash
    ? `${crash.origin === 'unhandledRejection' ? 'unhandled rejection' : 'uncaught exception'}: ${crash.name}: ${crash.message}`
    : test
      ? `test failed: ${test.test}: ${test.name}: ${test.message.split('\n')[0]}`
      : end?.signal
        ? `killed by ${end.signal}`
        : end && end.code && end.via !== 'terminated'
          ? `exit code ${end.code}`
          : null;
  return {
    log,
    trace,
    pid: h.pid,
    ppid: h.ppid,
    threadId: h.threadId ?? 0,
    name: h.threadId ? `worker ${h.threadId}` : programName(h.argv),
    end,
    failures,
    failed,
    failedAtUs: h.startWall * 1000 + firstFailureUs,
    ...(h.passThrough ? { passThrough: true } : {}),
    ...(h.stdio.stdout.discarded && h.stdio.stderr.discarded ? { unseen: true } : {}),
  };
}
