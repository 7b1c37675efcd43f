import { describe, expect, it } from 'vitest';
import { slowestFiles, summaryLine, type FileResult, type VitestReport } from './test-report.ts';

const ROOT = '/repo/';

function file(name: string, status: string, tests: string[], seconds = 1): FileResult {
  return {
    name: `${ROOT}${name}`,
    status,
    startTime: 1_000_000,
    endTime: 1_000_000 + seconds * 1000,
    message: status === 'failed' && tests.length === 0 ? "Failed to load tsconfig '$app/tsconfig'" : '',
    assertionResults: tests.map((test) => ({ status: test })),
  };
}

function report(files: FileResult[]): VitestReport {
  const tests = files.flatMap((f) => f.assertionResults);
  return {
    numPassedTests: tests.filter((t) => t.status === 'passed').length,
    numFailedTests: tests.filter((t) => t.status === 'failed').length,
    numPendingTests: tests.filter((t) => t.status === 'skipped' || t.status === 'pending').length,
    numTodoTests: tests.filter((t) => t.status === 'todo').length,
    testResults: files,
  };
}

describe("npm test's closing line", () => {
  it('counts a test file that failed to load as a failure, and names it', () => {
    const line = summaryLine(
      [report([file('tests/a.test.ts', 'passed', ['passed', 'passed']), file('tests/web-api-schema.test.ts', 'failed', [])])],
      ROOT,
    );
    expect(line).toBe(
      'Tests: 2 passed, 1 failed, 0 skipped (1 test file failed to load or collect: tests/web-api-schema.test.ts)',
    );
  });

  it('counts a failing test once, not again for its file', () => {
    const line = summaryLine(
      [
        report([file('tests/a.test.ts', 'failed', ['passed', 'failed'])]),
        report([file('tests/chaos/b.test.ts', 'passed', ['passed', 'skipped'])]),
      ],
      ROOT,
    );
    expect(line).toBe('Tests: 2 passed, 1 failed, 1 skipped');
  });
});

describe("npm test's slowest files", () => {
  it('lists the 15 slowest test files of every run, slowest first', () => {
    const main = report(Array.from({ length: 20 }, (_, i) => file(`tests/t${i}.test.ts`, 'passed', ['passed'], i + 0.5)));
    const chaos = report([file('tests/chaos/supervisor.test.ts', 'passed', ['passed'], 95)]);
    const lines = slowestFiles([main, chaos], ROOT).trimEnd().split('\n');
    expect(lines[0]).toBe('Slowest test files:');
    expect(lines.slice(1)).toHaveLength(15);
    expect(lines[1]).toBe('   95.0 s  tests/chaos/supervisor.test.ts');
    expect(lines[2]).toBe('   19.5 s  tests/t19.test.ts');
    expect(lines[15]).toBe('    6.5 s  tests/t6.test.ts');
  });

  it('lists the browser files the lane ran in its place', () => {
    const main = report([
      file('tests/browser/lane.test.ts', 'passed', ['passed', 'passed'], 300),
      file('tests/gateway.test.ts', 'passed', ['passed'], 20),
    ]);
    const lane = { 'tests/browser/dashboard.test.ts': 190.5, 'tests/browser/auth.test.ts': 12.25 };
    expect(slowestFiles([main], ROOT, lane).trimEnd().split('\n')).toEqual([
      'Slowest test files:',
      '  190.5 s  tests/browser/dashboard.test.ts',
      '   20.0 s  tests/gateway.test.ts',
      '   12.3 s  tests/browser/auth.test.ts',
    ]);
    // Without the lane's times (it failed before writing them), the lane is one line.
    expect(slowestFiles([main], ROOT).split('\n')[1]).toBe('  300.0 s  tests/browser/lane.test.ts');
  });
});
