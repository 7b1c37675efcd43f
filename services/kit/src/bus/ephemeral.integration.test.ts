import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '../testing/vitest.ts';
import { chunkItems, EphemeralItemTooLargeError, NOTIFY_PAYLOAD_LIMIT } from './ephemeral.ts';
import { Collector, useBuses } from './testing.ts';

const db = await useTestDatabase();
const harness = useBuses(db);

interface Delta {
  task: string;
  seq: number;
  text: string;
}

describe('ephemeral streams', () => {
  it('sends a tick of items as a few NOTIFY payloads under 8,000 bytes each, received complete and in order', async () => {
    const producer = await harness.startBus({ name: 'ephemeral-producer', service: 'runner' });
    const consumer = await harness.startBus({ name: 'ephemeral-consumer', service: 'gateway' });
    const received = new Collector<Delta>();
    await consumer.bus.ephemeral.subscribe<Delta>('task-deltas', (items) => received.push(...items));

    const raw = new pg.Client({ connectionString: db.adminUrl });
    await raw.connect();
    const payloads: string[] = [];
    const SENTINEL = '{"n":-1,"items":[]}';
    const sentinel = new Promise<void>((resolve) => {
      raw.on('notification', (message) => {
        if (message.payload === SENTINEL) resolve();
        else payloads.push(message.payload ?? '');
      });
    });
    await raw.query(`LISTEN "llmops_eph:task-deltas"`);
    try {
      const deltas = Array.from({ length: 600 }, (_, seq): Delta => ({
        task: `t${seq % 7}`,
        seq,
        text: `token ${'é'.repeat(seq % 40)} ${seq}`,
      }));
      for (const delta of deltas) producer.bus.ephemeral.publish('task-deltas', delta); // all within one tick
      await received.waitFor(600, 15_000, 'deltas');
      expect(received.items).toEqual(deltas);
      // Sent after the producer's tick, so it arrives after all of the tick's payloads.
      await raw.query(`SELECT pg_notify('llmops_eph:task-deltas', $1)`, [SENTINEL]);
      await sentinel;

      const totalBytes = deltas.reduce((sum, delta) => sum + Buffer.byteLength(JSON.stringify(delta)), 0);
      expect(payloads.length).toBeGreaterThan(1);
      expect(payloads.length).toBeLessThanOrEqual(Math.ceil(totalBytes / 7_000) + 1); // full chunks, not one per item
      for (const payload of payloads) expect(Buffer.byteLength(payload)).toBeLessThan(NOTIFY_PAYLOAD_LIMIT);
    } finally {
      await raw.end();
    }
  });

  it('refuses an item that cannot fit one NOTIFY, and chunks exactly at the limit', async () => {
    const { bus } = await harness.startBus({ name: 'ephemeral-limits' });
    expect(() => bus.ephemeral.publish('task-deltas', { text: 'x'.repeat(9_000) })).toThrow(EphemeralItemTooLargeError);
    expect(() => bus.ephemeral.publish('Not A Channel', 1)).toThrow(/must be/);

    let sequence = 0;
    const items = Array.from({ length: 100 }, (_, i) => JSON.stringify({ i, pad: 'ü'.repeat(50) }));
    const chunks = chunkItems(items, 1_000, () => sequence++);
    for (const chunk of chunks) expect(Buffer.byteLength(chunk)).toBeLessThanOrEqual(1_000);
    expect(chunks.flatMap((chunk) => (JSON.parse(chunk) as { items: unknown[] }).items)).toEqual(
      items.map((item) => JSON.parse(item)),
    );
    expect(new Set(chunks).size).toBe(chunks.length); // distinct payloads: NOTIFY folds duplicates within a transaction
  });
});
