/**
 * What `npm test` says at the end, read from the JSON reports of its vitest runs: the slowest test
 * files, then the closing count of every test.
 */
import { relative } from 'node:path';

/** The browser lane: one test file of every browser file (tests/browser/lane.test.ts). */
const LANE = 'tests/browser/lane.test.ts';

/** The parts of vitest's JSON report (`--reporter=json`) the summary reads. */
export interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  testResults: FileResult[];
}

export interface FileResult {
  /** The test file's absolute path. */
  name: string;
  status: string;
  startTime: number;
  endTime: number;
  message: string;
  assertionResults: { status: string }[];
}

/**
 * A file that failed with no failing test of its own failed to load or collect (an import or transform
 * error, a throwing top level or hook): vitest counts no test for it, so it would otherwise vanish.
 */
function failedWithoutATest(file: FileResult): boolean {
  return file.status === 'failed' && !file.assertionResults.some((test) => test.status === 'failed');
}

/** The closing line: `Tests: N passed, N failed, N skipped`, where a file that failed to load is a failure. */
export function summaryLine(reports: readonly VitestReport[], root: string): string {
  const totals = { passed: 0, failed: 0, skipped: 0 };
  const broken: string[] = [];
  for (const report of reports) {
    totals.passed += report.numPassedTests;
    totals.failed += report.numFailedTests;
    totals.skipped += report.numPendingTests + report.numTodoTests;
    broken.push(...report.testResults.filter(failedWithoutATest).map((file) => relative(root, file.name)));
  }
  totals.failed += broken.length;
  const files =
    broken.length === 0
      ? ''
      : ` (${broken.length} test file${broken.length > 1 ? 's' : ''} failed to load or collect: ${broken.join(', ')})`;
  return `Tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped${files}`;
}

/**
 * The `count` slowest test files of every run, slowest first, one line each: seconds, then the path.
 * `lane` holds the seconds of each file the browser lane ran (tests/browser/lane.test.ts): they are
 * listed in the lane's place.
 */
export function slowestFiles(
  reports: readonly VitestReport[],
  root: string,
  lane: Readonly<Record<string, number>> = {},
  count = 15,
): string {
  const laneFiles = Object.entries(lane).map(([path, seconds]) => ({ path, seconds }));
  const files = reports
    .flatMap((report) => report.testResults)
    .map((file) => ({ path: relative(root, file.name), seconds: (file.endTime - file.startTime) / 1000 }))
    .flatMap((file) => (file.path === LANE && laneFiles.length > 0 ? laneFiles : [file]))
    .sort((a, b) => b.seconds - a.seconds)
    .slice(0, count);
  if (files.length === 0) return '';
  const lines = files.map((file) => `${file.seconds.toFixed(1).padStart(7)} s  ${file.path}`);
  return `Slowest test files:\n${lines.join('\n')}\n`;
}
