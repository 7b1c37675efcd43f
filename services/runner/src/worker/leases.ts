import { publishMany } from '@llmops/kit/bus/index';
import { withTransaction, type Pool } from '@llmops/kit/db';
import type { TaskError, TaskRow } from '../tasks/task.ts';
import { afterFailure } from './finish.ts';

/**
 * Extends the leases of the tasks this process runs, in one statement. Answers which of them it still
 * holds and which have a cancel request; a task missing from the answer was lost (the lease expired
 * and another instance reclaimed it) and must be abandoned here.
 */
export async function extendLeases(
  pool: Pool,
  owner: string,
  ids: readonly string[],
  leaseMs: number,
): Promise<{ held: Set<string>; cancel: Set<string> }> {
  if (ids.length === 0) return { held: new Set(), cancel: new Set() };
  const { rows } = await pool.query<{ id: string; cancel: boolean }>({
    name: 'runner.lease.extend',
    text: `UPDATE runner.tasks SET lease_expires_at = now() + make_interval(secs => $3::float8 / 1000)
           WHERE id = ANY ($1::uuid[]) AND lease_owner = $2 AND status = 'running'
           RETURNING id, cancel_requested_at IS NOT NULL AS cancel`,
    values: [ids, owner, leaseMs],
  });
  return { held: new Set(rows.map((r) => r.id)), cancel: new Set(rows.filter((r) => r.cancel).map((r) => r.id)) };
}

const LOST: TaskError = {
  kind: 'lease_expired',
  message: 'the runner process running this attempt stopped extending its lease (it died or lost the database)',
  retryable: true,
  status: null,
  retry_after_ms: null,
  provider_code: null,
};

/**
 * Takes back running tasks whose lease expired (their process died): each open attempt is closed as
 * `abandoned`, and the task goes the way of a retryable failure (queued again, the next model, or
 * failed when its attempts are used up; cancelled if a cancel was asked). Any instance may run it;
 * SKIP LOCKED keeps two from taking the same task.
 */
export async function reapExpired(pool: Pool, limit = 100): Promise<number> {
  return withTransaction(pool, async (tx) => {
    const { rows } = await tx.query<TaskRow>(
      `SELECT * FROM runner.tasks WHERE status = 'running' AND lease_expires_at < now()
       ORDER BY lease_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
      [limit],
    );
    if (rows.length === 0) return 0;
    await tx.query(
      `UPDATE runner.attempts SET status = 'abandoned', ended_at = now(), error = $2
       WHERE task_id = ANY ($1::uuid[]) AND status = 'running'`,
      [rows.map((row) => row.id), JSON.stringify(LOST)],
    );
    for (const row of rows) {
      const decision = await afterFailure(tx, row, LOST, { costUsd: row.cost_usd });
      await publishMany(tx, decision.events);
    }
    return rows.length;
  });
}
