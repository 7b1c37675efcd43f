// The bench's one final table (every figure of every part run, beside its anchor of the same run) and the
// same as JSON in bench/results/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fmt, fmtFigure, type ResultRow } from './rows.ts';

/** The figures of one part, under its title. */
export interface PartFigures {
  part: string;
  figures: ResultRow[];
}

/** What the run was, for reading its figures later: when, where, how loaded. */
export interface RunInfo {
  started: string;
  finished: string;
  seconds: number;
  /** Seconds each benchmark took, by name. */
  benchSeconds: Record<string, number>;
  quick: boolean;
  args: string[];
  node: string;
  cores: number;
  cpu: string;
  postgres: string;
  loadBefore: number[];
  loadAfter: number[];
}

const withUnit = (value: number, unit: string) => (unit === '×' ? `${fmtFigure(value)}×` : `${fmtFigure(value)} ${unit}`);

/**
 * A Markdown table laid out as Prettier lays it out (so it reads in a terminal and pastes into docs/bench.md
 * unchanged): cells padded to their column's width, `right` columns right-aligned.
 */
export function markdownTable(rows: readonly string[][], right: readonly boolean[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 3, [...cell].length)));
  const pad = (cell: string, i: number) => {
    const fill = ' '.repeat((widths[i] ?? 0) - [...cell].length);
    return right[i] ? fill + cell : cell + fill;
  };
  const line = (row: readonly string[]) => `| ${widths.map((_, i) => pad(row[i] ?? '', i)).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (right[i] ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  const [head, ...body] = rows;
  return head ? [line(head), rule, ...body.map(line)].join('\n') : '';
}

/** The final table: figure, ours, the anchor of the same run, the ratio, the target, PASS or MISS. */
export function summaryTable(parts: readonly PartFigures[]): string {
  const rows = parts.flatMap(({ figures }) =>
    figures.map((row) => [
      row.figure,
      withUnit(row.ours, row.unit),
      row.anchor ? `${withUnit(row.anchor.value, row.unit)} (${row.anchor.name})` : '–',
      row.ratio === null ? '–' : `${fmt(row.ratio, 2)}×`,
      row.target,
      row.pass ? 'PASS' : 'MISS',
    ]),
  );
  return markdownTable(
    [['Figure', 'Ours', 'Anchor, same run', 'Ratio', 'Target', ''], ...rows],
    [false, true, true, true, false, false],
  );
}

/** The JSON document of a run: its description and every row, each with the part it came from. */
export function resultsDocument(info: RunInfo, parts: readonly PartFigures[]): object {
  const rows = parts.flatMap(({ part, figures }) => figures.map((row) => ({ part, ...row })));
  return {
    ...info,
    targets: { met: rows.filter((row) => row.pass).length, total: rows.length },
    rows,
  };
}

/** A file name that sorts by time and is valid everywhere: 2026-12-07T08-15-02Z.json (plus -quick). */
export function resultsFileName(started: Date, quick: boolean): string {
  const stamp = started
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replaceAll(':', '-');
  return `${stamp}${quick ? '-quick' : ''}.json`;
}

/** Writes the run's JSON into `dir` (made when missing); the file's path. */
export function writeResults(dir: string, info: RunInfo, parts: readonly PartFigures[]): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, resultsFileName(new Date(info.started), info.quick));
  writeFileSync(path, `${JSON.stringify(resultsDocument(info, parts), null, 2)}\n`);
  return path;
}
