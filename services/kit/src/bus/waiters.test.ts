import { describe, expect, it } from 'vitest';
import type { Pool } from '../db.ts';
import { WaiterRow } from './waiters.ts';

/** A pool that records the statements it is sent (the waiter row's INSERT and DELETE) and answers at once. */
function recordingPool() {
  const sent: string[] = [];
  const pool = {
    query: async (text: string) => {
      sent.push(text.trim().split(/\s+/)[0] as string);
      return { rows: [], rowCount: 1 };
    },
  } as unknown as Pool;
  return { pool, sent };
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
});
