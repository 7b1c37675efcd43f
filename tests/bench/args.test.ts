import { describe, expect, it } from 'vitest';
import { parseArgs, type BenchEntry } from './args.ts';

const REGISTRY: BenchEntry[] = [
  { name: 'latency' },
  { name: 'runner', parts: ['latency', 'drain', 'claim'] },
  { name: 'dashboard', parts: ['live', 'history'] },
  { name: 'workflow' },
  { name: 'history', whenAsked: true },
];

describe('parseArgs', () => {
  it('runs every benchmark but those that run only when asked, at full size, when given nothing', () => {
    expect(parseArgs([], REGISTRY)).toEqual({
      quick: false,
      run: [
        { name: 'latency', parts: [] },
        { name: 'runner', parts: [] },
        { name: 'dashboard', parts: [] },
        { name: 'workflow', parts: [] },
      ],
    });
  });

  it('takes --quick anywhere, alone or with names', () => {
    expect(parseArgs(['--quick'], REGISTRY).quick).toBe(true);
    expect(parseArgs(['--quick'], REGISTRY).run.map((b) => b.name)).toEqual(['latency', 'runner', 'dashboard', 'workflow']);
    expect(parseArgs(['workflow', '--quick'], REGISTRY)).toEqual({ quick: true, run: [{ name: 'workflow', parts: [] }] });
  });

  it('runs a benchmark that runs only when asked when it is named, and only what is named', () => {
    expect(parseArgs(['history'], REGISTRY).run).toEqual([{ name: 'history', parts: [] }]);
    expect(parseArgs(['history', 'latency'], REGISTRY).run).toEqual([
      { name: 'latency', parts: [] },
      { name: 'history', parts: [] },
    ]);
  });

  it('reads words after a benchmark with parts as its parts, and a part name elsewhere as a benchmark', () => {
    expect(parseArgs(['runner', 'drain', 'latency'], REGISTRY).run).toEqual([{ name: 'runner', parts: ['drain', 'latency'] }]);
    expect(parseArgs(['latency', 'runner', 'claim'], REGISTRY).run).toEqual([
      { name: 'latency', parts: [] },
      { name: 'runner', parts: ['claim'] },
    ]);
    // `history` after `dashboard` is the dashboard's part; after anything else, the benchmark of that name.
    expect(parseArgs(['dashboard', 'history'], REGISTRY).run).toEqual([{ name: 'dashboard', parts: ['history'] }]);
    expect(parseArgs(['workflow', 'history'], REGISTRY).run).toEqual([
      { name: 'workflow', parts: [] },
      { name: 'history', parts: [] },
    ]);
  });

  it('says what exists when a word names nothing, and refuses an unknown option', () => {
    expect(() => parseArgs(['latncy'], REGISTRY)).toThrow(
      'unknown benchmark latncy; the benchmarks: latency, runner, dashboard, workflow, history (only when asked)',
    );
    expect(() => parseArgs(['runner', 'steady'], REGISTRY)).toThrow('(parts of runner: latency, drain, claim)');
    expect(() => parseArgs(['--fast'], REGISTRY)).toThrow('unknown option --fast; the one option is --quick');
  });
});
