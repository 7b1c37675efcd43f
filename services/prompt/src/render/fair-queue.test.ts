import { describe, expect, it } from 'vitest';
import { FairQueue } from './fair-queue.ts';

describe('the fair queue of renders', () => {
  it('runs one job per caller at a time, takes callers in turn, and refuses a job past the bound', () => {
    const queue = new FairQueue<string>({ perCaller: 1, queuePerCaller: 2 });
    for (const job of ['a1', 'a2', 'a3']) expect(queue.offer('a', job)).toBe(true);
    expect(queue.offer('a', 'a4')).toBe(false);
    queue.offer('b', 'b1');
    queue.offer('c', 'c1');
    expect(queue.take()).toEqual({ caller: 'a', job: 'a1' });
    // a is at its one running job: b and c take their turns, then nobody may run more.
    expect(queue.take()?.job).toBe('b1');
    expect(queue.take()?.job).toBe('c1');
    expect(queue.take()).toBeUndefined();
    queue.done('a');
    expect(queue.take()?.job).toBe('a2');
    expect(queue.offer('a', 'a4')).toBe(true);
    expect(queue.waiting).toBe(2);
    expect(queue.drain()).toEqual(['a3', 'a4']);
  });
});
