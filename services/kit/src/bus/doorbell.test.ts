import { describe, expect, it } from 'vitest';
import { Ringer } from './doorbell.ts';

/** A send whose rings the test lets through one by one. */
function manualSend() {
  const pending: Array<() => void> = [];
  const send = () => new Promise<void>((resolve) => pending.push(resolve));
  return { send, pending };
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
