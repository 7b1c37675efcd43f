import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { withTransaction } from '../db.ts';
import { useTestDatabase } from '../testing/vitest.ts';
import { defineEvent, type EventContract } from './contract.ts';
import { listDeadLetters, replay, skip } from './parked.ts';
import { envelope, publishMany } from './publish.ts';
import { Collector, eventually, useBuses } from './testing.ts';

const db = await useTestDatabase();
const harness = useBuses(db);

const payload = z.object({ key: z.string(), n: z.number().int() });
const ordered = defineEvent({ topic: 'test.order.changed', payload, key: (p) => p.key });
const doomed = defineEvent({ topic: 'test.dead.changed', payload, key: (p) => p.key });
const strict = defineEvent({ topic: 'test.strict.changed', payload, key: (p) => p.key });
const batched = defineEvent({ topic: 'test.batch.changed', payload, key: (p) => p.key });

const label = (p: { key: string; n: number }) => `${p.key}#${p.n}`;

async function produce(contract: EventContract<string, typeof payload>, events: Array<[string, number]>): Promise<void> {
  const pool = harness.servicePool('registry');
  await withTransaction(pool, (tx) =>
    publishMany(
      tx,
      events.map(([key, n]) => envelope(contract, { key, n })),
    ),
  );
}

async function parkedStatuses(group: string): Promise<string[]> {
  const pool = harness.servicePool('registry');
  const { rows } = await pool.query<{ label: string }>(
    `SELECT p.key || '#' || (o.payload->>'n') || ':' || p.status AS label
     FROM bus.parked p JOIN bus.outbox o ON o.id = p.outbox_id WHERE p.group_name = $1 ORDER BY o.txid, o.id`,
    [group],
  );
  return rows.map((row) => row.label);
}

