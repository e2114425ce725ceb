// rewind-replay/node-test, for `--require` (dist/node-test.cjs, bundled like the preload so that it
// runs during Node's startup: the recording starts there, and node's test runner loads
// `--require` modules, not `--import` ones): `node --require rewind-replay/node-test --test`, or
// `node --require rewind-replay/node-test file.test.js`. Each test process is recorded from its
// start, its failing tests reported into its recording in the turn where they failed
// (sources/node-test.ts); when the tests are done the recordings where a test failed are
// kept, the others dropped, and rewind prints how to replay each failure.
//
// `node --test` runs every test file in a child process of its own, with this module on
// its command line too: the runner chooses the recording directory and judges the
// children's logs as it exits; each child records itself.
import path from 'node:path';
import { ENV } from '../session/env.js';
import { start } from '../session/start.js';
import { original, writeStderr } from '../node/originals.js';
import { STORE_DIR, logPath, programName, recordingName, setLatest } from '../trace/store.js';
import { rewindMode } from '../testing.js';
import { installNodeTestHooks, reportedFailures } from '../sources/node-test.js';
import { logsIn } from '../trace/store.js';
import { describeSettled, removeIfEmpty, settleRecordings } from './keep.js';

/** The `node --test` process that runs each file in a child (not `--test-isolation=none`). */
const isRunner = (): boolean =>
  process.execArgv.includes('--test') &&
  !process.env.NODE_TEST_CONTEXT &&
  !process.execArgv.some((a) => /^--(experimental-)?test-isolation=none$/.test(a));

/** Without `rewind record` around it, this run records into a directory of its own. */
function ownRecordingDir(name: string): string | null {
  if (rewindMode() !== null || process.env[ENV.DIR]) return null;
  const dir = path.join(process.cwd(), STORE_DIR, recordingName(name));
  process.env[ENV.DIR] = dir;
  return dir;
}

/**
 * Tests ran in this process: its log is judged as it exits, before the log's end is
 * written, and kept if a test failed or the exit status says so. Judged by what the hooks
 * reported, not by reading the log (the read would be recorded into it); keeping touches
 * nothing the log records.
 */
function settleOnExit(dir: string): void {
  const log = logPath(dir, programName(process.argv), process.pid);
  process.once('exit', (code) => {
    if (!reportedFailures.length && code === 0) {
      original.fs.rmSync(log, { force: true });
      original.fs.rmSync(`${log}.sig`, { force: true });
      return removeIfEmpty(dir);
    }
    setLatest(dir);
    const failed = code === 0 ? null : `exit code ${code}`;
    writeStderr(
      describeSettled({
        dir,
        kept: [{ pid: process.pid, name: programName(process.argv), failures: reportedFailures, failed }],
        dropped: 0,
      }),
    );
  });
}

if (process.env[ENV.MODE] !== 'off') {
  if (isRunner()) {
    const dir = ownRecordingDir('node-test');
    // A child whose test failed also exits non-zero.
    if (dir)
      process.once('exit', () =>
        writeStderr(describeSettled(settleRecordings(dir, logsIn(dir), (p) => p.failed !== null))),
      );
  } else {
    const dir = ownRecordingDir(programName(process.argv));
    start();
    installNodeTestHooks();
    if (dir) settleOnExit(dir);
  }
}
