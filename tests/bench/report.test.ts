import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { atLeast, exactly, ratioAtLeast, ratioAtMost, resultRow } from './rows.ts';
import { resultsFileName, summaryTable, writeResults, type PartFigures, type RunInfo } from './report.ts';

const PARTS: PartFigures[] = [
  {
    part: '1. Latency at low load',
    figures: [
      ratioAtMost('1. bus commit → handler p50', 3.4, { name: 'graphile-worker', value: 2 }, 1.5, 'ms'),
      ratioAtMost('1. bus commit → handler p99', 9, { name: 'graphile-worker', value: 8 }, 1.5, 'ms'),
    ],
  },
  {
    part: '2. Drain',
    figures: [atLeast('2. bus drain', 24_500, 20_000, 'events/s', { name: 'graphile-worker, batched', value: 26_000 })],
  },
  { part: '4. LISTEN', figures: [exactly('4. LISTEN connections', 1, 1, 'connection(s)')] },
];

const INFO: RunInfo = {
  started: '2026-12-07T08:15:02.345Z',
  finished: '2026-12-07T08:17:40.000Z',
  seconds: 158,
  benchSeconds: { latency: 20, drain: 38, listen: 4 },
  quick: true,
  args: ['--quick'],
  node: 'v24.21.0',
  cores: 2,
  cpu: 'a CPU',
  postgres: '18.4 (embedded, throwaway)',
  loadBefore: [8.1, 7.9, 7.5],
  loadAfter: [9, 8, 7.6],
};

describe('result rows', () => {
  it('judge a ratio to the anchor of the same run, or an absolute bound with the anchor beside it', () => {
    const slower = ratioAtMost('p50', 3.4, { name: 'graphile-worker', value: 2 }, 1.5, 'ms');
    expect(slower).toMatchObject({ ratio: 1.7, target: '≤ 1.5× anchor', pass: false });
    expect(ratioAtLeast('rate', 70, { name: 'anchor', value: 100 }, 0.6, '/s')).toMatchObject({ ratio: 0.7, pass: true });
    expect(atLeast('drain', 24_500, 20_000, 'events/s', { name: 'g', value: 24_500 })).toMatchObject({
      ratio: 1,
      target: '≥ 20,000 events/s',
      pass: true,
    });
    expect(exactly('listen', 2, 1, 'connection(s)')).toMatchObject({ anchor: null, ratio: null, pass: false });
  });

  it('fail a ratio target, and give no ratio, when the anchor measured nothing', () => {
    const row = ratioAtLeast('rate', 70, { name: 'anchor', value: 0 }, 0.6, '/s');
    expect(row).toMatchObject({ ratio: null, pass: false });
    expect(resultRow('x', 1, 'ms', { name: 'a', value: Number.NaN }, 'any', true).ratio).toBeNull();
  });
});

describe('the final table', () => {
  it('has one line per figure: ours, the anchor with its name, the ratio, the target and PASS or MISS', () => {
    expect(summaryTable(PARTS).split('\n')).toEqual([
      '| Figure                      |            Ours |                           Anchor, same run | Ratio | Target            |      |',
      '| --------------------------- | --------------: | -----------------------------------------: | ----: | ----------------- | ---- |',
      '| 1. bus commit → handler p50 |         3.40 ms |                     2 ms (graphile-worker) | 1.70× | ≤ 1.5× anchor     | MISS |',
      '| 1. bus commit → handler p99 |            9 ms |                     8 ms (graphile-worker) | 1.13× | ≤ 1.5× anchor     | PASS |',
      '| 2. bus drain                | 24,500 events/s | 26,000 events/s (graphile-worker, batched) | 0.94× | ≥ 20,000 events/s | PASS |',
      '| 4. LISTEN connections       | 1 connection(s) |                                          – |     – | = 1 connection(s) | PASS |',
    ]);
  });
});

describe('the JSON of a run', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('is named for its start, sortable and without colons, quick runs marked', () => {
    expect(resultsFileName(new Date(INFO.started), true)).toBe('2026-12-07T08-15-02Z-quick.json');
    expect(resultsFileName(new Date(INFO.started), false)).toBe('2026-12-07T08-15-02Z.json');
  });

  it('holds the run, the count of targets met, and every row with its part, in a folder it makes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmops-bench-report-'));
    dirs.push(dir);
    const path = writeResults(join(dir, 'bench', 'results'), INFO, PARTS);
    expect(readdirSync(join(dir, 'bench', 'results'))).toEqual(['2026-12-07T08-15-02Z-quick.json']);
    const written = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
    expect(written).toMatchObject({ ...INFO, targets: { met: 3, total: 4 } });
    expect(written.rows).toEqual([
      {
        part: '1. Latency at low load',
        figure: '1. bus commit → handler p50',
        unit: 'ms',
        ours: 3.4,
        anchor: { name: 'graphile-worker', value: 2 },
        ratio: 1.7,
        target: '≤ 1.5× anchor',
        pass: false,
      },
      expect.objectContaining({ figure: '1. bus commit → handler p99', pass: true }),
      expect.objectContaining({ part: '2. Drain', ours: 24_500, anchor: { name: 'graphile-worker, batched', value: 26_000 } }),
      {
        part: '4. LISTEN',
        figure: '4. LISTEN connections',
        unit: 'connection(s)',
        ours: 1,
        anchor: null,
        ratio: null,
        target: '= 1 connection(s)',
        pass: true,
      },
    ]);
  });
});