describe('per-key order, retries and dead letters', () => {
  it('holds later events of a key while an earlier one is retrying; other keys keep flowing', async () => {
    const { bus } = await harness.startBus();
    let failing = true;
    const attempts = new Collector<number>();
    const handled = new Collector<string>();
    bus.consume({
      group: 'test.order',
      events: [ordered],
      maxAttempts: 100,
      handler: (event, { attempt }) => {
        if (label(event.payload) === 'k#1') {
          attempts.push(attempt);
          if (failing) throw new Error('downstream unavailable');
        }
        handled.push(label(event.payload));
      },
    });
    await produce(ordered, [
      ['k', 1],
      ['k', 2],
      ['other', 1],
      ['k', 3],
      ['other', 2],
      ['third', 1],
    ]);
    await handled.waitFor(3, 15_000, 'the events of the other keys');
    await attempts.waitFor(3, 15_000, 'retries of k#1'); // first delivery + two retries
    expect(attempts.items.slice(0, 3)).toEqual([1, 2, 3]);
    expect(handled.items.filter((item) => item.startsWith('k#'))).toEqual([]);
    expect(await parkedStatuses('test.order')).toEqual(['k#1:retrying', 'k#2:waiting', 'k#3:waiting']);

    failing = false;
    await handled.waitFor(6, 15_000, 'the key after its head succeeded');
    expect(handled.items.filter((item) => item.startsWith('k#'))).toEqual(['k#1', 'k#2', 'k#3']);
    expect(handled.items.filter((item) => item.startsWith('other#'))).toEqual(['other#1', 'other#2']);
    // The parked row goes in the bookkeeping right after the handler returns, so it may lag the handler a moment.
    await expect.poll(() => parkedStatuses('test.order')).toEqual([]);

    await produce(ordered, [['k', 4]]); // the key is free again: straight through
    await handled.waitFor(7, 15_000, 'a later event of the released key');
    expect(handled.items[6]).toBe('k#4');
  });

  it('dead-letters after max attempts and parks the key until replay or skip', async () => {
    const { bus } = await harness.startBus();
    const broken = new Set(['a#1', 'b#1']);
    const handled = new Collector<string>();
    bus.consume({
      group: 'test.dead',
      events: [doomed],
      maxAttempts: 2,
      handler: (event) => {
        if (broken.has(label(event.payload))) throw new Error(`cannot handle ${label(event.payload)}`);
        handled.push(label(event.payload));
      },
    });
    await produce(doomed, [
      ['a', 1],
      ['a', 2],
      ['b', 1],
      ['b', 2],
      ['c', 1],
    ]);
    const page = await eventually(
      async () => {
        const dead = await listDeadLetters(harness.servicePool('gateway'), { group: 'test.dead' });
        return dead.items.length === 2 ? dead : undefined;
      },
      { what: 'two dead letters' },
    );
    expect(page.items.map((item) => [label(item.payload as { key: string; n: number }), item.attempts, item.waiting])).toEqual([
      ['a#1', 2, 1],
      ['b#1', 2, 1],
    ]);
    expect(page.items[0]?.lastError).toContain('cannot handle a#1');
    // c is a key of its own: it may be handled in a later batch than the one that dead-lettered a and b.
    await handled.waitFor(1, 15_000, 'the event of the untouched key');
    expect(handled.items).toEqual(['c#1']);

    const gateway = harness.servicePool('gateway'); // replay and skip come over the gateway's HTTP API later
    const [a1, b1] = page.items;
    broken.delete('a#1');
    expect(await replay(gateway, 'test.dead', a1?.eventId ?? '')).toBe(true);
    expect(await skip(gateway, 'test.dead', b1?.eventId ?? '')).toBe(true);
    expect(await skip(gateway, 'test.dead', b1?.eventId ?? '')).toBe(false); // already gone
    await handled.waitFor(4, 15_000, 'the replayed and released events');
    expect(handled.items.filter((item) => item.startsWith('a#'))).toEqual(['a#1', 'a#2']);
    expect(handled.items.filter((item) => item.startsWith('b#'))).toEqual(['b#2']); // b#1 skipped, never handled
    expect((await listDeadLetters(gateway, { group: 'test.dead' })).items).toEqual([]);
  });

  it('dead-letters a payload that fails its contract at once, with the validation error, without calling the handler', async () => {
    const { bus, pool } = await harness.startBus();
    const handled = new Collector<string>();
    bus.consume({ group: 'test.strict', events: [strict], handler: (event) => handled.push(label(event.payload)) });
    // A producer with an older contract wrote n as a string (straight into the outbox, past publish()).
    await withTransaction(pool, async (tx) => {
      await tx.query(
        `INSERT INTO bus.outbox (event_id, topic, key, payload) VALUES (gen_random_uuid(), $1, 'v', '{"key":"v","n":"one"}')`,
        [strict.topic],
      );
      await publishMany(tx, [envelope(strict, { key: 'v', n: 2 }), envelope(strict, { key: 'w', n: 1 })]);
    });
    await handled.waitFor(1, 15_000, 'the valid event of another key');
    const dead = await eventually(async () => {
      const page = await listDeadLetters(pool, { group: 'test.strict' });
      return page.items.length === 1 ? page.items[0] : undefined;
    });
    expect(dead).toMatchObject({ attempts: 1, waiting: 1 });
    expect(dead?.lastError).toMatch(/does not match its contract/);
    expect(handled.items).toEqual(['w#1']);
  });

  it('runs a batch handler with whole batches and isolates the failing event when a batch throws', async () => {
    const { bus } = await harness.startBus();
    const batches: string[][] = [];
    const handled = new Collector<string>();
    bus.consume({
      group: 'test.batch',
      events: [batched],
      maxAttempts: 1,
      batchHandler: (events) => {
        batches.push(events.map((event) => label(event.payload)));
        if (events.some((event) => label(event.payload) === 'x#2')) throw new Error('x#2 is bad');
        handled.push(...events.map((event) => label(event.payload)));
      },
    });
    await produce(
      batched,
      Array.from({ length: 40 }, (_, i): [string, number] => ['x', i]),
    );
    await handled.waitFor(2, 15_000, 'the events before the bad one');
    const dead = await eventually(async () => {
      const page = await listDeadLetters(harness.servicePool('gateway'), { group: 'test.batch' });
      return page.items.length === 1 ? page.items[0] : undefined;
    });
    expect(dead).toMatchObject({ attempts: 1, waiting: 37 });
    expect(batches[0]?.length).toBe(40); // one partition's batch, in one call
    expect(handled.items).toEqual(['x#0', 'x#1']);
  });
});
