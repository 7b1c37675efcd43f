import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { withTransaction } from '../db.ts';
import { useTestDatabase } from '../testing/vitest.ts';
import { defineEvent, type BusEvent, type EventContract } from './contract.ts';
import { envelope, publishMany } from './publish.ts';
import { Collector, eventually, useBuses } from './testing.ts';

const db = await useTestDatabase();
const harness = useBuses(db);

type Counted = BusEvent<string, { n: number }>;

const payload = z.object({ n: z.number().int() });
const downEvent = defineEvent({ topic: 'test.down.written', payload });
const killEvent = defineEvent({ topic: 'test.kill.written', payload });
const manyEvent = defineEvent({ topic: 'test.shared.written', payload });

async function produce(contract: EventContract<string, typeof payload>, from: number, count: number): Promise<void> {
  const pool = harness.servicePool('registry');
  await withTransaction(pool, (tx) =>
    publishMany(
      tx,
      Array.from({ length: count }, (_, i) => envelope(contract, { n: from + i })),
    ),
  );
}

async function backendsNamed(applicationName: string): Promise<Array<{ pid: number; query: string }>> {
  const client = new pg.Client({ connectionString: db.adminUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number; query: string }>(
      `SELECT pid, query FROM pg_stat_activity WHERE datname = $1 AND application_name = $2`,
      [db.name, applicationName],
    );
    return rows;
  } finally {
    await client.end();
  }
}

function countById(events: readonly Counted[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const event of events) counts.set(event.id, (counts.get(event.id) ?? 0) + 1);
  return counts;
}

describe('delivery', () => {
  it('loses nothing written while the consumer group is down, and repeats nothing after a restart', async () => {
    await produce(downEvent, 0, 150); // before the group ever ran
    const first = await harness.startBus();
    const seen = new Collector<Counted>();
    first.bus.consume({ group: 'test.down', events: [downEvent], batchSize: 40, handler: (event) => seen.push(event) });
    await seen.waitFor(150, 15_000, 'events written before the group started');
    await first.bus.stop();

    await produce(downEvent, 150, 150); // while it is down
    const second = await harness.startBus();
    second.bus.consume({ group: 'test.down', events: [downEvent], batchSize: 40, handler: (event) => seen.push(event) });
    await seen.waitFor(300, 15_000, 'events written while the group was down');
    expect(new Set(seen.items.map((event) => event.payload.n)).size).toBe(300);
    expect([...countById(seen.items).values()].every((count) => count === 1)).toBe(true);
  });

  it('reconnects when its LISTEN connection is killed mid-stream and catches up from the table', async () => {
    // A one-minute sweep: only the doorbell or the reconnect can deliver within the test's bounds.
    const { bus, applicationName } = await harness.startBus({ config: { sweepMs: 60_000, waiterTtlMs: 120_000 } });
    const seen = new Collector<Counted>();
    bus.consume({ group: 'test.kill', events: [killEvent], handler: (event) => seen.push(event) });
    await produce(killEvent, 0, 50);
    await seen.waitFor(50, 15_000, 'events before the kill');

    const [listener] = await backendsNamed(applicationName);
    expect(listener).toBeDefined();
    const admin = new pg.Client({ connectionString: db.adminUrl });
    await admin.connect();
    try {
      const producing = (async () => {
        for (let round = 0; round < 5; round++) await produce(killEvent, 50 + round * 30, 30);
      })();
      await admin.query('SELECT pg_terminate_backend($1)', [listener?.pid]);
      await producing;
    } finally {
      await admin.end();
    }
    await seen.waitFor(200, 15_000, 'events written around the kill');
    expect([...countById(seen.items).values()].every((count) => count === 1)).toBe(true);
    const [again] = await eventually(
      async () => {
        const rows = await backendsNamed(applicationName);
        return rows.length === 1 && rows[0]?.pid !== listener?.pid && bus.status().listening ? rows : undefined;
      },
      { what: 'a new LISTEN connection' },
    );
    expect(again?.pid).not.toBe(listener?.pid);

    // And the doorbell works on the new connection.
    await produce(killEvent, 200, 10);
    await seen.waitFor(210, 15_000, 'events after the reconnect');
  });

  it('keeps exactly one LISTEN connection per process, however many consumers and readers', async () => {
    const { bus, applicationName } = await harness.startBus();
    const seen = new Collector<string>();
    for (const name of ['one', 'two', 'three']) {
      bus.consume({ group: `test.shared-${name}`, events: [manyEvent], handler: () => seen.push(name) });
    }
    const readers = await Promise.all(
      [1, 2].map(() => bus.broadcast({ events: [manyEvent], handler: (events) => seen.push(...events.map(() => 'reader')) })),
    );
    await bus.ephemeral.subscribe('test-a', () => undefined);
    await bus.ephemeral.subscribe('test-b', () => undefined);
    await produce(manyEvent, 0, 20);
    await seen.waitFor(100, 15_000, 'deliveries to 3 groups and 2 readers');
    expect(await backendsNamed(applicationName)).toHaveLength(1);
    expect(bus.status()).toMatchObject({ started: true, listening: true, broadcastReaders: 2 });
    expect(
      bus
        .status()
        .consumers.map((consumer) => consumer.group)
        .sort(),
    ).toEqual(['test.shared-one', 'test.shared-three', 'test.shared-two']);
    await Promise.all(readers.map((reader) => reader.stop()));
  });
});
