import { defineConfig } from 'vitest/config';

// Chaos tests kill processes and restart PostgreSQL, so they run one file at a time, each with a
// PostgreSQL server of its own (ADR 0014), never the shared cluster of the main run.
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['tests/chaos/**/*.test.ts'],
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
