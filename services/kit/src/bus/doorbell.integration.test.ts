import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { withTransaction, type Pool } from '../db.ts';
import { useTestDatabase } from '../testing/vitest.ts';
import { defineEvent } from './contract.ts';
import { DOORBELL_CHANNEL, doorbellSettled, ringerOf } from './doorbell.ts';
import { publish } from './publish.ts';
import { Collector, eventually, useBuses } from './testing.ts';

const db = await useTestDatabase();
const harness = useBuses(db);

const ping = defineEvent({ topic: 'test.doorbell.pinged', payload: z.object({ n: z.number() }) });
const pong = defineEvent({ topic: 'test.doorbell.ponged', payload: z.object({ n: z.number() }) });

/**
 * Notifications on the doorbell channel up to a sentinel sent after the producer committed. Notifications
 * arrive in commit order, so everything the producer's commit sent is in the list: no sleep needed.
 */
async function doorbellsDuring(producer: Pool, produce: () => Promise<void>): Promise<string[]> {
  const client = new pg.Client({ connectionString: db.adminUrl });
  await client.connect();
  try {
    const received: string[] = [];
    const sentinel = new Promise<void>((resolve) => {
      client.on('notification', (message) => {
        if (message.payload === 'sentinel') resolve();
        else received.push(message.payload ?? '');
      });
    });
    await client.query(`LISTEN ${DOORBELL_CHANNEL}`);
    await produce();
    await doorbellSettled(producer); // rings go out right after the commit, on the producer's pool
    await client.query(`SELECT pg_notify($1, 'sentinel')`, [DOORBELL_CHANNEL]);
    await sentinel;
    return received;
  } finally {
    await client.end();
  }
}

describe('the doorbell', () => {
  it('is not rung by producer transactions while no consumer waits', async () => {
    const pool = harness.servicePool('registry');
    const rings = await doorbellsDuring(pool, async () => {
      await withTransaction(pool, async (tx) => {
        for (let n = 0; n < 3; n++) await publish(tx, ping, { n });
      });
      await publish(pool, ping, { n: 3 });
    });
    expect(rings).toEqual([]);
  });

  it('is rung once per producer transaction while a consumer waits, and not after the bus stopped', async () => {
    const { bus } = await harness.startBus({ config: { sweepMs: 60_000, waiterTtlMs: 120_000 } });
    const seen = new Collector<number>();
    bus.consume({
      group: 'test.doorbell',
      events: [ping, pong], // a process waits for both: each rings
      startFrom: 'now', // commit-safe "now" may include the first test's events if another transaction is open
      handler: (event) => (event.topic === ping.topic && event.payload.n >= 10 ? seen.push(event.payload.n) : undefined),
    });
    const pool = harness.servicePool('registry');
    await eventually(
      async () => ((await pool.query(`SELECT 1 FROM bus.waiters WHERE expires_at > now()`)).rowCount ? true : undefined),
      {
        what: 'the consumer to wait',
      },
    );

    const sentBefore = ringerOf(pool).sent;
    // A ring names its origin, the producer's pool, then its events' topics.
    const ring = (topic: string) => `${ringerOf(pool).origin};${topic}`;
    const rings = await doorbellsDuring(pool, () =>
      withTransaction(pool, async (tx) => {
        for (let n = 10; n < 13; n++) await publish(tx, ping, { n });
      }),
    );
    // The ring names its events' topic: only readers of it wake.
    expect(rings).toEqual([ring(ping.topic)]);
    // On the leading edge the first publish NOTIFYed inside the transaction (its commit delivered it),
    // so no statement was sent after the commit.
    expect(ringerOf(pool).sent).toBe(sentBefore);
    // With a one-minute sweep, only the doorbell can have woken the consumer this soon.
    expect((await seen.waitFor(3, 15_000, 'rung events')).sort()).toEqual([10, 11, 12]);

    // A producer that commits outside withTransaction rings nothing; the sweep (here 60 s) would find its
    // events, and a transaction of withTransaction that rolls back rings nothing either.
    const client = await pool.connect();
    try {
      const silent = await doorbellsDuring(pool, async () => {
        await client.query('BEGIN');
        await publish(client, ping, { n: 1 });
        await client.query('COMMIT');
        await withTransaction(pool, async (tx) => {
          await publish(tx, ping, { n: 2 });
          throw new Error('rolled back');
        }).catch(() => undefined);
      });
      expect(silent).toEqual([]);
    } finally {
      client.release();
    }

    // In autocommit (the pool), the insert is its own transaction: rung right after it.
    expect(await doorbellsDuring(pool, () => publish(pool, ping, { n: 13 }).then(() => undefined))).toEqual([ring(ping.topic)]);
    expect((await seen.waitFor(4, 15_000, 'the autocommit event')).sort()).toEqual([10, 11, 12, 13]);

    // A transaction whose first statement rang inside for one topic rings after its commit for a topic
    // that ring did not name, and only for that one.
    const mixed = await doorbellsDuring(pool, () =>
      withTransaction(pool, async (tx) => {
        await publish(tx, ping, { n: 14 });
        await publish(tx, pong, { n: 1 });
        await publish(tx, ping, { n: 15 });
      }),
    );
    expect(mixed).toEqual([ring(ping.topic), ring(pong.topic)]);
    expect((await seen.waitFor(6, 15_000, 'the mixed transaction')).sort()).toEqual([10, 11, 12, 13, 14, 15]);

    await bus.stop();
    expect(await doorbellsDuring(pool, () => publish(pool, ping, { n: 20 }).then(() => undefined))).toEqual([]);
  });
});
