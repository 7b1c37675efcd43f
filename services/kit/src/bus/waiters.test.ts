import { describe, expect, it } from 'vitest';
import type { Pool } from '../db.ts';
import { WaiterRow } from './waiters.ts';

/** A pool that records the statements it is sent (the waiter row's INSERT and DELETE) and answers at once. */
function recordingPool() {
  const sent: string[] = [];
  const values: unknown[][] = [];
  const pool = {
    query: async (text: string, params: unknown[] = []) => {
      sent.push(text.trim().split(/\s+/)[0] as string);
      values.push(params);
      return { rows: [], rowCount: 1 };
    },
  } as unknown as Pool;
  return { pool, sent, values };
}

describe("the process's waiter row", () => {
  it('is deleted once the last reader that waited for the doorbell reports sustained load, and written again when one goes idle', async () => {
    const { pool, sent } = recordingPool();
    const row = new WaiterRow(pool, 'p', 3_000);
    const a = {};
    const b = {};
    await row.markWaiting(a);
    await row.markWaiting(b);
    expect(sent).toEqual(['INSERT']);
    row.busy(a);
    await Promise.resolve();
    expect(sent).toEqual(['INSERT']); // b still waits for the doorbell: producers must keep ringing
    row.busy(b);
    expect(await row.markWaiting(a)).toBe(false); // written again after the delete, not yet settled: linger
    expect(sent).toEqual(['INSERT', 'DELETE', 'INSERT']);
  });

  it('is not deleted by a reader under sustained load when it has lapsed already', async () => {
    const { pool, sent } = recordingPool();
    const row = new WaiterRow(pool, 'p', 3_000);
    row.busy({});
    await Promise.resolve();
    expect(sent).toEqual([]);
  });

  it('names its origin and the topics its readers read; a new topic is written at the next wait, which lingers', async () => {
    const { pool, sent, values } = recordingPool();
    const row = new WaiterRow(pool, 'p', 3_000, 'o1');
    row.read(['b.x', 'a.x']);
    expect(row.live).toBe(false);
    await row.markWaiting({});
    expect(values.at(-1)).toEqual(['p', 3_000, 'o1', ['a.x', 'b.x']]);
    expect(row.live).toBe(true); // this process's own commits ring its readers in-process now
    row.read(['a.x']);
    await row.markWaiting({});
    expect(sent).toEqual(['INSERT']); // nothing new to write within half the TTL
    row.read(['c.x']);
    expect(await row.markWaiting({})).toBe(false); // a producer of c.x may have checked the row without it
    expect(sent).toEqual(['INSERT', 'INSERT']);
    expect(values.at(-1)?.[3]).toEqual(['a.x', 'b.x', 'c.x']);
    // A topic added while a write is on its way: that write did not carry it, so the wait writes again.
    row.read(['d.x']);
    const writing = row.markWaiting({}); // its INSERT is sent now, with d.x
    row.read(['e.x']);
    expect(await writing).toBe(false);
    expect(sent).toHaveLength(4);
    expect(values.at(-1)?.[3]).toEqual(['a.x', 'b.x', 'c.x', 'd.x', 'e.x']);
    const release = row.read([]); // a reader of every topic
    await row.markWaiting({});
    expect(values.at(-1)?.[3]).toBeNull();
    release(); // it stopped: the next write names the topics of the readers left
    await row.markWaiting({});
    expect(sent).toHaveLength(5); // not at once: producers ring for every topic a little longer
    await row.remove();
    await row.markWaiting({});
    expect(sent.slice(5)).toEqual(['DELETE', 'INSERT']);
    expect(values.at(-1)?.[3]).toEqual(['a.x', 'b.x', 'c.x', 'd.x', 'e.x']);
  });
});
