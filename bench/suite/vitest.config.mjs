// Benchmark 9's suite: tests whose work runs inside vitest's workers (forks), the processes
// `rewind record` records, unlike rewind's own suite, whose work happens in child processes
// started with rewind's variables stripped.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { include: ['bench/suite/*.test.js'], pool: 'forks' },
});
