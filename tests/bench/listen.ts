// 4. One LISTEN connection per process, however many readers the process runs.
import { createBus, publish } from '@llmops/kit/bus/index';
import { withClient } from '@llmops/kit/db';
import {
  benchLogger,
  deferred,
  exactly,
  listenEvent,
  SERVICE,
  servicePool,
  within,
  type BenchResult,
  type BenchServer,
} from './lib.ts';

const GROUPS = 5;
const READERS = 3;
const CHANNELS = 2;
const LISTEN_NAME = 'bench-listen-bus';
const POOL_NAME = 'bench-listen-pool';

export async function listenBench(server: BenchServer): Promise<BenchResult> {
  const db = await server.busDatabase();
  const pool = servicePool(db, POOL_NAME);
  const bus = createBus({
    pool,
    listenUrl: db.urlFor(SERVICE),
    log: benchLogger(),
    service: SERVICE,
    config: { listenApplicationName: LISTEN_NAME },
  });
  try {
    await bus.start();
    // Every reader must see the one event, so each has really started and gone back to waiting.
    const seen: Array<Promise<void>> = [];
    const expect = () => {
      const d = deferred<void>();
      seen.push(d.promise);
      return () => d.resolve();
    };
    for (let g = 0; g < GROUPS; g++) {
      const done = expect();
      bus.consume({ group: `bench.listen-${g}`, events: [listenEvent], startFrom: 'now', handler: done });
    }
    for (let r = 0; r < READERS; r++) {
      const done = expect();
      await bus.broadcast({ events: [listenEvent], handler: done });
    }
    for (let c = 0; c < CHANNELS; c++) {
      const done = expect();
      await bus.ephemeral.subscribe(`bench.listen.${c}`, done);
    }
    await publish(pool, listenEvent, { n: 1 });
    for (let c = 0; c < CHANNELS; c++) bus.ephemeral.publish(`bench.listen.${c}`, { n: 1 });
    await within(Promise.all(seen), 15_000, 'every reader to see its event');
    const counts = await withClient(db.adminUrl, async (client) => {
      const { rows } = await client.query<{ listen_named: number; listening: number; connections: number }>(
        `SELECT count(*) FILTER (WHERE application_name = $2)::int AS listen_named,
                count(*) FILTER (WHERE query ILIKE 'LISTEN%' OR query ILIKE 'UNLISTEN%')::int AS listening,
                count(*)::int AS connections
         FROM pg_stat_activity WHERE datname = $1 AND application_name IN ($2, $3)`,
        [db.name, LISTEN_NAME, POOL_NAME],
      );
      return rows[0] ?? { listen_named: 0, listening: 0, connections: 0 };
    });
    return {
      title: '4. LISTEN connections per process',
      method: [
        `One bus with ${GROUPS} consumer groups, ${READERS} broadcast readers and ${CHANNELS} ephemeral subscriptions, each shown to`,
        "have delivered an event; then pg_stat_activity for this process's connections (its pool and its LISTEN connection).",
      ],
      table: [
        ['', 'connections'],
        [`application_name = ${LISTEN_NAME} (the bus's LISTEN connection)`, String(counts.listen_named)],
        ["last statement LISTEN / UNLISTEN (any of the process's connections)", String(counts.listening)],
        ['all connections of the process (pool + LISTEN)', String(counts.connections)],
      ],
      notes: [
        'pg_stat_activity shows no listening state: a connection counts as listening when its last statement was LISTEN/UNLISTEN ' +
          '(the pool never sends one; the LISTEN connection sends its SELECT 1 check only every listenCheckMs, 10 s)',
      ],
      figures: [exactly('4. LISTEN connections of the process', counts.listening, 1, 'connection(s)')],
    };
  } finally {
    await bus.stop();
    await pool.end();
  }
}
