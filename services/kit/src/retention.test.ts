import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from './logger.ts';
import { scheduleRetention } from './retention.ts';

/* The retention timer: a pass every interval, one at a time, whatever the interval is set to. */

afterEach(() => {
  vi.useRealTimers();
});

describe('scheduleRetention', () => {
  it('runs a pass every interval, and skips the ticks that come while a pass is still under way', async () => {
    vi.useFakeTimers();
    let release: () => void = () => {};
    let runs = 0;
    const retention = scheduleRetention({
      jobs: [
        {
          kind: 'test',
          run: () => {
            runs += 1;
            return new Promise<number>((resolve) => (release = () => resolve(0)));
          },
        },
      ],
      intervalMs: 1_000,
      log: createLogger({ service: 'test', level: 'silent' }),
    });
    await vi.advanceTimersByTimeAsync(999);
    expect(runs).toBe(0); // the first pass comes after one interval
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toBe(1);
    // A slow pass: ten more intervals go by while it runs, and none of them starts or queues another.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(runs).toBe(1);
    release();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(runs).toBe(2);
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toBe(2); // no pass was waiting in line behind the slow one
    await retention.stop();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(runs).toBe(2);
  });
});
