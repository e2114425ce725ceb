import { defineConfig } from 'vitest/config';

// examples/flaky fails now and then on purpose: it runs only when named on the command line
// (`npx vitest run examples/flaky`), with rewind recording its workers, never in the suite.
const flakyExample = process.argv.some((arg) => /(^|[\\/])examples[\\/]flaky/.test(arg));

export default defineConfig(
  flakyExample
    ? {
        plugins: [(await import('rewind-replay/vitest')).default()],
        test: { include: ['examples/flaky/**/*.test.ts'] },
      }
    : {
        // Tests spawn real Node processes (record, then replay) and compare their output byte
        // for byte; timeouts are generous because CI machines are shared, not because tests wait.
        test: {
          include: ['test/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
);
