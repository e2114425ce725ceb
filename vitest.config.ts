import { defineConfig } from 'vitest/config';

// Tests spawn real Node processes (record, then replay) and compare their output byte for
// byte; timeouts are generous because CI machines are shared, not because tests wait.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
