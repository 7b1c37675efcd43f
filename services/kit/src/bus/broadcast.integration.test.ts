import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { withTransaction } from '../db.ts';
import { useTestDatabase } from '../testing/vitest.ts';
import { headPosition, PositionAheadError, PositionExpiredError, positionStatus } from './broadcast.ts';
import { defineEvent, type BusEvent } from './contract.ts';
import { InvalidPositionError, parsePosition } from './position.ts';
import { envelope, publishMany } from './publish.ts';
import { runRetention } from './retention.ts';
import { Collector, eventually, useBuses } from './testing.ts';

const db = await useTestDatabase();
const harness = useBuses(db);

const tick = defineEvent({ topic: 'test.broadcast.ticked', payload: z.object({ n: z.number().int() }) });
const other = defineEvent({ topic: 'test.broadcast.other', payload: z.object({ n: z.number().int() }) });

async function produce(from: number, count: number): Promise<void> {
  const pool = harness.servicePool('registry');
  await withTransaction(pool, (tx) =>
    publishMany(tx, [
      ...Array.from({ length: count }, (_, i) => envelope(tick, { n: from + i })),
      envelope(other, { n: -1 }), // a topic the readers do not ask for
    ]),
  );
}

describe('broadcast readers', () => {
  it('see every event exactly once in order, from a position, across a LISTEN kill and a restart from the saved position', async () => {
    const { bus, applicationName } = await harness.startBus({ config: { sweepMs: 60_000, waiterTtlMs: 120_000 } });
    // The start: the exact position of the 10th event ('now' would be commit-safe but may include
    // a few events that committed just before, while another transaction in the cluster is open).
    const before = new Collector<BusEvent<string, { n: number }>>();
    const origin = await bus.broadcast({ from: '0-0', events: [tick], handler: (events) => before.push(...events) });
    await produce(0, 10);
    const start = (await before.waitFor(10))[9]?.position ?? '';
    await origin.stop();
    const first = new Collector<BusEvent<string, { n: number }>>();
    const second = new Collector<BusEvent<string, { n: number }>>();
    const readerA = await bus.broadcast({
      from: start,
      events: [tick],
      batchSize: 7,
      handler: (events) => first.push(...events),
    });
    const readerB = await bus.broadcast({ from: start, events: [tick], handler: (events) => second.push(...events) });

    await produce(10, 20);
    await first.waitFor(20, 15_000, 'events for reader A');
    const admin = new pg.Client({ connectionString: db.adminUrl });
    await admin.connect();
    try {
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2`, [
        db.name,
        applicationName,
      ]);
    } finally {
      await admin.end();
    }
    await produce(30, 20);
    await first.waitFor(40, 15_000, 'events for reader A after the kill');
    await second.waitFor(40, 15_000, 'events for reader B after the kill');

    await readerA.stop(); // a client disconnects and comes back with its last position
    const resumed = await bus.broadcast({ from: readerA.position, events: [tick], handler: (events) => first.push(...events) });
    await produce(50, 10);
    await first.waitFor(50, 15_000, 'events for the resumed reader');
    await second.waitFor(50, 15_000, 'events for reader B');

    const expected = Array.from({ length: 50 }, (_, i) => i + 10);
    expect(first.items.map((event) => event.payload.n)).toEqual(expected);
    expect(second.items.map((event) => event.payload.n)).toEqual(expected);
    expect(first.items.map((event) => event.id)).toEqual(second.items.map((event) => event.id));
    expect(new Set(first.items.map((event) => event.position)).size).toBe(50);
    await Promise.all([resumed.stop(), readerB.stop()]);
  });

  it('resumes from the position of any delivered event (the SSE Last-Event-ID)', async () => {
    const { bus } = await harness.startBus();
    const from = await headPosition(harness.servicePool());
    const all = new Collector<BusEvent<string, { n: number }>>();
    const reader = await bus.broadcast({
      from,
      events: [tick],
      handler: (events) => all.push(...events.filter((event) => event.payload.n >= 100)), // 'now' may include a few earlier ones
    });
    await produce(100, 5);
    const events = await all.waitFor(5);
    await reader.stop();
    const rest = new Collector<BusEvent<string, { n: number }>>();
    const again = await bus.broadcast({ from: events[1]?.position, events: [tick], handler: (batch) => rest.push(...batch) });
    await rest.waitFor(3);
    expect(rest.items.map((event) => event.payload.n)).toEqual([102, 103, 104]);
    await again.stop();
  });

  it('rejects a malformed position and tells a position older than retention apart (resync)', async () => {
    const { bus } = await harness.startBus();
    await expect(bus.broadcast({ from: 'not-a-position', handler: () => undefined })).rejects.toThrow(InvalidPositionError);
    await expect(bus.broadcast({ from: '1-2-3', handler: () => undefined })).rejects.toThrow(InvalidPositionError);

    const pool = harness.servicePool();
    const old = await headPosition(pool);
    await produce(200, 3);
    expect(await positionStatus(pool, old)).toBe('ok');
    const admin = new pg.Client({ connectionString: db.adminUrl });
    await admin.connect();
    try {
      await admin.query(`UPDATE bus.outbox SET created_at = now() - interval '30 days'`);
    } finally {
      await admin.end();
    }
    // Retention only deletes below xmin: another test's open transaction may hold it back a moment.
    // It may first delete only earlier tests' events (older than `old`), so run it until `old` is behind.
    await eventually(
      async () => {
        await runRetention(pool, { maxAgeMs: 24 * 3_600_000 });
        return (await positionStatus(pool, old)) === 'expired' ? true : undefined;
      },
      { what: 'retention to delete the aged events after the old position' },
    );
    await expect(bus.broadcast({ from: old, handler: () => undefined })).rejects.toThrow(PositionExpiredError);
    expect(await positionStatus(pool, await headPosition(pool))).toBe('ok');
  });

  it('tells a position past the head (a restored database) apart: a reader from it would wait silently', async () => {
    const { bus } = await harness.startBus();
    const pool = harness.servicePool();
    await produce(300, 1);
    const head = await headPosition(pool);
    // The head itself (a stream's starting id) is fine; one past it was never given out.
    expect(await positionStatus(pool, head)).toBe('ok');
    const ahead = `${parsePosition(head).txid + 1000n}-1`;
    expect(await positionStatus(pool, ahead)).toBe('ahead');
    await expect(bus.broadcast({ from: ahead, handler: () => undefined })).rejects.toThrow(PositionAheadError);
  });
});
