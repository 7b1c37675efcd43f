// 3. Producer commit rate: 16 producers committing one event per transaction, with and without a
// consumer, beside plain inserts into an equivalent table without and with a per-row NOTIFY trigger.
import pg from 'pg';
import { envelope, publish, type Envelope } from '@llmops/kit/bus/index';
import type { Pool } from '@llmops/kit/db';
import { busStatements, statementNotes } from './bus-statements.ts';
import { startConsumers, type ConsumerProcesses } from './consumers.ts';
import {
  asAdmin,
  fmt,
  fmtRate,
  mean,
  produceEvent,
  ratioAtLeast,
  SERVICE,
  servicePool,
  sized,
  sleep,
  withCpu,
  type BenchResult,
  type BenchServer,
} from './lib.ts';

const PRODUCERS = 16;
/**
 * Seconds each phase counts commits (fewer in a quick run), and the slices the bus phases and their
 * plain-insert anchor are cut into, alternated: both see the same minutes of a shared machine's load.
 */
const SIZE = {
  get seconds() {
    return sized(5, 2);
  },
  get slices() {
    return sized(5, 2);
  },
};
const WARMUP_MS = 500;
/** Warm-up of each alternated slice (its pool is warm already): not counted. */
const SLICE_WARMUP_MS = 200;
const TARGET = 10_000;
const ANCHOR_BEFORE = { plain: 15_000, notified: 4_300 };

// Two tables shaped exactly like bus.outbox (columns, checks, generated partition, indexes), one
// without a trigger and one with the naive doorbell: a NOTIFY from every inserted row.
const ANCHOR_TABLES = [
  `CREATE SCHEMA bench`,
  `CREATE FUNCTION bench.notify_every_row() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN PERFORM pg_notify('bench_anchor', ''); RETURN NULL; END $$`,
  ...['plain', 'notified'].flatMap((name) => [
    `CREATE TABLE bench.${name} (LIKE bus.outbox INCLUDING ALL)`,
    `CREATE SEQUENCE bench.${name}_id_seq OWNED BY bench.${name}.id`,
    `ALTER TABLE bench.${name} ALTER id SET DEFAULT nextval('bench.${name}_id_seq')`,
  ]),
  `CREATE TRIGGER notify_every_row AFTER INSERT ON bench.notified FOR EACH ROW EXECUTE FUNCTION bench.notify_every_row()`,
  `GRANT USAGE ON SCHEMA bench TO llmops_${SERVICE}`,
  `GRANT INSERT ON ALL TABLES IN SCHEMA bench TO llmops_${SERVICE}`,
  `GRANT USAGE ON ALL SEQUENCES IN SCHEMA bench TO llmops_${SERVICE}`,
];

/**
 * The statement publishMany sends, aimed at an anchor table (a fixed name, never input). `prepared`
 * names it, so each connection parses and plans it once (publishMany sends it unnamed: planned every time).
 */
function insertInto(table: 'bench.plain' | 'bench.notified', prepared = false) {
  const text = `INSERT INTO ${table} (event_id, topic, key, payload, headers)
     SELECT e.event_id, e.topic, e.key, e.payload, e.headers
     FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::jsonb[]) WITH ORDINALITY
       AS e(event_id, topic, key, payload, headers, n)
     ORDER BY e.n`;
  const name = prepared ? `bench-insert-${table}` : undefined;
  return async (pool: Pool, e: Envelope) => {
    const values = [[e.id], [e.topic], [e.key], [JSON.stringify(e.payload)], [JSON.stringify(e.headers)]];
    await pool.query(name ? { name, text, values } : { text, values });
  };
}

interface Phase {
  name: string;
  rate: number;
  /** This process's CPU while producing, in cores. */
  cpu: number;
  /** The machine's CPU while producing, share of all cores. */
  machine: number;
  /** Doorbell NOTIFYs heard per commit (bus phases). */
  rings?: number;
  consumed?: number;
  batch?: number;
  /** The consumer's queries per second. */
  queries?: number;
  /** The consumer process's CPU per event it handled, milliseconds. */
  consumerCpu?: number;
}

/**
 * Resolves once consumer group `group` is registered and a consumer waits for the doorbell (a live row in
 * bus.waiters: the bench's consumer process is the only one on this database), polling every 50 ms, bounded.
 */
