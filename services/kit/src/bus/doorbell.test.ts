import { describe, expect, it } from 'vitest';
import { concerns } from './bell.ts';
import { parseRing, Ringer, ringPayload } from './doorbell.ts';

/** A send whose rings the test lets through one by one. */
function manualSend() {
  const pending: Array<() => void> = [];
  const payloads: string[] = [];
  const send = (payload: string) =>
    new Promise<void>((resolve) => {
      payloads.push(payload);
      pending.push(resolve);
    });
  return { send, pending, payloads };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('the doorbell ringer', () => {
  it('sends the first ring at once and folds the rings asked for meanwhile into one more', async () => {
    const { send, pending } = manualSend();
    const ringer = new Ringer(send);
    ringer.ring();
    expect(ringer.sent).toBe(1);
    for (let n = 0; n < 5; n++) ringer.ring();
    expect(ringer.sent).toBe(1);
    pending.shift()?.();
    await turn();
    expect(ringer.sent).toBe(2);
    pending.shift()?.();
    await turn();
    expect(ringer.sent).toBe(2);
    expect(pending).toHaveLength(0);
  });

  it('names the topics of its events, the folded ring the union of those asked for meanwhile, or none when one named none', async () => {
    const { send, pending, payloads } = manualSend();
    const ringer = new Ringer(send, 'o1');
    ringer.ring(['runner.task.queued']);
    ringer.ring(['runner.task.started']);
    ringer.ring(['runner.task.succeeded', 'runner.task.started']);
    pending.shift()?.();
    await turn();
    ringer.ring(['registry.model.changed']);
    ringer.ring();
    pending.shift()?.();
    await turn();
    pending.shift()?.();
    await turn();
    expect(payloads).toEqual(['o1;runner.task.queued', 'o1;runner.task.started,runner.task.succeeded', 'o1;']);
    expect(parseRing(payloads[1] as string)).toEqual({ origin: 'o1', topics: ['runner.task.started', 'runner.task.succeeded'] });
    expect(parseRing('o1;')).toEqual({ origin: 'o1', topics: undefined });
    // A producer that names no origin: every process hears it.
    expect(parseRing('runner.task.queued')).toEqual({ origin: undefined, topics: ['runner.task.queued'] });
    expect(parseRing('')).toEqual({ origin: undefined, topics: undefined });
    expect(
      ringPayload(
        Array.from({ length: 500 }, (_, n) => `some.long.topic.${n}`),
        'o1',
      ),
    ).toBe('o1;');
  });

  it("tells its own process's readers of every ring at once, in-process, while the NOTIFYs are coalesced", async () => {
    const { send, pending, payloads } = manualSend();
    const ringer = new Ringer(send, 'o1');
    const heard: Array<readonly string[] | undefined> = [];
    const unhear = ringer.hear((topics) => heard.push(topics));
    ringer.ring(['runner.task.queued']);
    ringer.ring(['runner.task.succeeded']);
    ringer.ring();
    // A ring that went out inside the committed statement: heard here, no NOTIFY sent for it.
    ringer.heard(['runner.task.started']);
    expect(heard).toEqual([['runner.task.queued'], ['runner.task.succeeded'], undefined, ['runner.task.started']]);
    expect(payloads).toEqual(['o1;runner.task.queued']);
    pending.shift()?.();
    await turn();
    expect(payloads).toEqual(['o1;runner.task.queued', 'o1;']);
    expect(heard).toHaveLength(4); // the folded NOTIFY is not heard again here
    unhear();
    ringer.ring(['runner.task.failed']);
    expect(heard).toHaveLength(4);
  });

  it('wakes a reader for a ring of its topics or of unknown topics, and a reader of every topic for any ring', () => {
    const group = new Set(['registry.model.changed']);
    expect(concerns(['runner.task.queued', 'runner.task.started'], group)).toBe(false);
    expect(concerns(['runner.task.queued', 'registry.model.changed'], group)).toBe(true);
    expect(concerns(undefined, group)).toBe(true);
    expect(concerns(['runner.task.queued'], new Set())).toBe(true);
  });

  it('rings again at once for a commit after the last ring was sent, and survives a failed send', async () => {
    let calls = 0;
    const ringer = new Ringer(() => (++calls === 1 ? Promise.reject(new Error('connection lost')) : Promise.resolve()));
    ringer.ring();
    await turn();
    ringer.ring();
    await turn();
    expect(ringer.sent).toBe(2);
    expect(calls).toBe(2);
  });

  it('gives the lead (a ring inside the producing transaction) to one statement at a time, and never while a ring is on its way', async () => {
    const { send, pending } = manualSend();
    const ringer = new Ringer(send);
    expect(ringer.lead()).toBe(true);
    expect(ringer.lead()).toBe(false);
    ringer.release();
    ringer.ring();
    expect(ringer.lead()).toBe(false);
    pending.shift()?.();
    await turn();
    expect(ringer.lead()).toBe(true);
  });
});
