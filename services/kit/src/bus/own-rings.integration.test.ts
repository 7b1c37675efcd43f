import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { withTransaction, type Pool } from '../db.ts';
import { useTestDatabase } from '../testing/vitest.ts';
import { defineEvent } from './contract.ts';
import { DOORBELL_CHANNEL, doorbellSettled, ringerOf } from './doorbell.ts';
import { publish } from './publish.ts';
import { Collector, eventually, useBuses } from './testing.ts';

const db = await useTestDatabase();
const harness = useBuses(db);

const ping = defineEvent({ topic: 'test.own.pinged', payload: z.object({ n: z.number() }) });
const pong = defineEvent({ topic: 'test.own.ponged', payload: z.object({ n: z.number() }) });

// A one-minute sweep: only a ring, heard in-process or over NOTIFY, can wake a reader within a test.
const SLOW_SWEEP = { sweepMs: 60_000, waiterTtlMs: 120_000 };

/** Every payload on the doorbell channel, from a LISTEN connection of the test's own. */
let rings: string[] = [];
let listening: pg.Client;
beforeAll(async () => {
  listening = new pg.Client({ connectionString: db.adminUrl });
  await listening.connect();
  listening.on('notification', (message) => {
    if (message.channel === DOORBELL_CHANNEL) rings.push(message.payload ?? '');
  });
  await listening.query(`LISTEN ${DOORBELL_CHANNEL}`);
});
afterAll(() => listening.end());

/** Until a process other than `pool`'s waits for the doorbell for `topic`. */
async function someoneWaits(pool: Pool, topic: string): Promise<void> {
  await eventually(
    async () =>
      (
        await pool.query(`SELECT 1 FROM bus.waiters WHERE expires_at > now() AND $1 = ANY (topics) AND origin <> $2`, [
          topic,
          ringerOf(pool).origin,
        ])
      ).rowCount
        ? true
        : undefined,
    { what: `a reader of ${topic} to wait for the doorbell` },
  );
}

/** Every doorbell payload up to a sentinel sent now: notifications reach a LISTEN connection in commit order. */
async function ringsSoFar(): Promise<string[]> {
  await listening.query(`SELECT pg_notify($1, 'sentinel')`, [DOORBELL_CHANNEL]);
  await eventually(async () => (rings.includes('sentinel') ? true : undefined), { what: 'the sentinel' });
  return rings.filter((payload) => payload !== 'sentinel');
}

