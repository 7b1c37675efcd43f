import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// The dashboard's tsconfig extends SvelteKit's generated one (`$app/tsconfig`, which SvelteKit 3 writes to
// web/node_modules/$app/): a fresh clone, or an `npm install` that cleared it, has none until `svelte-kit
// sync`, and every test file under web/ (and the schema test, which imports web/scripts) would fail to load.
// Sync once when it is missing (2–5 CPU-seconds: checking the path SvelteKit 2 used, every run paid it).
if (!existsSync(new URL('./web/node_modules/$app/tsconfig.json', import.meta.url))) {
  execFileSync('npx', ['svelte-kit', 'sync'], { cwd: new URL('./web/', import.meta.url), stdio: 'ignore' });
}

// Three projects, one run (ADR 0014), at most two workers in all. `unit`: the tests beside the code,
// with no database and no global setup (`npx vitest run --project unit`). `integration` and `browser`
// share one PostgreSQL server, started by the global setup when either has a test to run, and clone a
// database from its template per test file. A test beside the code that needs PostgreSQL is named
// `*.integration.test.ts`. Chaos tests have a config of their own (tests/chaos/vitest.config.ts).
const database = ['./tests/setup/global.ts'];
const ignored = ['**/node_modules/**'];
/** Set by `npm test` (infra/test.ts) when it runs everything: the browser files run as one lane. */
const lane = process.env.LLMOPS_TEST_BROWSER_LANE === '1';

export default defineConfig({
  test: {
    // Passwords hashed at scrypt's interactive cost (the lowest the gateway takes; its default is 16, four
    // times the work): the suite signs in hundreds of times. The gateways tests build with an environment of
    // their own take it from here too (tests/gateway-support.ts, tests/browser/environment.ts).
    env: { GATEWAY_PASSWORD_COST: '14' },
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['services/*/src/**/*.test.ts', 'infra/**/*.test.ts', 'web/src/lib/**/*.test.ts', 'tests/bench/**/*.test.ts'],
          exclude: [...ignored, '**/*.integration.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          globalSetup: database,
          include: ['tests/**/*.test.ts', 'services/*/src/**/*.integration.test.ts', 'infra/**/*.integration.test.ts'],
          exclude: [...ignored, 'tests/browser/**', 'tests/chaos/**', 'tests/bench/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'browser',
          globalSetup: database,
          ...(lane
            ? // `npm test`: the browser files as one (tests/browser/lane.test.ts), which starts at once on one
              // worker while the other takes the unit and integration files.
              { include: ['tests/browser/lane.test.ts'] }
            : // One browser file at a time: each starts a whole system and a Chromium, and two side by side
              // on 2 cores took half as long again each. vitest runs such files after all the others.
              { include: ['tests/browser/**/*.test.ts'], fileParallelism: false }),
          exclude: lane ? ignored : [...ignored, 'tests/browser/lane.test.ts'],
        },
      },
    ],
  },
});
