// `rewind record [--out DIR] [--audit] -- node SCRIPT [args...]` in one process. The front end
// (bin/rewind, a POSIX shell script) execs node itself, with the preload in NODE_OPTIONS as the
// CLI would set it, instead of starting the CLI's own Node process to spawn it: that second
// process was most of what recording cost at start-up. This root process then does the CLI's
// part itself: before the program runs, it checks --out, creates the recording directory and
// writes its index (refusing, exit 64/73/74, exactly as the CLI does); when the log ends, it
// completes the index with the exit status, points `.rewind/latest` at the recording and, on
// a terminal, prints the summary line. Signals reach the program directly (no process sits
// in between to forward them) and its exit status is the command's.
import path from 'node:path';
import tty from 'node:tty';
import { CliError } from '../exit-codes.js';
import { original, writeStderr } from '../node/originals.js';
import { STORE_DIR, createRecordingDir, logsIn, programName, setLatest, type RecordingIndex } from '../trace/store.js';
import type { EndInfo } from '../trace/format.js';
import { ENV } from './env.js';
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
    complete(launch, info);
  };
}

function complete({ out, named, index }: Launch, info: EndInfo): void {
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
  if (!named) setLatest(out.dir);
  if (tty.isatty(2)) writeStderr(summaryLine(out.dir, logsIn(out.dir), undefined, index.cwd));
}
