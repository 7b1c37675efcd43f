/**
 * What `npm test` says at the end, read from the JSON reports of its vitest runs: the closing count
 * of every test.
 */

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

/** The closing line: `Tests: N passed, N failed, N skipped`. */
export function summaryLine(reports: readonly VitestReport[]): string {
  const totals = { passed: 0, failed: 0, skipped: 0 };
  for (const report of reports) {
    totals.passed += report.numPassedTests;
    totals.failed += report.numFailedTests;
    totals.skipped += report.numPendingTests + report.numTodoTests;
  }
  return `Tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`;
}
