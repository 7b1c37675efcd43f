import type { Schemas } from '../api/client.ts';

/**
 * The overview's usage charts from a `GET /api/v1/usage?group_by=day&split_by=…` report: one value per
 * day of the window (days without tasks are zero, so time reads evenly) for each of the costliest split
 * keys, the rest folded into one "Other" series. Names come from the report's labels, else `names` (the
 * templates' names, which the runner does not keep), else the id's last characters.
 */
export type UsageMetric = 'cost' | 'tokens' | 'tasks';
export type UsageSplit = 'model' | 'provider' | 'template';

export interface Series {
  key: string;
  name: string;
  values: number[];
  total: number;
}

export interface UsageChart {
  days: string[];
  series: Series[];
}

/** At most this many named series; the rest is "Other". */
export const MAX_SERIES = 6;

const NONE: Record<UsageSplit, string> = { model: 'No model', provider: 'No provider', template: 'No template' };

export function measure(row: Schemas['UsageSplitRow'] | Schemas['UsageRow'], metric: UsageMetric): number {
  if (metric === 'cost') return Number(row.cost_usd);
  if (metric === 'tokens') return row.input_tokens + row.output_tokens;
  return row.tasks;
}

/** Every day from `from` to `to` (YYYY-MM-DD, both included). */
export function daysBetween(from: string, to: string): string[] {
  const days: string[] = [];
  const end = Date.parse(`${to}T00:00:00Z`);
  for (let day = Date.parse(`${from}T00:00:00Z`); day <= end && days.length < 400; day += 86_400_000) {
    days.push(new Date(day).toISOString().slice(0, 10));
  }
  return days;
}

export function usageChart(
  report: Schemas['UsageReport'],
  metric: UsageMetric,
  options: { split: UsageSplit; days: string[]; names?: ReadonlyMap<string, string> },
): UsageChart {
  const { split, days, names } = options;
  const keyOf = (key: string | null) => key ?? '';
  const nameOf = (row: Schemas['UsageSplitRow']) =>
    row.label ?? (row.key === null ? NONE[split] : (names?.get(row.key) ?? `…${row.key.slice(-8)}`));
  // The window's split orders the series: the biggest for this measure first.
  const overall = [...(report.total.split ?? [])]
    .map((row) => ({ row, total: measure(row, metric) }))
    .filter((entry) => entry.total > 0)
    .sort((a, b) => b.total - a.total);
  const named = overall.slice(0, overall.length > MAX_SERIES ? MAX_SERIES - 1 : MAX_SERIES);
  const index = new Map(named.map((entry, at) => [keyOf(entry.row.key), at]));
  const series: Series[] = named.map((entry) => ({
    key: keyOf(entry.row.key),
    name: nameOf(entry.row),
    values: days.map(() => 0),
    total: 0,
  }));
  const other: Series = { key: 'other', name: 'Other', values: days.map(() => 0), total: 0 };
  const dayIndex = new Map(days.map((day, at) => [day, at]));
  for (const row of report.rows) {
    const at = row.key === null ? undefined : dayIndex.get(row.key);
    if (at === undefined) continue;
    for (const part of row.split ?? []) {
      const target = series[index.get(keyOf(part.key)) ?? -1] ?? other;
      const value = measure(part, metric);
      target.values[at] = (target.values[at] ?? 0) + value;
      target.total += value;
    }
  }
  return { days, series: other.total > 0 ? [...series, other] : series };
}
