import { describe, expect, it } from 'vitest';
import type { Schemas } from '../api/client.ts';
import { daysBetween, MAX_SERIES, usageChart } from './series.ts';

const measures = (cost: string, tasks: number, tokens = 0) => ({
  tasks,
  succeeded: tasks,
  failed: 0,
  attempts: tasks,
  input_tokens: tokens,
  output_tokens: 0,
  cached_input_tokens: 0,
  cost_usd: cost,
});
const part = (key: string | null, label: string | null, cost: string, tasks: number, tokens = 0) => ({
  key,
  label,
  ...measures(cost, tasks, tokens),
});

function report(
  rows: { day: string; split: Schemas['UsageSplitRow'][] }[],
  total: Schemas['UsageSplitRow'][],
): Schemas['UsageReport'] {
  return {
    group_by: 'day',
    split_by: 'model',
    tz: 'UTC',
    from: null,
    to: null,
    rows: rows.map((row) => ({ key: row.day, label: null, ...measures('0', 0), split: row.split })),
    total: { key: null, label: null, ...measures('0', 0), split: total },
  };
}

describe('the usage charts', () => {
  it('lists every day of the window', () => {
    expect(daysBetween('2026-02-27', '2026-03-02')).toEqual(['2026-02-27', '2026-02-28', '2026-03-01', '2026-03-02']);
    expect(daysBetween('2026-03-02', '2026-03-01')).toEqual([]);
  });

  it('makes one series per split key, biggest first, with zeros on quiet days and names from labels or ids', () => {
    const chart = usageChart(
      report(
        [
          { day: '2026-03-01', split: [part('m-a', 'Model A', '0.5', 2, 100), part('t-1', null, '0.1', 1, 900)] },
          { day: '2026-03-03', split: [part('m-a', 'Model A', '0.25', 1, 50)] },
        ],
        [part('m-a', 'Model A', '0.75', 3, 150), part('t-1', null, '0.1', 1, 900)],
      ),
      'cost',
      { split: 'template', days: daysBetween('2026-03-01', '2026-03-03'), names: new Map([['t-1', 'Bread post']]) },
    );
    expect(chart.series.map((series) => [series.name, series.values])).toEqual([
      ['Model A', [0.5, 0, 0.25]],
      ['Bread post', [0.1, 0, 0]],
    ]);
    const tokens = usageChart(
      report(
        [{ day: '2026-03-01', split: [part('m-a', 'A', '0', 1, 100), part(null, null, '0', 1, 900)] }],
        [part('m-a', 'A', '0', 1, 100), part(null, null, '0', 1, 900)],
      ),
      'tokens',
      { split: 'model', days: ['2026-03-01'] },
    );
    expect(tokens.series.map((series) => series.name)).toEqual(['No model', 'A']);
  });

  it('folds what is past the costliest few into Other, and leaves out keys with nothing to show', () => {
    const many = Array.from({ length: 9 }, (_, at) => part(`m-${at}`, `Model ${at}`, String(9 - at), 1));
    const chart = usageChart(report([{ day: '2026-03-01', split: many }], [...many, part('zero', 'Zero', '0', 1)]), 'cost', {
      split: 'model',
      days: ['2026-03-01'],
    });
    expect(chart.series).toHaveLength(MAX_SERIES);
    expect(chart.series.at(-1)).toMatchObject({ name: 'Other', values: [4 + 3 + 2 + 1] });
    expect(chart.series.some((series) => series.name === 'Zero')).toBe(false);
  });
});
