// rewind/node-test: `node --import rewind/node-test file.test.js`, or with node's runner
// `node --import rewind/node-test --test`, records each test process from its start,
// reports each failing test into its recording in the turn where it failed
// (node-test-hooks.ts), and as the process exits keeps its recording if a test failed,
// drops it otherwise, and prints how to replay each failure.
//
// `node --test` runs every test file in a child process of its own and loads `--import`
// modules in the children only: each child records itself, and judges its own log.
import fs from 'node:fs';
import path from 'node:path';
import { ENV } from '../session/env.js';
import { start } from '../session/start.js';
import { writeStderr } from '../session/originals.js';
import { STORE_DIR, logPath, programName, recordingName, setLatest } from '../trace/store.js';
import { rewindMode } from '../testing.js';
import { installNodeTestHooks, reportedFailures } from './node-test-hooks.js';
import { describeSettled, removeIfEmpty } from './keep.js';

/** Without `rewind record` around it, this run records into a directory of its own. */
function ownRecordingDir(): string | null {
  if (rewindMode() !== null || process.env[ENV.DIR]) return null;
  const dir = path.join(process.cwd(), STORE_DIR, recordingName(programName(process.argv)));
  process.env[ENV.DIR] = dir;
  return dir;
}

/**
 * As the process exits, before its log's end is written: kept if a test failed or the exit
 * status says so, else deleted. Judged by what the hooks reported, not by reading the log:
 * a read would be recorded into it. Keeping touches nothing the log would record.
 */
function settleOnExit(dir: string): void {
  const log = logPath(dir, programName(process.argv), process.pid);
  process.once('exit', (code) => {
    if (!reportedFailures.length && code === 0) {
      fs.rmSync(log, { force: true });
      return removeIfEmpty(dir);
    }
    setLatest(dir);
    const failed = code === 0 ? null : `exit code ${code}`;
    writeStderr(describeSettled({ dir, kept: [{ pid: process.pid, name: programName(process.argv), failures: reportedFailures, failed }], dropped: 0 }));
  });
}

if (process.env[ENV.MODE] !== 'off') {
  const dir = ownRecordingDir();
  start();
  installNodeTestHooks();
  if (dir) settleOnExit(dir);
}
