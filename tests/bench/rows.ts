// A figure of the bench as the final table and the JSON show it: ours, the anchor of the same run, the
// ratio, the target. Kept apart from lib.ts (which loads the services' code) so the report's tests load fast;
// lib.ts re-exports it.

export function fmt(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return '-';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export const fmtRate = (value: number) => fmt(value, 0);

/** The anchor of a figure: what it is (graphile-worker, direct calls, …) and its figure, measured in the same run. */
export interface Anchor {
  name: string;
  value: number;
}

/**
 * One line of the bench's final table and JSON: a figure of ours, the anchor measured beside it in the same
 * run (null where the target is absolute and nothing like it exists), ours ÷ anchor, the target and whether
 * it was met. Every part hands its figures back as these.
 */
export interface ResultRow {
  figure: string;
  unit: string;
  ours: number;
  anchor: Anchor | null;
  ratio: number | null;
  target: string;
  pass: boolean;
}

/** A figure whose target the part judged itself (`target` says what it was). */
export function resultRow(
  figure: string,
  ours: number,
  unit: string,
  anchor: Anchor | null,
  target: string,
  pass: boolean,
): ResultRow {
  const ratio = anchor && anchor.value !== 0 && Number.isFinite(anchor.value) ? ours / anchor.value : null;
  return { figure, unit, ours, anchor, ratio, target, pass };
}

/** An absolute bound; `anchor`, when given, is for comparison only. */
export function atMost(figure: string, ours: number, bound: number, unit: string, anchor: Anchor | null = null): ResultRow {
  return resultRow(figure, ours, unit, anchor, `≤ ${fmtFigure(bound)} ${unit}`, ours <= bound);
}

export function atLeast(figure: string, ours: number, bound: number, unit: string, anchor: Anchor | null = null): ResultRow {
  return resultRow(figure, ours, unit, anchor, `≥ ${fmtFigure(bound)} ${unit}`, ours >= bound);
}

export function exactly(figure: string, ours: number, expected: number, unit: string, anchor: Anchor | null = null): ResultRow {
  return resultRow(figure, ours, unit, anchor, `= ${fmtFigure(expected)} ${unit}`, ours === expected);
}

/** Ours at most `bound` times the anchor of the same run (lower is better: latencies, seconds). */
export function ratioAtMost(figure: string, ours: number, anchor: Anchor, bound: number, unit: string): ResultRow {
  const row = resultRow(figure, ours, unit, anchor, `≤ ${bound}× anchor`, false);
  return { ...row, pass: row.ratio !== null && row.ratio <= bound };
}

/** Ours at least `bound` times the anchor of the same run (higher is better: rates). */
export function ratioAtLeast(figure: string, ours: number, anchor: Anchor, bound: number, unit: string): ResultRow {
  const row = resultRow(figure, ours, unit, anchor, `≥ ${bound}× anchor`, false);
  return { ...row, pass: row.ratio !== null && row.ratio >= bound };
}

/** A figure with as many decimals as its size deserves: 12,345 · 123 · 12.3 · 1.23 · 0.123. */
export function fmtFigure(value: number): string {
  if (!Number.isFinite(value)) return '-';
  const size = Math.abs(value);
  return fmt(value, size >= 100 || Number.isInteger(value) ? 0 : size >= 10 ? 1 : size >= 1 ? 2 : 3);
}
