import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { withTransaction } from '../db.ts';
import { useTestDatabase } from '../testing/vitest.ts';
import { defineEvent } from './contract.ts';
import { envelope, publishMany } from './publish.ts';
import { runRetention } from './retention.ts';
import { Collector, eventually, useBuses } from './testing.ts';

const db = await useTestDatabase();
const harness = useBuses(db);

const payload = z.object({ key: z.string(), n: z.number().int() });
const kept = defineEvent({ topic: 'test.retention.kept', payload, key: (p) => p.key });
const unread = defineEvent({ topic: 'test.retention.unread', payload, key: (p) => p.key });

async function age(interval: string): Promise<void> {
  const admin = new pg.Client({ connectionString: db.adminUrl });
  await admin.connect();
  try {
    await admin.query(`UPDATE bus.outbox SET created_at = now() - $1::interval`, [interval]);
  } finally {
    await admin.end();
  }
}

const topicCounts = async (pool: pg.Pool) =>
  Object.fromEntries(
    (await pool.query<{ topic: string; n: number }>(`SELECT topic, count(*)::int AS n FROM bus.outbox GROUP BY topic`)).rows.map(
      (row) => [row.topic, row.n],
    ),
  );

describe('retention', () => {
  it('deletes old events every group has processed, keeps unprocessed and parked ones, one process at a time', async () => {
    const { bus, pool } = await harness.startBus();
    const handled = new Collector<string>();
    bus.consume({
      group: 'test.retention',
      events: [kept],
      maxAttempts: 1,
      handler: (event) => {
        if (event.payload.key === 'bad') throw new Error('parked forever');
        handled.push(`${event.payload.key}#${event.payload.n}`);
      },
    });
    await withTransaction(pool, (tx) =>
      publishMany(tx, [
        ...Array.from({ length: 20 }, (_, n) => envelope(kept, { key: `k${n}`, n })),
        envelope(kept, { key: 'bad', n: 0 }),
      ]),
    );
    await handled.waitFor(20);
    await eventually(async () =>
      (await pool.query(`SELECT 1 FROM bus.parked WHERE status = 'dead'`)).rowCount === 1 ? true : undefined,
    );
    // A group that reads `unread` but has not run since: a stopped consumer.
    const lagging = bus.consume({ group: 'test.retention-lagging', events: [unread], handler: () => undefined });
    await lagging.stop();
    await withTransaction(pool, (tx) =>
      publishMany(
        tx,
        Array.from({ length: 5 }, (_, n) => envelope(unread, { key: `u${n}`, n })),
      ),
    );
    await age('2 days');

    expect(await runRetention(pool, { maxAgeMs: 3 * 24 * 3_600_000 })).toEqual({ deleted: 0, skipped: false }); // not old enough

    const holder = new pg.Client({ connectionString: db.urlFor('gateway') });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock(7400010)'); // another process is running retention
      expect(await runRetention(pool, { maxAgeMs: 24 * 3_600_000 })).toEqual({ deleted: 0, skipped: true });
      await holder.query('ROLLBACK');
    } finally {
      await holder.end();
    }

    // Retention only deletes below xmin: another test's open transaction may hold it back a moment.
    let deleted = 0;
    await eventually(async () => {
      deleted += (await runRetention(pool, { maxAgeMs: 24 * 3_600_000, batchSize: 7 })).deleted;
      return deleted === 20 ? true : undefined;
    });
    expect(await topicCounts(pool)).toEqual({ [kept.topic]: 1, [unread.topic]: 5 }); // the parked one, the unread ones
  });
});
