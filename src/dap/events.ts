// The event list of a recording, as `rewind events --json` prints it (kinds, call sites,
// the failure): what `stopOn`, stepping back past a turn's start and `rewind/events` use.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DIST_URL } from '../paths.js';

export interface Listed {
  n: number;
  kind: string;
  call: string;
  detail: string;
  site?: string;
}

const BIN = fileURLToPath(new URL('../bin/rewind.js', DIST_URL));

/** `recording` undefined: the latest recording under .rewind/ here, as the CLI picks it. */
export function eventList(recording: string | undefined, pid?: string): Promise<Listed[]> {
  const args = [BIN, 'events', ...(recording === undefined ? [] : [recording]), '--json'];
  if (pid !== undefined) args.push('-p', pid);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { maxBuffer: 1 << 30 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(stderr.trim() || err.message));
      const events = stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Listed);
      if (events.length === 0)
        return reject(new Error(`${recording ?? 'the latest recording'} holds no events to stop at`));
      resolve(events);
    });
  });
}

/** A process or worker thread of a recording, as `rewind ps --json` lists it. */
export interface ListedProcess {
  pid: number;
  thread: number;
  program: string;
  default: boolean;
  replayable: boolean;
}

/** The processes and worker threads of a recording (one log each). */
export function processList(recording: string | undefined): Promise<ListedProcess[]> {
  const args = [BIN, 'ps', ...(recording === undefined ? [] : [recording]), '--json'];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { maxBuffer: 1 << 26 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(stderr.trim() || err.message));
      resolve(
        stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as ListedProcess),
      );
    });
  });
}
