/**
 * `npm test`: the whole suite, in the order that fails fastest. The static checks first, as one turbo run
 * so that they overlap: the dashboard's build, its generated API client and svelte-check, one `tsc` over
 * all the other TypeScript (tsconfig.json), one ESLint run and Prettier over the repository. Then one
 * vitest run of the three projects of vitest.config.ts (unit tests with no database; integration and browser tests
 * against one throwaway PostgreSQL, or TEST_DATABASE_URL), then the chaos tests, serially, each with a
 * PostgreSQL of its own. Extra arguments go to vitest (`npm test -- --project unit`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { slowestFiles, summaryLine, type VitestReport } from './test-report.ts';

const root = fileURLToPath(new URL('../', import.meta.url));
const extra = process.argv.slice(2);
// The whole suite runs the browser files as one lane (tests/browser/lane.test.ts) beside the other files;
// with arguments (a file, a project) they run as themselves.
const env = {
  ...process.env,
  TURBO_TELEMETRY_DISABLED: '1',
  FORCE_COLOR: process.env.FORCE_COLOR ?? '1',
  ...(extra.length === 0 ? { LLMOPS_TEST_BROWSER_LANE: '1' } : {}),
};

const results = join(root, 'test-results');
mkdirSync(results, { recursive: true });
// Each vitest run also writes a JSON report, so the suite ends with its slowest files and one plain
// count of every test.
const reportOf = (name: string) => [
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${join(results, `${name}.json`)}`,
];
const reports = ['vitest-main', 'vitest-chaos'];
const laneTimes = join(results, 'browser-lane.json');
for (const path of [...reports.map((name) => join(results, `${name}.json`)), laneTimes]) rmSync(path, { force: true });

// `--project unit` (or integration, browser) picks projects of vitest.config.ts; the chaos tests are none
// of them, and their own config would refuse the filter, so they are left out then.
const picksProjects = extra.some((arg) => arg === '--project' || arg.startsWith('--project='));

const steps: [string, string, string[]][] = [
  [
    'build, typecheck, lint and formatting (turbo)',
    'turbo',
    ['run', 'build', 'typecheck', 'typecheck:node', 'lint:eslint', 'lint:format', '--output-logs=errors-only'],
  ],
  ['unit, integration and browser tests (vitest)', 'vitest', ['run', ...reportOf('vitest-main'), ...extra]],
];
if (!picksProjects)
  steps.push([
    'chaos tests (vitest, serial)',
    'vitest',
    ['run', '--config', 'tests/chaos/vitest.config.ts', '--passWithNoTests', ...reportOf('vitest-chaos'), ...extra],
  ]);

/** The slowest test files, then the closing count (a file that failed to load counts as a failure). */
function summary(): string {
  const found = reports.map((name) => join(results, `${name}.json`)).filter((path) => existsSync(path));
  const parsed = found.map((path) => JSON.parse(readFileSync(path, 'utf8')) as VitestReport);
  const lane = existsSync(laneTimes) ? (JSON.parse(readFileSync(laneTimes, 'utf8')) as Record<string, number>) : {};
  return `${slowestFiles(parsed, root, lane)}${summaryLine(parsed, root)}`;
}

const started = Date.now();
for (const [title, command, args] of steps) {
  process.stdout.write(`\n▶ ${title}\n`);
  const stepStarted = Date.now();
  const result = spawnSync(command, args, { cwd: root, env, stdio: 'inherit' });
  const seconds = ((Date.now() - stepStarted) / 1000).toFixed(1);
  if (result.status !== 0) {
    process.stdout.write(`\n✖ ${title} failed after ${seconds} s\n${summary()}\n`);
    process.exit(result.status ?? 1);
  }
  process.stdout.write(`✔ ${title} (${seconds} s)\n`);
}
process.stdout.write(`\nAll checks passed in ${((Date.now() - started) / 1000).toFixed(1)} s\n${summary()}\n`);
