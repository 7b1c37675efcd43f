import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '@llmops/kit/logger';
import type { HttpProblem } from '@llmops/kit/problem';
import { RenderPool } from './pool.ts';
import type { RenderRequest } from './render.ts';

const source = (entry: number) => ({ message_index: 0, entry_index: entry, part_id: null, part_name: null, part_version: null });
const request = (...texts: string[]): RenderRequest => ({
  messages: [{ role: 'user', entries: texts.map((content, i) => ({ content, source: source(i) })) }],
  declared: [],
  mergeAdjacent: false,
  inputs: {},
});
// One filter call that runs for over a second and is never interrupted by the engine's own checks.
const BLOCKING = '{% assign r = (1..5000000) | sort %}{{ r | size }}';
// Nine million loop turns, which the engine stops itself at the deadline.
const NESTED = '{% assign r = (1..3000) %}{% for a in r %}{% for b in r %}{% endfor %}{% endfor %}';

const pool = new RenderPool(
  { workers: 2, deadlineMs: 200, memoryMb: 512, perCaller: 1, queuePerCaller: 1 },
  createLogger({ service: 'prompt', level: 'silent' }),
);
await pool.start();
afterAll(() => pool.stop());

describe('the render pool', () => {
  it('stops only the worker past its deadline, names the entry, and replaces it; the other keeps running warm', async () => {
    const before = pool.threadIds();
    const events: string[] = [];
    const heavy = pool.render(request('fine', BLOCKING), { caller: 'account:a', fieldPrefix: 'body.' }).then(
      () => events.push('heavy answered'),
      (error: HttpProblem) => {
        events.push('heavy refused');
        return error;
      },
    );
    const trivial = await pool.render(request('hello'), { caller: 'account:b', fieldPrefix: 'body.' });
    events.push('trivial answered');
    expect(trivial.messages[0]?.text).toBe('hello');
    const refused = await heavy;
    expect(events).toEqual(['trivial answered', 'heavy refused']);
    expect(refused).toMatchObject({
      status: 422,
      errors: [{ field: 'body.messages[0].entries[1]', message: 'went over the time budget of 200 ms per request' }],
    });
    expect((refused as HttpProblem).message).toMatch(/inline text \(message 1, entry 2\)/);

    const after = pool.threadIds();
    expect(after).toHaveLength(2);
    expect(before.filter((id) => after.includes(id))).toHaveLength(1);
    expect((await pool.render(request('again'), { caller: 'account:a', fieldPrefix: '' })).messages[0]?.text).toBe('again');
  });

  it('bounds renders per caller: one runs, one waits, the next is a 429; other callers still get a turn', async () => {
    await pool.start(); // every worker warm again after the replacement above
    const before = pool.threadIds();
    const a = { caller: 'account:a', fieldPrefix: '' };
    const settled: string[] = [];
    const track = (name: string, render: Promise<unknown>) =>
      render.then(
        () => settled.push(`${name} ok`),
        (error: HttpProblem) => settled.push(`${name} ${error.status}`),
      );
    const first = track('first', pool.render(request(NESTED), a));
    const second = track('second', pool.render(request(NESTED), a));
    const third = pool.render(request('{% if true %}x{% endif %}'), a);
    await expect(third).rejects.toMatchObject({ status: 429, headers: { 'Retry-After': '1' } });
    // A render bounded by its size (text and plain variables) runs on the event loop: no worker, no turn.
    const inline = pool.status().inline;
    const bounded = await pool.render({ ...request('Hello {{ name }}'), inputs: { name: 'Ada' } }, a);
    expect(bounded.messages[0]?.text).toBe('Hello Ada');
    expect(pool.status().inline).toBe(inline + 1);
    await track('other caller', pool.render(request('{% if true %}y{% endif %}'), { caller: 'account:b', fieldPrefix: '' }));
    await Promise.all([first, second]);
    expect(settled).toEqual(['other caller ok', 'first 422', 'second 422']);
    // Stopped by the engine within the deadline: nothing had to be replaced.
    expect(pool.threadIds()).toEqual(before);
  });
});