describe("a process's own rings", () => {
  it('wake its own readers in-process and other processes over NOTIFY, which names the origin', async () => {
    const a = await harness.startBus({ name: 'a', config: SLOW_SWEEP });
    const b = await harness.startBus({ name: 'b', config: SLOW_SWEEP });
    const inA = new Collector<number>();
    const inB = new Collector<number>();
    await a.bus.broadcast({ events: [ping], handler: (events) => inA.push(...events.map((e) => e.payload.n)) });
    await b.bus.broadcast({ events: [ping], handler: (events) => inB.push(...events.map((e) => e.payload.n)) });
    await someoneWaits(a.pool, ping.topic);
    rings = [];

    // A transaction whose first statement rings inside it (the leading edge), then one in autocommit.
    await withTransaction(a.pool, async (tx) => {
      await publish(tx, ping, { n: 1 });
      await publish(tx, ping, { n: 2 });
    });
    await publish(a.pool, ping, { n: 3 });

    expect(await inA.waitFor(3, 15_000, "a's own events, in a")).toEqual([1, 2, 3]);
    expect(await inB.waitFor(3, 15_000, "a's events, in b")).toEqual([1, 2, 3]);
    await doorbellSettled(a.pool);
    const origin = ringerOf(a.pool).origin;
    expect(origin).not.toBe(ringerOf(b.pool).origin);
    const heard = await ringsSoFar();
    expect(heard.length).toBeGreaterThan(0);
    for (const payload of heard) expect(payload).toBe(`${origin};${ping.topic}`);
  });

  it("are ignored when they come back, and a reader that wakes only for other processes' commits reads its own on their next ring", async () => {
    // No linger: a reader that goes idle reads once more after marking itself waiting, then waits.
    const a = await harness.startBus({ name: 'a', config: { ...SLOW_SWEEP, lingerMs: [] } });
    const b = await harness.startBus({ name: 'b', config: SLOW_SWEEP });
    const reads = countReads(a.pool);
    const inA = new Collector<number>();
    await a.bus.broadcast({
      events: [ping],
      wakeFor: 'others',
      handler: (events) => inA.push(...events.map((e) => e.payload.n)),
    });
    await b.bus.broadcast({ events: [ping], handler: () => undefined }); // b waits for ping: a's commits NOTIFY
    const sentinel = new Collector<unknown>();
    await a.bus.ephemeral.subscribe('test.own.sentinel', (items) => sentinel.push(...items));
    await someoneWaits(a.pool, ping.topic);
    // Its first read, then the one after marking itself waiting; then it sleeps until a ring or the sweep.
    await eventually(async () => (reads.done >= 2 && reads.running === 0 ? true : undefined), { what: 'the reader to wait' });
    rings = [];

    await publish(a.pool, ping, { n: 10 });
    await withTransaction(a.pool, (tx) => publish(tx, ping, { n: 11 }));
    await doorbellSettled(a.pool);
    // Notifications reach a LISTEN connection in commit order: once a's connection has the sentinel, it has
    // had its own rings too, and they woke nothing.
    const admin = harness.servicePool('runner');
    await admin.query(`SELECT pg_notify('llmops_eph:test.own.sentinel', '{"n":0,"items":[1]}')`);
    await sentinel.waitFor(1, 15_000, 'the sentinel');
    await new Promise((resolve) => setImmediate(resolve)); // a reader woken by a ring has sent its read by now
    expect((await ringsSoFar()).filter((payload) => payload.startsWith(`${ringerOf(a.pool).origin};`)).length).toBeGreaterThan(0);
    expect(reads.done + reads.running).toBe(2);
    expect(inA.items).toEqual([]);

    // Another process's commit wakes it: it reads its own events then, in order, and the other's.
    await publish(b.pool, ping, { n: 12 });
    expect(await inA.waitFor(3, 15_000, 'the events after the foreign ring')).toEqual([10, 11, 12]);
  });

  it('send no NOTIFY while no other process waits for their topics, and a producer elsewhere still rings', async () => {
    const c = await harness.startBus({ name: 'c', config: SLOW_SWEEP });
    const inC = new Collector<number>();
    await c.bus.broadcast({ events: [pong], handler: (events) => inC.push(...events.map((e) => e.payload.n)) });
    const elsewhere = harness.servicePool('registry'); // a producer of another process
    await someoneWaits(elsewhere, pong.topic);
    rings = [];

    await publish(c.pool, pong, { n: 1 });
    await withTransaction(c.pool, async (tx) => {
      await publish(tx, pong, { n: 2 });
      await publish(tx, pong, { n: 3 });
    });
    // Only c reads pong: its own reader hears the commits in-process, and nobody is sent a NOTIFY.
    expect(await inC.waitFor(3, 15_000, "c's own events")).toEqual([1, 2, 3]);
    await doorbellSettled(c.pool);
    expect(await ringsSoFar()).toEqual([]);

    rings = [];
    await publish(elsewhere, pong, { n: 4 });
    expect(await inC.waitFor(4, 15_000, 'the event from elsewhere')).toEqual([1, 2, 3, 4]);
    await doorbellSettled(elsewhere);
    expect(await ringsSoFar()).toEqual([`${ringerOf(elsewhere).origin};${pong.topic}`]);
  });
});

/** Counts the broadcast reads sent on `pool` (finished, and running now). */
function countReads(pool: Pool): { done: number; running: number } {
  const counts = { done: 0, running: 0 };
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  pool.query = ((config: unknown, ...rest: unknown[]) => {
    if ((config as { name?: string } | null)?.name !== 'llmops.bus.broadcast-read') return query(config, ...rest);
    counts.running++;
    return query(config, ...rest).finally(() => {
      counts.running--;
      counts.done++;
    });
  }) as typeof pool.query;
  return counts;
}
