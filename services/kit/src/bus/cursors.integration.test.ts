import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createPool } from '../db.ts';
import { useTestDatabase } from '../testing/vitest.ts';
import { defineEvent } from './contract.ts';
import * as cursors from './cursors.ts';
import { publish } from './publish.ts';

const db = await useTestDatabase();
const work = defineEvent({ topic: 'test.cursor.work', payload: z.object({ n: z.number().int() }) });

describe('a group’s lease and cursor move', () => {
  it('commit without waiting for the disk, and leave the connection committing synchronously for what comes next', async () => {
    // One connection, so the statements after the lease and the move run on the connection they ran on.
    const pool = createPool({ connectionString: db.urlFor('runner'), applicationName: 'test-cursors', max: 1 });
    try {
      await cursors.register(pool, 'test.cursor-commit', [work.topic], 'beginning');
      await publish(pool, work, { n: 1 }, { key: 'k' });
      const setting = async () =>
        (await pool.query<{ s: string }>("SELECT current_setting('synchronous_commit') AS s")).rows[0]?.s;

      // Inside a transaction of the test's, to see the setting the statement leaves to its transaction's commit.
      // Another test file's open transaction can hold the event back (ADR 0001) for a moment: look again then.
      const client = await pool.connect();
      let leased: Awaited<ReturnType<typeof cursors.acquireAndRead>> | undefined;
      try {
        for (let look = 0; look < 200 && !leased; look++) {
          await client.query('BEGIN');
          const read = await cursors.acquireAndRead(client, {
            group: 'test.cursor-commit',
            topics: [work.topic],
            limit: 4,
            owner: 'test',
            leaseMs: 30_000,
            batchSize: 10,
          });
          const setting = (await client.query<{ s: string }>("SELECT current_setting('synchronous_commit') AS s")).rows[0]?.s;
          if (read.batches.length > 0) {
            expect(setting).toBe('off');
            leased = read;
          } else await new Promise((resolve) => setTimeout(resolve, 25));
          await client.query('COMMIT');
        }
      } finally {
        client.release();
      }
      if (!leased) throw new Error('the event was never leased');
      const { batches } = leased;
      expect(batches).toHaveLength(1);
      const [batch] = batches;
      if (!batch) throw new Error('no batch leased');
      expect(batch.read.rows.map((row) => row.payload)).toEqual([{ n: 1 }]);
      expect(await setting()).toBe('on');

      const moved = await cursors.complete(pool, {
        group: 'test.cursor-commit',
        lease: batch.lease,
        position: batch.read.next,
        parks: [],
        backoff: { baseMs: 1_000, maxMs: 10_000 },
      });
      expect(moved).toBe(true);
      expect(await setting()).toBe('on');

      // The move is committed (visible to everyone at once): nothing is left to lease.
      const again = await cursors.acquireAndRead(pool, {
        group: 'test.cursor-commit',
        topics: [work.topic],
        limit: 4,
        owner: 'test',
        leaseMs: 30_000,
        batchSize: 10,
      });
      expect(again.batches).toEqual([]);
    } finally {
      await pool.end();
    }
  });
});
