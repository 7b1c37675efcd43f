import { describe, expect, it } from 'vitest';
import { Gathering } from './usage.ts';

/** A gathering whose additions fail until `recover()`, and what it added after. */
function failingAtFirst(gatherMs: number) {
  let fail = true;
  const added: string[][] = [];
  const gathering = new Gathering(async (ids) => {
    if (fail) throw new Error('the database is away');
    added.push([...ids]);
  }, gatherMs);
  return { gathering, added, recover: () => (fail = false) };
}

describe('the usage consumer gathers ended tasks', () => {
  it('adds the ids of callers that come within the gathering time in one call, one call at a time', async () => {
    const calls: string[][] = [];
    let running = 0;
    let most = 0;
    const gathering = new Gathering(async (ids) => {
      running++;
      most = Math.max(most, running);
      calls.push([...ids]);
      await new Promise((resolve) => setTimeout(resolve, 30));
      running--;
    }, 20);
    const first = [gathering.add(['a']), gathering.add(['b', 'c']), gathering.add(['d'])];
    await new Promise((resolve) => setTimeout(resolve, 35)); // the first round is being added now
    const second = [gathering.add(['e']), gathering.add(['f'])];
    await Promise.all([...first, ...second]);
    expect(calls).toEqual([
      ['a', 'b', 'c', 'd'],
      ['e', 'f'],
    ]);
    expect(most).toBe(1);
    expect(await gathering.add([]).then(() => calls.length)).toBe(2);
  });

  it('tells every caller of a round that failed, and the next round runs', async () => {
    const { gathering, added, recover } = failingAtFirst(5);
    const outcomes = await Promise.allSettled([gathering.add(['a']), gathering.add(['b'])]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    recover();
    await gathering.add(['a', 'b']);
    expect(added).toEqual([['a', 'b']]);
  });

  it('does not wait for a while after a round failed (the bus re-runs the batch one event at a time)', async () => {
    const { gathering, added, recover } = failingAtFirst(2_000);
    await expect(gathering.add(['a', 'b'])).rejects.toThrow('away');
    recover();
    const started = performance.now();
    for (const id of ['a', 'b']) await gathering.add([id]);
    expect(added).toEqual([['a'], ['b']]);
    // Two gatherings would have taken 4 s.
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('adds what it gathered at once when hurried (the consumer stops), and waits no more after', async () => {
    const added: string[][] = [];
    const gathering = new Gathering(async (ids) => {
      added.push([...ids]);
    }, 60_000);
    const started = performance.now();
    const pending = gathering.add(['a']);
    gathering.hurry();
    await pending;
    await gathering.add(['b']);
    expect(added).toEqual([['a'], ['b']]);
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});
