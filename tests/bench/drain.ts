// 2. Drain: a backlog of 20,000 events, then one consumer group with 1 and with 4 instances.
import { envelope, publishMany, type Envelope } from '@llmops/kit/bus/index';
import { withTransaction } from '@llmops/kit/db';
import { startConsumers } from './consumers.ts';
import { backlogJobs, graphileUtils, startGraphile, type GraphileOptions } from './graphile.ts';
import {
  atLeast,
  drainEvent,
  fmt,
  fmtRate,
  mean,
  servicePool,
  sized,
  within,
  type BenchResult,
  type BenchServer,
} from './lib.ts';

/** The backlog (smaller in a quick run). */
const SIZE = {
  get events() {
    return sized(20_000, 4_000);
  },
};
const PER_TRANSACTION = 1_000;
const TARGET = 20_000;
const ANCHOR_BEFORE = { defaults: 2_500, batched: 26_000 };

interface Drained {
  name: string;
  seconds: number;
  /** Mean handler batch size (bus). */
  batch?: number;
  /** Queries of the bus per 500 events (one full batch) while draining. */
  queriesPerBatch?: number;
}

async function busDrain(server: BenchServer): Promise<Drained[]> {
  const db = await server.busDatabase();
  const pool = servicePool(db, 'bench-drain-producer', 4);
  try {
    for (let start = 0; start < SIZE.events; start += PER_TRANSACTION) {
      const envelopes: Envelope[] = [];
      for (let n = start; n < start + PER_TRANSACTION; n++) envelopes.push(envelope(drainEvent, { n, note: 'bench' }));
      await withTransaction(pool, (tx) => publishMany(tx, envelopes));
    }
    await pool.query('VACUUM ANALYZE bus.outbox').catch(() => undefined); // as autovacuum would have, given the time
    const results: Drained[] = [];
    for (const instances of [1, 4]) {
      // Each run is a new group reading the same backlog from the beginning.
      const consumers = await startConsumers(
        { url: db.urlFor('runner'), group: `bench.drain-${instances}`, topic: 'drain', startFrom: 'beginning' },
        instances,
      );
      try {
        const started = performance.now();
        consumers.go();
        await consumers.waitFor(SIZE.events, 120_000);
        const seconds = (performance.now() - started) / 1_000;
        results.push({
          name: `bus, ${instances} instance${instances > 1 ? 's (processes)' : ' (process)'}`,
          seconds,
          batch: mean(consumers.batches),
          queriesPerBatch: (consumers.queries * 500) / SIZE.events,
        });
      } finally {
        await consumers.stop();
      }
    }
    return results;
  } finally {
    await pool.end();
  }
}

async function graphileDrain(server: BenchServer, name: string, options: GraphileOptions): Promise<Drained> {
  const { url } = await server.emptyDatabase();
  const utils = await graphileUtils(url);
  let done = 0;
  let finished: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (finished = resolve));
  try {
    await backlogJobs(utils, 'drain', SIZE.events, PER_TRANSACTION);
    const started = performance.now();
    const runner = await startGraphile(
      url,
      {
        drain: () => {
          if (++done === SIZE.events) finished();
        },
      },
      options,
    );
    try {
      await within(all, 180_000, `graphile-worker to run ${SIZE.events} jobs (${name})`);
      return { name, seconds: (performance.now() - started) / 1_000 };
    } finally {
      await runner.stop();
    }
  } finally {
    await utils.release();
  }
}

export async function drainBench(server: BenchServer): Promise<BenchResult> {
  const bus = await busDrain(server);
  const defaults = await graphileDrain(server, 'graphile-worker, defaults (concurrency 1)', {});
  const batched = await graphileDrain(server, 'graphile-worker, local queue + batched completion', {
    concurrency: 10,
    worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0 },
  });
  const rate = (d: Drained) => SIZE.events / d.seconds;
  const best = Math.max(...bus.map(rate));
  return {
    title: `2. Drain of a ${fmtRate(SIZE.events)}-event backlog`,
    method: [
      `${fmtRate(SIZE.events)} events inserted by publishMany in transactions of ${fmtRate(PER_TRANSACTION)} while no consumer runs; random keys (16 partitions).`,
      'Then a new consumer group reads them all with a batch handler that only counts (production defaults: batch 500,',
      '4 partitions at once per instance). Each instance is its own process (as services scale out), started and connected',
      'before the clock starts; the clock stops when the last event was handed to a handler. 2 cores: 4 processes and',
      'PostgreSQL share them, so 4 instances measure contention more than parallelism.',
      'graphile-worker: the same number of jobs queued by add_jobs in the same transaction sizes, a no-op task, clock from run().',
    ],
    table: [
      ['', 'seconds', 'events/s', 'mean batch', 'queries / 500 events'],
      ...bus.map((d) => [
        d.name,
        fmt(d.seconds, 2),
        fmtRate(rate(d)),
        fmt(d.batch ?? Number.NaN, 0),
        fmt(d.queriesPerBatch ?? Number.NaN, 1),
      ]),
      [defaults.name, fmt(defaults.seconds, 2), fmtRate(rate(defaults)), '-', '-'],
      [batched.name, fmt(batched.seconds, 2), fmtRate(rate(batched)), '-', '-'],
    ],
    notes: [
      `anchors measured before on this machine: graphile-worker defaults ≈ ${fmtRate(ANCHOR_BEFORE.defaults)}/s, ` +
        `local queue + batched completion ≈ ${fmtRate(ANCHOR_BEFORE.batched)}/s`,
      'graphile-worker batched: concurrency 10, localQueue.size 500, completeJobBatchDelay 0 (v0.17 preset options)',
    ],
    figures: [
      atLeast('2. bus drain, best of 1 and 4 instances', best, TARGET, 'events/s', {
        name: 'graphile-worker, batched',
        value: rate(batched),
      }),
    ],
  };
}
