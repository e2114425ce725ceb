// rewind-replay/jest/reporter (rewind-replay/jest adds it). Constructed in jest's main process before
// jest starts its workers: unless that process is recorded already (`rewind record -- npx
// jest`), it puts rewind's preload and a recording directory into the environment the
// workers inherit, so each worker records from its first instruction. When the run ends
// (the workers have exited and closed their logs), the recordings of workers where a test
// failed are kept, the others dropped, and each failure is listed with its replay and
// debug commands. Only jest's types would be imported: jest stays the project's own.
import path from 'node:path';
import { withPreload } from '../paths.js';
import { logsIn } from '../trace/store.js';
import { ENV } from '../session/env.js';
import { STORE_DIR, recordingName } from '../trace/store.js';
import { rewindMode } from '../testing.js';
import { describeSettled, settleRecordings } from './keep.js';

interface GlobalConfig {
  rootDir?: string;
}

export default class RewindReporter {
  private readonly dir: string | null = null;

  constructor(globalConfig: GlobalConfig = {}) {
    if (process.env[ENV.MODE] === 'off' || rewindMode() !== null || process.env[ENV.DIR]) return;
    this.dir = path.join(path.resolve(globalConfig.rootDir ?? '.'), STORE_DIR, recordingName('jest'));
    process.env.NODE_OPTIONS = withPreload(process.env.NODE_OPTIONS);
    process.env[ENV.MODE] = 'record';
    process.env[ENV.DIR] = this.dir;
  }

  onRunComplete(): void {
    if (!this.dir) return;
    const logs = logsIn(this.dir);
    if (!logs.length) {
      process.stderr.write(
        'rewind: no jest worker was recorded: jest ran the tests in its own process (--runInBand, or one worker on a machine with 2 cores or fewer). ' +
          'Set maxWorkers to 2 or more, or record the whole run with `rewind record -- npx jest`.\n',
      );
      return;
    }
    // A worker counts as failed by its failure events: jest ends its workers itself.
    const settled = settleRecordings(this.dir, logs, (p) => p.failures.length > 0);
    process.stderr.write(describeSettled(settled));
  }

  getLastError(): Error | undefined {
    return undefined;
  }
}
