// rewind-replay/jest: `module.exports = require('rewind-replay/jest')({ ...your config })` in
// jest.config.js (or `import rewind from 'rewind-replay/jest'`). It adds two things to the config:
// - the setup file (jest-setup.cts) that turns each failing test into a failure event in
//   the recording of the worker where it failed, in the turn where it failed;
// - the reporter (jest-reporter.ts) that records jest's workers from their first
//   instruction and, when the run ends, keeps the recordings of the workers where a test
//   failed, drops the others, and prints how to replay each failure.
// Under `rewind record -- npx jest` only the failures are added: every process is recorded
// already. CommonJS, so that a CommonJS jest.config.js can require it on any Node.
import path = require('node:path');

type Reporter = string | [string, Record<string, unknown>];

interface JestConfig {
  reporters?: Reporter[];
  setupFilesAfterEnv?: string[];
  projects?: unknown[];
  [key: string]: unknown;
}

interface RewindJestOptions {
  /** Record the test workers (default: true). `REWIND_MODE=off` turns rewind off too. */
  enabled?: boolean;
}

const SETUP = path.join(__dirname, 'jest-setup.cjs');
const REPORTER = path.join(__dirname, 'jest-reporter.js');

function rewind(config: JestConfig = {}, options: RewindJestOptions = {}): JestConfig {
  if (options.enabled === false || process.env.REWIND_MODE === 'off') return config;
  const reporters: Reporter[] = config.reporters ?? ['default'];
  return {
    ...config,
    reporters: [...reporters, REPORTER],
    setupFilesAfterEnv: [...(config.setupFilesAfterEnv ?? []), SETUP],
  };
}

rewind.default = rewind;
rewind.setupFile = SETUP;
rewind.reporter = REPORTER;
export = rewind;
