import { describe, expect, it } from 'vitest';
import { Bell } from './bell.ts';
import { pollLoop, type LoopTiming, type StepResult } from './loop.ts';
import type { WaiterRow } from './waiters.ts';
import type { Logger } from '../logger.ts';

// Long sweep and linger: a step the test did not cause by a ring would have to come from them, and they are far off.
const timing: LoopTiming = {
  sweepMs: 60_000,
  busyWindowMs: 50,
  busyProgressCount: 10,
  busyPollMs: 5,
  lingerMs: [],
  heldBackMinMs: 10,
  heldBackMaxMs: 250,
  heldBackWarnMs: 10_000,
};
const settled = { markWaiting: async () => true, busy: () => undefined } as unknown as WaiterRow;
const log = { warn: () => undefined, error: () => undefined } as unknown as Logger;
const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

/**
 * A loop whose steps answer `results` in turn (then 'idle'), or `results()` every time, counting them; a
 * consumer group's (gathering `gatherMs`) when given, with `timing` changed as given.
 */
function run(
  results: StepResult[] | (() => StepResult),
  { gatherMs, timing: changed = {} }: { gatherMs?: () => number; timing?: Partial<LoopTiming> } = {},
) {
  const bell = new Bell();
  const stop = new AbortController();
  let steps = 0;
  const done = pollLoop({
    step: async () => (typeof results === 'function' ? (steps++, results()) : (results[steps++] ?? 'idle')),
    bell,
    waiter: settled,
    timing: { ...timing, ...changed },
    signal: stop.signal,
    log,
    gatherMs,
  });
  return {
    bell,
    steps: () => steps,
    stop: async () => {
      stop.abort();
      await done;
    },
  };
}

describe('the reader loop', () => {
  it('looks again at once after progress, until a look finds nothing', async () => {
    const loop = run(['progress', 'progress']);
    await turns(20);
    expect(loop.steps()).toBe(3);
    await loop.stop();
  });

  it('waits for the doorbell after a read that found everything there was, instead of reading again for nothing', async () => {
    const loop = run(['drained', 'drained']);
    await turns(20);
    expect(loop.steps()).toBe(1);
    loop.bell.ring();
    await turns(20);
    expect(loop.steps()).toBe(2);
    await loop.stop();
  });

  it('waits for a batch to end (it rings) after starting all the work there was', async () => {
    const loop = run(['started', 'idle'], { gatherMs: () => timing.busyPollMs });
    await turns(20);
    expect(loop.steps()).toBe(1);
    loop.bell.ring();
    await turns(20);
    expect(loop.steps()).toBe(2);
    await loop.stop();
  });
});

describe('a consumer group under sustained load', () => {
  it('gathers before leasing again once its last looks all found work over a busy window, even when a batch ends and rings', async () => {
    const loop = run(() => 'started', { gatherMs: () => 60_000, timing: { busyWindowMs: 1, busyProgressCount: 2 } });
    await turns(20);
    expect(loop.steps()).toBe(1); // waits for its batch to end
    await new Promise((resolve) => setTimeout(resolve, 5)); // a busy window of found work
    loop.bell.ring(); // the batch ended
    await turns(20);
    expect(loop.steps()).toBe(2); // found work again: now it gathers, and a ring does not cut that short
    loop.bell.ring();
    await turns(20);
    expect(loop.steps()).toBe(2);
    await loop.stop();
  });

  it('does not gather at a trickle: one look that found work after a pause is not sustained load', async () => {
    const loop = run(() => 'started', { gatherMs: () => 60_000, timing: { busyWindowMs: 1 } });
    await turns(20);
    await new Promise((resolve) => setTimeout(resolve, 5));
    loop.bell.ring();
    await turns(20);
    loop.bell.ring();
    await turns(20);
    expect(loop.steps()).toBe(3); // each ring (a batch ended) looks again at once
    await loop.stop();
  });
});
