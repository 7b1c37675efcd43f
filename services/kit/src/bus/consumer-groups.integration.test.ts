import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { withTransaction } from '../db.ts';
import { useTestDatabase } from '../testing/vitest.ts';
import { defineEvent, type BusEvent } from './contract.ts';
import { envelope, publish, publishMany } from './publish.ts';
import { Collector, useBuses } from './testing.ts';

const db = await useTestDatabase();
const harness = useBuses(db);

const payload = z.object({ n: z.number().int() });
const shared = defineEvent({ topic: 'test.shared.work', payload });
const crash = defineEvent({ topic: 'test.crash.work', payload });
const slow = defineEvent({ topic: 'test.slow.work', payload });
const graceful = defineEvent({ topic: 'test.graceful.work', payload });

describe('consumer groups', () => {
  it('share the work between instances, never both processing one event, keeping per-key order', async () => {
    const handled: Array<{ instance: string; event: BusEvent<string, { n: number }> }> = [];
    const done = new Collector<string>();
    const instances = await Promise.all(['a', 'b'].map((name) => harness.startBus({ name })));
    for (const [i, { bus }] of instances.entries()) {
      bus.consume({
        group: 'test.competing',
        events: [shared],
        batchSize: 50,
        handler: async (event) => {
          handled.push({ instance: String(i), event });
          await new Promise((resolve) => setImmediate(resolve));
          done.push(event.id);
        },
      });
    }
    const pool = harness.servicePool('registry');
    const total = 2_000;
    for (let tx = 0; tx < 20; tx++) {
      await withTransaction(pool, (client) =>
        publishMany(
          client,
          Array.from({ length: 100 }, (_, i) => {
            const n = tx * 100 + i;
            return envelope(shared, { n }, { key: `key-${n % 150}` });
          }),
        ),
      );
    }
    await done.waitFor(total, 25_000, 'events handled by the group');

    const counts = new Map<string, number>();
    for (const { event } of handled) counts.set(event.id, (counts.get(event.id) ?? 0) + 1);
    expect(counts.size).toBe(total);
    expect([...counts.values()].filter((count) => count !== 1)).toEqual([]);
    expect(new Set(handled.map((h) => h.instance))).toEqual(new Set(['0', '1']));

    const lastByKey = new Map<string, number>();
    for (const { event } of handled) {
      expect(event.payload.n).toBeGreaterThan(lastByKey.get(event.key) ?? -1);
      lastByKey.set(event.key, event.payload.n);
    }
  });

  it('re-delivers an event whose handler was running when its process died, once the lease expired', async () => {
    const pool = harness.servicePool('registry');
    const fixture = fileURLToPath(new URL('./fixtures/hanging-consumer.ts', import.meta.url));
    const child = spawn(process.execPath, [fixture, db.urlFor('runner'), 'test.crash', crash.topic, '1000'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout });
    const lineMatching = (pattern: RegExp) =>
      new Promise<RegExpMatchArray>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the child never printed ${pattern}`)), 20_000);
        lines.on('line', (line) => {
          const match = pattern.exec(line);
          if (match) {
            clearTimeout(timer);
            resolve(match);
          }
        });
      });
    let publishedId: string | undefined;
    try {
      await lineMatching(/^ready$/);
      const published = await publish(pool, crash, { n: 1 });
      publishedId = published.id;
      const [, handling] = await lineMatching(/^handling (\S+)$/);
      expect(handling).toBe(published.id);
    } finally {
      child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
    }
    const { rows } = await pool.query<{ lease_expires_at: Date }>(
      `SELECT lease_expires_at FROM bus.cursors WHERE group_name = 'test.crash' AND lease_owner IS NOT NULL`,
    );
    expect(rows).toHaveLength(1); // the dead process still holds the lease
    const expiry = rows[0]?.lease_expires_at;

    const { bus, pool: survivorPool } = await harness.startBus({ name: 'survivor' });
    const redelivered = new Collector<{ id: string; afterExpiry: boolean }>();
    bus.consume({
      group: 'test.crash',
      events: [crash],
      handler: async (event) => {
        const { rows: clock } = await survivorPool.query<{ expired: boolean }>(`SELECT now() >= $1 AS expired`, [expiry]);
        redelivered.push({ id: event.id, afterExpiry: clock[0]?.expired === true });
      },
    });
    const [again] = await redelivered.waitFor(1, 15_000, 'the re-delivery');
    expect(again).toEqual({ id: publishedId, afterExpiry: true });
  });

  it('extends the lease while a slow handler runs, so another instance does not take the batch', async () => {
    const leaseMs = 600;
    const handled = new Collector<string>();
    const instances = await Promise.all(['slow-a', 'slow-b'].map((name) => harness.startBus({ name, config: { leaseMs } })));
    for (const { bus } of instances) {
      bus.consume({
        group: 'test.slow',
        events: [slow],
        handler: async (event) => {
          handled.push(event.id);
          if (event.payload.n === 0) await new Promise((resolve) => setTimeout(resolve, leaseMs * 3)); // slow on purpose
        },
      });
    }
    const pool = harness.servicePool('registry');
    await publish(pool, slow, { n: 0 }, { key: 'slow' });
    await publish(pool, slow, { n: 1 }, { key: 'slow' });
    await handled.waitFor(2, 15_000, 'both events');
    // Without the extension the other instance would take the partition after 600 ms and run event 0 again.
    expect(new Set(handled.items).size).toBe(2);
  });

  it('on stop, finishes the running handler, moves the cursor past it and releases the partition', async () => {
    const first = await harness.startBus({ name: 'graceful-a' });
    const handled = new Collector<{ instance: string; n: number }>();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    first.bus.consume({
      group: 'test.graceful',
      events: [graceful],
      handler: async (event) => {
        handled.push({ instance: 'a', n: event.payload.n });
        await gate;
      },
    });
    const pool = harness.servicePool('registry');
    await withTransaction(pool, (tx) =>
      publishMany(
        tx,
        [0, 1, 2, 3].map((n) => envelope(graceful, { n }, { key: 'one-key' })),
      ),
    );
    await handled.waitFor(1, 15_000, 'the first event');
    const stopping = first.bus.stop();
    release();
    await stopping;
    const { rows } = await pool.query<{ leased: number }>(
      `SELECT count(*)::int AS leased FROM bus.cursors WHERE group_name = 'test.graceful' AND lease_owner IS NOT NULL`,
    );
    expect(rows[0]?.leased).toBe(0);

    const second = await harness.startBus({ name: 'graceful-b' });
    second.bus.consume({
      group: 'test.graceful',
      events: [graceful],
      handler: (event) => handled.push({ instance: 'b', n: event.payload.n }),
    });
    await handled.waitFor(4, 15_000, 'the rest, on the second instance');
    expect(handled.items).toEqual([
      { instance: 'a', n: 0 },
      { instance: 'b', n: 1 },
      { instance: 'b', n: 2 },
      { instance: 'b', n: 3 },
    ]);
  });
});
