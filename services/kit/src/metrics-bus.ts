import type { Bus } from './bus/index.ts';
import type { Queryable } from './db.ts';
import type { Metrics } from './metrics.ts';

/*
 * The bus's health per consumer group of this process, read at scrape time. Every instance of a service
 * reports the same groups' values (they share them through PostgreSQL): aggregate with max by (group).
 */

/**
 * How far behind each group is: the age of the oldest event of its topics after its cursor (0 when it
 * has caught up). One index probe per partition and topic (outbox (topic, partition, txid, id)), so the
 * cost does not grow with the backlog.
 */
async function lagSeconds(db: Queryable, groups: readonly string[]): Promise<Map<string, number>> {
  const { rows } = await db.query<{ group_name: string; lag: number }>(
    `SELECT c.group_name, coalesce(extract(epoch FROM now() - min(first.created_at)), 0)::float8 AS lag
     FROM bus.cursors c
     JOIN bus.groups g ON g.group_name = c.group_name
     LEFT JOIN LATERAL (
       SELECT o.created_at
       FROM unnest(g.topics) AS t(topic)
       CROSS JOIN LATERAL (
         SELECT o.created_at FROM bus.outbox o
         WHERE o.topic = t.topic AND o.partition = c.partition AND (o.txid, o.id) > (c.txid, c.id)
         ORDER BY o.txid, o.id
         LIMIT 1
       ) o
     ) first ON true
     WHERE c.group_name = ANY ($1::text[])
     GROUP BY c.group_name`,
    [groups],
  );
  return new Map(rows.map((row) => [row.group_name, Math.max(0, row.lag)]));
}

/** Events each group has parked, by status: `dead` (dead letters, waiting for replay or skip) and `retrying`. */
async function parkedCounts(
  db: Queryable,
  groups: readonly string[],
): Promise<{ group: string; status: string; count: number }[]> {
  const { rows } = await db.query<{ group_name: string; status: string; count: number }>(
    `SELECT group_name, status, count(*)::int AS count FROM bus.parked
     WHERE group_name = ANY ($1::text[]) AND status IN ('dead', 'retrying')
     GROUP BY group_name, status`,
    [groups],
  );
  return rows.map((row) => ({ group: row.group_name, status: row.status, count: row.count }));
}

/** Bus lag, dead letters and retrying events per consumer group of this process, and whether its LISTEN connection is up. */
export function observeBus(metrics: Metrics, bus: Bus, db: Queryable): void {
  const groups = () => [...new Set(bus.status().consumers.map((consumer) => consumer.group))];
  metrics.collected(
    {
      name: 'llmops_bus_lag_seconds',
      help: 'Age of the oldest event a consumer group has not processed yet (0: caught up)',
      labelNames: ['group'] as const,
    },
    async () => {
      const names = groups();
      if (names.length === 0) return [];
      const lag = await lagSeconds(db, names);
      return names.map((group) => ({ labels: { group }, value: lag.get(group) ?? 0 }));
    },
  );
  metrics.collected(
    {
      name: 'llmops_bus_parked_events',
      help: 'Events a consumer group parked: status="dead" are dead letters (replay or skip them), status="retrying" wait for their next try',
      labelNames: ['group', 'status'] as const,
    },
    async () => {
      const names = groups();
      if (names.length === 0) return [];
      const counts = await parkedCounts(db, names);
      const count = (group: string, status: string) => counts.find((c) => c.group === group && c.status === status)?.count ?? 0;
      return names.flatMap((group) =>
        ['dead', 'retrying'].map((status) => ({ labels: { group, status }, value: count(group, status) })),
      );
    },
  );
  metrics.collected(
    { name: 'llmops_bus_listening', help: '1 while the process’s LISTEN connection (the doorbell) is up' },
    async () => [{ value: bus.status().listening ? 1 : 0 }],
  );
}
