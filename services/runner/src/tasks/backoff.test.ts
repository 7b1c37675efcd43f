import { describe, expect, it } from 'vitest';
import { backoffMs } from './backoff.ts';

const policy = { max_attempts: 5, initial_backoff_ms: 1_000, max_backoff_ms: 10_000, backoff_multiplier: 2 };
const lowest = () => 0;
const highest = () => 1;

describe('the retry backoff', () => {
  it('grows by the multiplier with each attempt on the model, from the initial backoff', () => {
    expect([1, 2, 3, 4].map((n) => backoffMs(policy, n, null, highest))).toEqual([1_000, 2_000, 4_000, 8_000]);
    // Before any attempt counts as the first.
    expect(backoffMs(policy, 0, null, highest)).toBe(1_000);
  });

  it('is capped at the policy’s maximum', () => {
    expect(backoffMs(policy, 5, null, highest)).toBe(10_000);
    expect(backoffMs(policy, 50, null, highest)).toBe(10_000);
  });

  it('waits a random point in the upper half ("equal jitter"), never less than half', () => {
    expect(backoffMs(policy, 3, null, lowest)).toBe(2_000);
    expect(backoffMs(policy, 3, null, () => 0.5)).toBe(3_000);
    for (let i = 0; i < 100; i++) {
      const wait = backoffMs(policy, 3, null);
      expect(wait).toBeGreaterThanOrEqual(2_000);
      expect(wait).toBeLessThanOrEqual(4_000);
    }
  });

  it('never comes back before the provider’s Retry-After, even past the cap', () => {
    expect(backoffMs(policy, 1, 30_000, highest)).toBe(30_000);
    expect(backoffMs(policy, 3, 100, lowest)).toBe(2_000);
  });
});
