// rewind-replay/vitest: `plugins: [rewind()]` in a vitest config records every test worker from
// its first instruction (the preload on the worker's command line, not a setup file: by
// then clocks and randomness have been read), reports each failing test into the worker's
// recording in the turn where it failed (vitest-setup.ts), and at the end of the run keeps
// the recordings of the workers where a test failed, drops the others, and prints how to
// replay each failure. Only vitest's types are imported: vitest stays the project's own.
/// <reference types="vitest/config" />
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Reporter, Vite, Vitest } from 'vitest/node';
import { PRELOAD } from '../paths.js';
import { logsIn } from '../trace/store.js';
import { ENV } from '../session/env.js';
import { STORE_DIR, recordingName } from '../trace/store.js';
import { rewindMode } from '../testing.js';
import { describeSettled, settleRecordings } from './keep.js';

const SETUP = fileURLToPath(new URL('./vitest-setup.js', import.meta.url));

export interface RewindVitestOptions {
  /**
   * Record the test workers (default: true). `REWIND_MODE=off` in the environment turns
   * rewind off as well, without editing the config.
   */
  enabled?: boolean;
}

/** Keeps the recordings of failed workers at the end of each run, and says how to replay them. */
class KeepFailures implements Reporter {
  /** Logs already judged (watch mode runs again into the same directory). */
  private readonly judged = new Set<string>();

  constructor(private readonly dir: string) {}

  onTestRunEnd(): void {
    const logs = logsIn(this.dir).filter((log) => !this.judged.has(log));
    for (const log of logs) this.judged.add(log);
    // A worker counts as failed by its failure events: every worker ends killed by vitest.
    const settled = settleRecordings(this.dir, logs, (p) => p.failures.length > 0);
    process.stderr.write(describeSettled(settled));
  }
}

export default function rewind(options: RewindVitestOptions = {}): Vite.Plugin {
  const off = options.enabled === false || process.env[ENV.MODE] === 'off';
  // Under `rewind record` (or replaying this vitest process) the workers already get the
  // preload and the recording directory from the environment: no second recording.
  const external = rewindMode() !== null;
  let dir: string | null = null;
  const configured = new WeakSet<Vitest>();
  return {
    name: 'rewind',
    config(config) {
      if (off) return;
      if (external) return { test: { setupFiles: [SETUP] } };
      // One per vitest process, created by the first worker that records; removed again if
      // no test fails.
      dir ??= path.join(path.resolve(config.root ?? '.'), STORE_DIR, recordingName('vitest'));
      return {
        test: {
          setupFiles: [SETUP],
          execArgv: ['--require', PRELOAD],
          env: { [ENV.MODE]: 'record', [ENV.DIR]: dir },
        },
      };
    },
    configureVitest({ vitest, project }) {
      if (off) return;
      const pool = project.config.pool;
      // vmForks runs each file in a vm context of a child process: both are recorded.
      if (pool !== 'forks' && pool !== 'vmForks') {
        vitest.logger.warn(
          `rewind: pool '${pool}' is not recorded (its tests run in worker threads); use the default pool, 'forks', or 'vmForks'.`,
        );
      }
      if (external || !dir || configured.has(vitest)) return;
      configured.add(vitest);
      vitest.config.reporters.push(new KeepFailures(dir));
    },
  };
}
