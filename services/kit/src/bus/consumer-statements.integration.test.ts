import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { Pool } from '../db.ts';
import { useTestDatabase } from '../testing/vitest.ts';
import { defineEvent } from './contract.ts';
import { publish } from './publish.ts';
import { Collector, useBuses } from './testing.ts';

const db = await useTestDatabase();
const harness = useBuses(db);
const work = defineEvent({ topic: 'test.quiet.done', payload: z.object({ n: z.number().int() }) });
const flaky = defineEvent({ topic: 'test.unparked.done', payload: z.object({ n: z.number().int() }) });

/** What a group's pool was sent from now on: its lease-and-reads (with what each found) and its looks for parked events. */
function watch(pool: Pool) {
  const seen = { reads: 0, emptyReads: 0, parkedLooks: 0 };
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<{ rows: Array<Record<string, unknown>> }>;
  (pool as unknown as { query: (...args: unknown[]) => unknown }).query = async (...args: unknown[]) => {
    const config = args[0];
    const text = typeof config === 'string' ? config : (config as { text: string }).text;
    const result = await query(...args);
    if (text.includes('bus.lease_and_read')) {
      seen.reads++;
      // Found nothing, and nothing was held back by another test file's open transaction (ADR 0001).
      if (result.rows.every((row) => row.leased_partition === null) && result.rows[0]?.held !== true) seen.emptyReads++;
    } else if (text.includes('bus.parked')) seen.parkedLooks++;
    return result;
  };
  return seen;
}

describe("a consumer group's statements", () => {
  it('at low load, read once per event: the end of a batch that held everything there was needs no read of its own', async () => {
    // A long sweep, so every read in the window comes from a ring or a batch's end.
    const { bus, pool } = await harness.startBus({ config: { sweepMs: 5_000, waiterTtlMs: 12_000 } });
    const handled = new Collector<number>();
    bus.consume({ group: 'test.quiet', events: [work], handler: (event) => handled.push(event.payload.n) });
    const producer = harness.servicePool('registry');
    // The group idles and marks the process as waiting; a second later the mark has settled (no linger reads).
    await publish(producer, work, { n: 0 });
    await handled.waitFor(1);
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    const seen = watch(pool);
    const events = 10;
    for (let n = 1; n <= events; n++) {
      await publish(producer, work, { n });
      await handled.waitFor(n + 1);
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
    expect(handled.items).toEqual([...Array(events + 1).keys()]);
    // Each event: its ring's read, which leased it. The read after its batch found nothing before (one per event).
    expect(seen.emptyReads).toBeLessThanOrEqual(2);
    expect(seen.reads - seen.emptyReads).toBeGreaterThanOrEqual(events);
  });

  it('while nothing is parked, send no statement looking for parked events, and retry a failed event at once', async () => {
    const { bus, pool } = await harness.startBus({ config: { sweepMs: 100 } });
    const seen = watch(pool);
    const attempts = new Collector<number>();
    bus.consume({
      group: 'test.unparked',
      events: [flaky],
      maxAttempts: 5,
      handler: (event, { attempt }) => {
        if (event.payload.n === 2 && attempt === 1) throw new Error('fails once');
        attempts.push(event.payload.n);
      },
    });
    // Ten sweeps of the idle group: its reads, and one first look for parked events at start.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(seen.reads).toBeGreaterThanOrEqual(5);
    expect(seen.parkedLooks).toBeLessThanOrEqual(2);
    const looksBefore = seen.parkedLooks;
    const producer = harness.servicePool('registry');
    await publish(producer, flaky, { n: 2 });
    await attempts.waitFor(1, 5_000, 'the retried event');
    expect(attempts.items).toEqual([2]);
    expect(seen.parkedLooks).toBeGreaterThan(looksBefore);
  });
});
