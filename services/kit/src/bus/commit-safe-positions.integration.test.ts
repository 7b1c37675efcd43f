import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { useTestDatabase } from '../testing/vitest.ts';
import { defineEvent, type BusEvent } from './contract.ts';
import * as outbox from './outbox.ts';
import { comparePositions, ORIGIN, parsePosition } from './position.ts';
import { publish } from './publish.ts';
import { Collector, useBuses } from './testing.ts';

const db = await useTestDatabase();
const harness = useBuses(db);

const payload = z.object({ label: z.string() });
const thing = defineEvent({ topic: 'test.gap.happened', payload });
const held = defineEvent({ topic: 'test.held.happened', payload });
const many = defineEvent({ topic: 'test.many.happened', payload });
const started = defineEvent({ topic: 'test.started.happened', payload });

/** A producer connection of another service (the registry), as in production. */
async function producer(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: db.urlFor('registry'), application_name: 'test-producer' });
  await client.connect();
  return client;
}

describe('commit-safe positions (the gap trap)', () => {
  it('delivers a lower id that commits after a higher id was already read, which an "id > last" reader loses', async () => {
    const { bus } = await harness.startBus();
    const seen = new Collector<string>();
    bus.consume({ group: 'test.gap-trap', events: [thing], handler: (event) => seen.push(event.payload.label) });
    const [a, b] = [await producer(), await producer()];
    try {
      // B takes its transaction id first, A inserts first: A has the lower row id, B the lower txid.
      await b.query('BEGIN');
      await b.query('SELECT pg_current_xact_id()');
      await a.query('BEGIN');
      await publish(a, thing, { label: 'A' });
      await publish(b, thing, { label: 'B' });
      await b.query('COMMIT');

      expect(await seen.waitFor(1, 15_000, 'event B')).toEqual(['B']);
      const { rows } = await a.query<{ label: string; id: string }>(
        `SELECT payload->>'label' AS label, id::text FROM bus.outbox ORDER BY id`,
      );
      // B was read while A (the lower id) was still open.
      expect(rows.map((row) => row.label)).toEqual(['A', 'B']);
      const naiveLast = (rows[1] as { id: string }).id;

      await a.query('COMMIT');
      expect(await seen.waitFor(2, 15_000, 'event A')).toEqual(['B', 'A']);
      const naive = await a.query(`SELECT id FROM bus.outbox WHERE id > $1`, [naiveLast]);
      expect(naive.rowCount).toBe(0); // the naive reader would never have seen A
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });

  it("starts a reader from 'now' after every event committed before it, even one an older open transaction holds back", async () => {
    const { bus } = await harness.startBus();
    const [older, other] = [await producer(), await producer()];
    try {
      await older.query('BEGIN');
      await older.query('SELECT pg_current_xact_id()'); // the head stays at this transaction while it is open
      await publish(other, started, { label: 'before' }); // commits before the reader starts, above the head
      const seen = new Collector<string>();
      const reader = await bus.broadcast({
        events: [started],
        handler: (events) => seen.push(...events.map((e) => e.payload.label)),
      });
      await publish(older, started, { label: 'open at the start' });
      await publish(other, started, { label: 'after' });
      await older.query('COMMIT');
      expect(await seen.waitFor(2, 15_000, 'the two later events')).toEqual(['open at the start', 'after']);
      await publish(other, started, { label: 'later still' });
      expect(await seen.waitFor(3, 15_000, 'one more')).toEqual(['open at the start', 'after', 'later still']);
      await reader.stop();
    } finally {
      await Promise.all([older.end(), other.end()]);
    }
  });

  it('holds back events committed after an older transaction that is still open, and delivers both in position order', async () => {
    const { bus, pool } = await harness.startBus();
    const broadcast = new Collector<BusEvent>();
    const reader = await bus.broadcast({ events: [held], handler: (events) => broadcast.push(...events) });
    const [older, newer] = [await producer(), await producer()];
    try {
      await older.query('BEGIN');
      await publish(older, held, { label: 'older' }, { key: 'k1' });
      await publish(newer, held, { label: 'newer' }, { key: 'k2' }); // autocommit: commits first
      const whileOpen = await outbox.readAfter(pool, { after: ORIGIN, topics: [held.topic], limit: 10 });
      expect(whileOpen.rows).toEqual([]); // committed, but behind the open older transaction
      await older.query('COMMIT');
      const events = await broadcast.waitFor(2, 15_000, 'both events');
      expect(events.map((event) => event.payload)).toEqual([{ label: 'older' }, { label: 'newer' }]);
      // The reader stands at or after its last event (it may move on to the snapshot's xmin).
      await reader.stop();
      expect(comparePositions(parsePosition(reader.position), parsePosition(events[1]?.position ?? ''))).toBeGreaterThanOrEqual(
        0,
      );
    } finally {
      await Promise.all([older.end(), newer.end()]);
    }
  });

  it('loses nothing when many producers commit in reverse id order, while a naive reader loses almost everything', async () => {
    const { bus } = await harness.startBus();
    const seen = new Collector<string>();
    bus.consume({ group: 'test.many-producers', events: [many], handler: (event) => seen.push(event.payload.label) });
    const clients = await Promise.all(Array.from({ length: 12 }, () => producer()));
    const admin = await producer();
    try {
      // Transaction ids in one order, row ids in another, commits in reverse row id order.
      const xidOrder = [5, 0, 9, 3, 11, 7, 1, 10, 2, 8, 4, 6];
      for (const i of xidOrder) {
        await clients[i]?.query('BEGIN');
        await clients[i]?.query('SELECT pg_current_xact_id()');
      }
      for (const [i, client] of clients.entries()) await publish(client, many, { label: `p${i}` });
      let naiveLast =
        (await admin.query<{ id: string }>(`SELECT coalesce(max(id), 0)::text AS id FROM bus.outbox`)).rows[0]?.id ?? '0';
      const naiveSeen: string[] = [];
      const committed: string[] = [];
      for (let i = clients.length - 1; i >= 0; i--) {
        const client = clients[i] as pg.Client;
        if (i === 4) {
          await client.query('ROLLBACK'); // one producer fails: its event must never appear
        } else {
          await client.query('COMMIT');
          committed.push(`p${i}`);
        }
        const { rows } = await admin.query<{ id: string; label: string }>(
          `SELECT id::text, payload->>'label' AS label FROM bus.outbox WHERE id > $1 ORDER BY id`,
          [naiveLast],
        );
        for (const row of rows) naiveSeen.push(row.label);
        if (rows.length > 0) naiveLast = (rows[rows.length - 1] as { id: string }).id;
      }
      await seen.waitFor(committed.length, 15_000, 'committed events');
      expect([...seen.items].sort()).toEqual([...committed].sort());
      expect(new Set(seen.items).size).toBe(seen.items.length);
      expect(naiveSeen).toEqual(['p11']);
    } finally {
      await Promise.all([...clients, admin].map((client) => client.end()));
    }
  });
});
