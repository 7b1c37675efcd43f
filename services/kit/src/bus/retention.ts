import { withTransaction, type Pool } from '../db.ts';

const LOCK_KEY = 7_400_010; // pg_advisory_xact_lock key reserved for bus retention

export interface RetentionResult {
  deleted: number;
  /** True when another process was running retention, so this one did nothing. */
  skipped: boolean;
}

/**
 * Deletes outbox rows older than `maxAgeMs` that every consumer group reading their topic has passed
 * and that no group keeps parked, in chunks, each chunk its own short transaction under an advisory
 * lock (one process at a time). Raises the retention horizon to the highest deleted position, so a
 * broadcast reader behind it learns it has missed events. Also clears long-expired waiter rows.
 */
export async function runRetention(
  pool: Pool,
  { maxAgeMs, batchSize = 5_000, maxBatches = 1_000 }: { maxAgeMs: number; batchSize?: number; maxBatches?: number },
): Promise<RetentionResult> {
  let deleted = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const result = await withTransaction(pool, async (tx) => {
      const { rows: lock } = await tx.query<{ locked: boolean }>(`SELECT pg_try_advisory_xact_lock($1) AS locked`, [LOCK_KEY]);
      if (!lock[0]?.locked) return undefined;
      const { rows } = await tx.query<{ deleted: number }>(
        `WITH snap AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin),
         doomed AS (
           SELECT o.id
           FROM bus.outbox o, snap
           WHERE o.created_at < now() - $1 * interval '1 millisecond'
             AND o.txid < snap.xmin
             AND NOT EXISTS (SELECT 1 FROM bus.parked p WHERE p.outbox_id = o.id)
             AND NOT EXISTS (
               SELECT 1 FROM bus.groups g JOIN bus.cursors c ON c.group_name = g.group_name
               WHERE o.topic = ANY(g.topics) AND c.partition = o.partition AND (c.txid, c.id) < (o.txid, o.id)
             )
           ORDER BY o.created_at
           LIMIT $2
         ),
         deleted AS (
           DELETE FROM bus.outbox o USING doomed WHERE o.id = doomed.id RETURNING o.txid, o.id
         ),
         top AS (
           SELECT txid, id FROM deleted ORDER BY txid DESC, id DESC LIMIT 1
         ),
         horizon AS (
           UPDATE bus.retention_horizon h SET txid = top.txid, id = top.id, ran_at = now()
           FROM top WHERE (top.txid, top.id) > (h.txid, h.id)
           RETURNING 1
         )
         SELECT (SELECT count(*)::int FROM deleted) AS deleted, (SELECT count(*) FROM horizon) AS moved`,
        [maxAgeMs, batchSize],
      );
      return rows[0]?.deleted ?? 0;
    });
    if (result === undefined) return { deleted, skipped: true };
    deleted += result;
    if (result < batchSize) break;
  }
  await pool.query(`DELETE FROM bus.waiters WHERE expires_at < now() - interval '1 hour'`);
  return { deleted, skipped: false };
}
