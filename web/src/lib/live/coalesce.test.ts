import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Coalescer } from './coalesce.ts';

describe('reloads coalesced per dependency', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reloads at once, then at most once per 500 ms however many events come, and always after the last one', () => {
    const runs: { key: string; at: number }[] = [];
    const start = Date.now();
    const reloads = new Coalescer<string>((key) => runs.push({ key, at: Date.now() - start }), 500);
    // 200 tasks finish over two seconds, one every 10 ms.
    for (let i = 0; i < 200; i++) {
      reloads.request('app:tasks');
      vi.advanceTimersByTime(10);
    }
    vi.advanceTimersByTime(1_000);
    const times = runs.map((run) => run.at);
    expect(times[0]).toBe(0);
    expect(runs.length).toBeLessThanOrEqual(5);
    for (let i = 1; i < times.length; i++) expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(500);
    // The last event (at 1990 ms) is followed by a reload that starts after it.
    expect(times.at(-1)).toBeGreaterThanOrEqual(1_990);
  });

  it('keeps dependencies apart: each has its own window', () => {
    const runs: string[] = [];
    const reloads = new Coalescer<string>((key) => runs.push(key), 500);
    reloads.request('app:tasks');
    reloads.request('app:providers');
    reloads.request('app:tasks');
    expect(runs).toEqual(['app:tasks', 'app:providers']);
    vi.advanceTimersByTime(500);
    expect(runs).toEqual(['app:tasks', 'app:providers', 'app:tasks']);
    // Quiet for longer than the window: the next event reloads at once again.
    vi.advanceTimersByTime(600);
    reloads.request('app:providers');
    expect(runs).toEqual(['app:tasks', 'app:providers', 'app:tasks', 'app:providers']);
  });

  it('drops a waiting reload when cancelled', () => {
    const runs: string[] = [];
    const reloads = new Coalescer<string>((key) => runs.push(key), 500);
    reloads.request('app:tasks');
    reloads.request('app:tasks');
    reloads.cancel('app:tasks');
    vi.advanceTimersByTime(1_000);
    expect(runs).toEqual(['app:tasks']);
  });
});