async function idleAndWaiting(pool: Pool, group: string): Promise<void> {
  const deadline = performance.now() + 15_000;
  for (;;) {
    const { rows } = await pool.query<{ ready: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM bus.groups WHERE group_name = $1)
          AND EXISTS (SELECT 1 FROM bus.waiters WHERE expires_at > now()) AS ready`,
      [group],
    );
    if (rows[0]?.ready) return;
    if (performance.now() > deadline) throw new Error(`timed out after 15 s: consumer group ${group} to wait for the doorbell`);
    await sleep(50);
  }
}

interface Produced {
  rate: number;
  cpu: number;
  machine: number;
  /** Commits counted, the seconds they were counted over, and every commit made (warm-up included). */
  counted: number;
  seconds: number;
  total: number;
}

/** PRODUCERS loops, each committing one event per transaction for `seconds`; commits/s after a warm-up. */
async function produce(
  commitOne: (producer: number, n: number) => Promise<void>,
  seconds = SIZE.seconds,
  warmupMs = WARMUP_MS,
): Promise<Produced> {
  const { result, cpu, machine } = await withCpu(async () => {
    const started = performance.now();
    const counting = started + warmupMs;
    const end = started + warmupMs + seconds * 1_000;
    let committed = 0;
    let total = 0;
    let countedFrom = Number.NaN;
    let countedTo = counting;
    await Promise.all(
      Array.from({ length: PRODUCERS }, async (_, producer) => {
        for (let n = 0; performance.now() < end; n++) {
          await commitOne(producer, n);
          total++;
          const now = performance.now();
          if (now < counting) continue;
          if (Number.isNaN(countedFrom)) countedFrom = now;
          committed++;
          countedTo = now;
        }
      }),
    );
    const countedSeconds = (countedTo - countedFrom) / 1_000;
    return { rate: committed / countedSeconds, counted: committed, seconds: countedSeconds, total };
  });
  return { ...result, cpu, machine };
}

/** Slices of one phase added up: commits/s over their counted seconds, CPU shares weighted by those seconds. */
function combined(slices: readonly Produced[]): Produced {
  const seconds = slices.reduce((sum, x) => sum + x.seconds, 0);
  const counted = slices.reduce((sum, x) => sum + x.counted, 0);
  const weighted = (key: 'cpu' | 'machine') => slices.reduce((sum, x) => sum + x[key] * x.seconds, 0) / seconds;
  return {
    rate: counted / seconds,
    counted,
    seconds,
    total: slices.reduce((sum, x) => sum + x.total, 0),
    cpu: weighted('cpu'),
    machine: weighted('machine'),
  };
}

export async function producersBench(server: BenchServer): Promise<BenchResult> {
  const db = await server.busDatabase();
  await asAdmin(db.adminUrl, ANCHOR_TABLES);
  const pool = servicePool(db, 'bench-producers', PRODUCERS);
  // Counts doorbell rings; a listener costs the committing producer nothing extra (the NOTIFY is queued either way).
  const probe = new pg.Client({ connectionString: db.urlFor(SERVICE), application_name: 'bench-doorbell-probe' });
  let rings = 0;
  probe.on('notification', () => rings++);
  await probe.connect();
  await probe.query('LISTEN llmops_bus');
  const payload = (producer: number, n: number) => ({ producer, n, note: 'bench' });
  const phases: Phase[] = [];
  let consumers: ConsumerProcesses | undefined;
  let statements: string[];
  const plainInsert = insertInto('bench.plain');
  const plainSlice = () =>
    produce(
      (producer, n) => plainInsert(pool, envelope(produceEvent, payload(producer, n))),
      SIZE.seconds / SIZE.slices,
      SLICE_WARMUP_MS,
    );
  const busSlice = () =>
    produce(
      async (producer, n) => {
        await publish(pool, produceEvent, payload(producer, n)); // the event is the transaction's only change
      },
      SIZE.seconds / SIZE.slices,
      SLICE_WARMUP_MS,
    );
  /**
   * A bus phase and its plain-insert anchor, alternated slice by slice (which goes first alternates too);
   * with a consumer, each plain slice starts once it has caught up, so it idles through it.
   */
  const alternated = async (name: string, anchorName: string, published: { count: number }) => {
    const plainSlices: Produced[] = [];
    const busSlices: Produced[] = [];
    let rung = 0;
    let consumed = 0;
    let queries = 0;
    let consumerCpuMs = 0;
    const batchesBefore = consumers?.batches.length ?? 0;
    const bus = async () => {
      const ringsBefore = rings;
      const consumedBefore = consumers?.handled ?? 0;
      const queriesBefore = consumers?.queries ?? 0;
      const cpuBefore = consumers?.cpuMs ?? 0;
      const slice = await busSlice();
      busSlices.push(slice);
      published.count += slice.total;
      rung += rings - ringsBefore;
      consumed += (consumers?.handled ?? 0) - consumedBefore;
      queries += (consumers?.queries ?? 0) - queriesBefore;
      consumerCpuMs += (consumers?.cpuMs ?? 0) - cpuBefore;
    };
    const plain = async () => {
      await consumers?.waitFor(published.count, 60_000);
      plainSlices.push(await plainSlice());
    };
    for (let slice = 0; slice < SIZE.slices; slice++) {
      if (slice % 2 === 0) {
        await plain();
        await bus();
      } else {
        await bus();
        await plain();
      }
    }
    const ours = combined(busSlices);
    const busSeconds = busSlices.reduce((sum, x) => sum + x.seconds + SLICE_WARMUP_MS / 1_000, 0);
    phases.push({ name: anchorName, ...combined(plainSlices) });
    phases.push({
      name,
      ...ours,
      rings: rung / ours.total,
      ...(consumers
        ? {
            consumed: consumed / busSeconds,
            batch: mean(consumers.batches.slice(batchesBefore)),
            queries: queries / busSeconds,
            consumerCpu: consumerCpuMs / Math.max(1, consumed),
          }
        : {}),
    });
  };
  try {
    for (const [name, table, prepared] of [
      ['plain inserts + per-row pg_notify trigger (anchor, for information)', 'bench.notified', false],
      ['plain inserts, statement prepared (diagnostic)', 'bench.plain', true],
    ] as const) {
      const insert = insertInto(table, prepared);
      const run = await produce((producer, n) => insert(pool, envelope(produceEvent, payload(producer, n))));
      phases.push({ name, ...run });
    }
    const published = { count: 0 };
    await alternated('bus publish, no consumer', 'plain inserts, no trigger (anchor, beside it)', published);
    consumers = await startConsumers({ url: db.urlFor(SERVICE), group: 'bench.produce', topic: 'produce', startFrom: 'now' }, 1);
    consumers.go();
    await idleAndWaiting(pool, 'bench.produce');
    published.count = 0;
    const counted = await busStatements(db.adminUrl, `llmops_${SERVICE}`);
    await alternated(
      'bus publish, a consumer group draining (1 process)',
      'plain inserts, no trigger (anchor, beside it; the consumer idle)',
      published,
    );
    // The producers' publish, the consumer's statements and the plain-insert anchor, per bus commit of that phase.
    statements = statementNotes(await counted.stop(), published.count, 'commit with a consumer draining', 6);
  } finally {
    await consumers?.stop();
    await probe.end().catch(() => undefined);
    await pool.end();
  }
  const noConsumerAnchor = phases[2] as Phase;
  const noConsumer = phases[3] as Phase;
  const withConsumerAnchor = phases[4] as Phase;
  const withConsumer = phases[5] as Phase;
  const plainInserts = (anchor: Phase) => ({ name: 'plain inserts', value: anchor.rate });
  return {
    title: `3. Producer commit rate (${PRODUCERS} producers, one event per transaction, ${SIZE.seconds} s each)`,
    method: [
      `${PRODUCERS} concurrent loops in this process on a pool of ${PRODUCERS} connections (role llmops_${SERVICE}), each committing`,
      'single-statement transactions: publish(pool, ...) — the event is the only change — or the same INSERT statement',
      `into a copy of bus.outbox (LIKE ... INCLUDING ALL) without, then with, a per-row pg_notify trigger. ${WARMUP_MS} ms warm-up not counted.`,
      `Each bus phase is cut into ${SIZE.slices} slices alternated with slices of its plain-insert anchor (${SLICE_WARMUP_MS} ms warm-up each, not counted),`,
      'so both see the same minutes of the machine; with a consumer, each plain slice starts once it has caught up (it idles through it).',
      'The consumer group (batch handler that only counts) runs in a process of its own, started from "now".',
      'Diagnostic row: the anchor statement sent as a named (prepared) statement, planned once per connection.',
    ],
    table: [
      [
        '',
        'commits/s',
        'machine cpu',
        'producers cpu',
        'rings / commit',
        'consumed/s',
        'mean batch',
        'consumer queries/s',
        'consumer cpu ms / event',
      ],
      ...phases.map((p) => [
        p.name,
        fmtRate(p.rate),
        `${fmt(p.machine * 100, 0)} %`,
        `${fmt(p.cpu, 2)} cores`,
        p.rings === undefined ? '-' : fmt(p.rings, 3),
        p.consumed === undefined ? '-' : fmtRate(p.consumed),
        p.batch === undefined ? '-' : fmt(p.batch, 1),
        p.queries === undefined ? '-' : fmtRate(p.queries),
        p.consumerCpu === undefined ? '-' : fmt(p.consumerCpu, 3),
      ]),
    ],
    notes: [
      `anchors measured before on this machine: plain ≈ ${fmtRate(ANCHOR_BEFORE.plain)}/s, per-row pg_notify ≈ ${fmtRate(ANCHOR_BEFORE.notified)}/s`,
      'rings / commit: doorbell NOTIFYs heard by a separate LISTEN connection on llmops_bus, per commit (0 = never rung)',
      'machine cpu: all cores busy, PostgreSQL and anything else on the machine included; producers cpu: this process',
      `absolute target, for information: ≥ ${fmtRate(TARGET)} commits/s`,
      ...statements,
    ],
    // Issue 14: ratios to the plain-insert anchor of the same run (the absolute target for information).
    figures: [
      ratioAtLeast('3. bus commits/s, no consumer', noConsumer.rate, plainInserts(noConsumerAnchor), 1, 'commits/s'),
      ratioAtLeast(
        '3. bus commits/s, a consumer draining',
        withConsumer.rate,
        plainInserts(withConsumerAnchor),
        0.9,
        'commits/s',
      ),
    ],
  };
}
