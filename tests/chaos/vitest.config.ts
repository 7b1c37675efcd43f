import { defineConfig } from 'vitest/config';

// Chaos tests kill processes and restart PostgreSQL, so they run one file at a time, each with a
// PostgreSQL server of its own (ADR 0014), never the shared cluster of the main run. The global setup
// runs initdb and applies sql/ once; each file starts its server on a copy of that stopped data
// directory (tests/chaos/cluster.ts), which costs a copy and a start, not an initdb and the schema.
export default defineConfig({
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['tests/chaos/**/*.test.ts'],
    // As in the main run (vitest.config.ts): passwords hashed at the gateway's lowest cost.
    env: { GATEWAY_PASSWORD_COST: '14' },
    globalSetup: ['tests/chaos/global-setup.ts'],
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
