// The recording directory of one `rewind record` run: the --out checks, its index, what a run
// that recorded nothing leaves, and the summary line. Shared by the CLI (cli/record.ts) and by
// the root process of a run the front end started directly (session/launch.ts), so both refuse,
// create and complete a recording alike. Only functions that go straight to the system are
// used (original.fs): in a recorded process, this I/O is rewind's own.
import path from 'node:path';
import { CliError, EXIT } from '../exit-codes.js';
import { original } from '../node/originals.js';
import { TraceReader } from '../trace/reader.js';
import { INDEX_FILE, LOG_EXT, type RecordingIndex } from '../trace/store.js';
import { CHAOS_CLAIM } from './chaos.js';

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
export function outDir(out: string, force = false, cwd = process.cwd()): OutDir {
  const fs = original.fs;
  const dir = path.resolve(cwd, out);
  let st: import('node:fs').Stats | null = null;
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
  const entries = fs.readdirSync(dir) as string[];
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
    return original.fs.mkdirSync(dir, { recursive: true, mode: 0o700 }) ?? null;
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
  for (const f of [INDEX_FILE, `${INDEX_FILE}.tmp`]) original.fs.rmSync(path.join(out.dir, f), { force: true });
  try {
    removeChaosClaims(out.dir);
  } catch {
    // the directory is gone already
  }
  if (out.created === null) return;
  for (let d = out.dir; ; d = path.dirname(d)) {
    try {
      original.fs.rmdirSync(d); // fails on a directory that is not empty: then it is not only ours
    } catch {
      return;
    }
    if (d === out.created || path.dirname(d) === d) return;
  }
}

/** The files chaos mode's processes claim their numbers with (session/chaos.ts): done with once the command ends. */
export function removeChaosClaims(dir: string): void {
  for (const f of original.fs.readdirSync(dir) as string[])
    if (f.startsWith(CHAOS_CLAIM)) original.fs.rmSync(path.join(dir, f), { force: true });
}

/** Writes index.json through a new file renamed over it: never follows or writes through a link planted there. */
export function writeIndex(dir: string, index: RecordingIndex): void {
  const tmp = path.join(dir, `${INDEX_FILE}.tmp`);
  // unlink, not rmSync: Node loads rmSync's module (0.3 ms) on its first call, at every start.
  try {
    original.fs.unlinkSync(tmp);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  original.fs.writeFileSync(tmp, `${JSON.stringify(index, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  original.fs.renameSync(tmp, path.join(dir, INDEX_FILE));
}

/** The line a recording run ends with on a terminal: what was recorded, where, and how to replay it. */
export function summaryLine(dir: string, logs: string[], seed: number | undefined, cwd = process.cwd()): string {
  let events = 0;
  let bytes = 0;
  for (const log of logs) {
    try {
      const t = TraceReader.open(log, { streamed: true }); // counted, not kept
      events += t.eventCount;
      bytes += t.size;
    } catch {
      // reported when replayed
    }
  }
  const rel = path.relative(cwd, dir) || dir;
  const procs = logs.length === 1 ? '1 process' : `${logs.length} processes`;
  const chaos = seed === undefined ? '' : ` with chaos seed ${seed}`;
  return `rewind: recorded ${procs}, ${events} events (${(bytes / 1024).toFixed(1)} KiB)${chaos} in ${rel}. Replay it: rewind replay${rel.startsWith('.rewind') ? '' : ` ${rel}`}\n`;
}
