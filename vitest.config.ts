import { defineConfig } from 'vitest/config';

// One run for the whole repository (ADR 0014): at most two workers, one PostgreSQL server started by
// the global setup, a database cloned from the template per test file.
export default defineConfig({
  test: {
    globalSetup: ['./tests/setup/global.ts'],
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    include: ['services/*/src/**/*.test.ts', 'tests/**/*.test.ts', 'infra/**/*.test.ts'],
    exclude: ['**/node_modules/**', 'tests/chaos/**'],
    reporters: ['default'],
  },
});
