/**
 * `npm test`'s browser lane (docs/development.md, "npm test"): every browser file, one after another, in
 * one test file. vitest runs the files of a project that may not run side by side after every other
 * file, on one worker while the other idles; as one file, the browser flows start at once on one worker
 * while the other takes the unit and integration files. Each file's tests sit in a `describe` named by
 * its path, so its hooks (its own system, its own database) stay its own. How long each took — its
 * import, then from its first hook to its last — goes to test-results/browser-lane.json, which `npm
 * test`'s slowest-files list shows in place of this file's one line.
 *
 * Only `npm test` runs it (LLMOPS_TEST_BROWSER_LANE=1, vitest.config.ts); `npx vitest run
 * tests/browser/<file>` runs a browser file by itself as before.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe } from 'vitest';

declare global {
  interface ImportMeta {
    /** Vite's glob import (vitest transforms it): each matching module's path and a function that imports it. */
    glob(patterns: string[]): Record<string, () => Promise<unknown>>;
  }
}

const RESULTS = fileURLToPath(new URL('../../test-results/', import.meta.url));
const flows = import.meta.glob(['./*.test.ts', '!./lane.test.ts']);
/** Seconds each browser file took. */
const seconds: Record<string, number> = {};

for (const [path, load] of Object.entries(flows)) {
  const file = join('tests/browser', path);
  describe(file, async () => {
    let started = 0;
    // Registered before the file's own hooks: this beforeAll runs first and this afterAll last (after
    // hooks unwind in reverse), so the file's system start and its database's drop are counted.
    beforeAll(() => {
      started = performance.now();
    });
    afterAll(() => {
      seconds[file] = Math.round(importMs + performance.now() - started) / 1000;
    });
    const importing = performance.now();
    await load();
    const importMs = performance.now() - importing;
  });
}

afterAll(() => {
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, 'browser-lane.json'), `${JSON.stringify(seconds, null, 2)}\n`);
});
