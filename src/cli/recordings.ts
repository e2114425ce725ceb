// Finding the log the user means: a recording directory, a .rwnd file, or the latest one.
import fs from 'node:fs';
import path from 'node:path';
import { EXIT } from '../exit-codes.js';
import { TraceReader, TraceError, type TraceFile } from '../trace/reader.js';
import { INDEX_FILE, LOG_EXT, STORE_DIR, latestRecording, type RecordingIndex } from '../trace/store.js';

/** An error the user can act on: printed as is, then rewind exits with `code`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

export interface Recording {
  /** The recording directory (or the directory holding a single log file). */
  dir: string;
  /** The log chosen for this command. */
  log: string;
  trace: TraceFile;
  index: RecordingIndex | null;
}

export function readIndex(dir: string): RecordingIndex | null {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, INDEX_FILE), 'utf8')) as RecordingIndex;
  } catch {
    return null;
  }
}

export function logsIn(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(LOG_EXT))
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

function openTrace(log: string): TraceFile {
  try {
    return TraceReader.open(log);
  } catch (e) {
    if (e instanceof TraceError) throw new CliError(e.message, EXIT.BAD_TRACE);
    throw e;
  }
}

/**
 * Resolves the user's argument to one log. In a directory with several logs (a command
 * that started several Node processes) the root process is chosen: the earliest one
 * whose parent is not itself recorded.
 */
export function resolveRecording(arg: string | undefined, cwd = process.cwd()): Recording {
  let target = arg;
  if (!target) {
    const latest = latestRecording(cwd);
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
  if (!stat.isDirectory()) {
    return { dir: path.dirname(abs), log: abs, trace: openTrace(abs), index: readIndex(path.dirname(abs)) };
  }
  const logs = logsIn(abs);
  if (logs.length === 0) {
    const index = readIndex(abs);
    const what = index ? `\`${index.command.join(' ')}\` started no Node.js process` : 'it holds no .rwnd log';
    throw new CliError(
      `rewind: ${abs} is not a usable recording: ${what}. rewind records Node.js programs: ` +
        `\`rewind record -- node app.js\` (or \`-- npm test\`, \`-- npx …\`).`,
      EXIT.BAD_TRACE,
    );
  }
  const traces = logs.map((log) => ({ log, trace: openTrace(log) }));
  const pids = new Set(traces.map((t) => t.trace.header.pid));
  const roots = traces.filter((t) => !pids.has(t.trace.header.ppid));
  const pick = (roots.length ? roots : traces).sort((a, b) => a.trace.header.startWall - b.trace.header.startWall)[0];
  return { dir: abs, log: pick.log, trace: pick.trace, index: readIndex(abs) };
}
