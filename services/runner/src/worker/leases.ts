import type { TaskStatus } from '@llmops/kit/contracts/runner';
import { withTransaction, type Pool } from '@llmops/kit/db';
import * as attempts from '../tasks/attempts.ts';
import * as lifecycle from '../tasks/lifecycle.ts';
import * as store from '../tasks/store.ts';
import type { TaskError } from '../tasks/task.ts';

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
  const rows = await store.extendLeases(pool, ids, owner, leaseMs);
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
 * SKIP LOCKED keeps two from taking the same task. Answers the state each task taken back is in now.
 */
export async function reapExpired(pool: Pool, limit = 100): Promise<TaskStatus[]> {
  return withTransaction(pool, async (tx) => {
    const rows = await store.lockExpired(tx, limit);
    if (rows.length === 0) return [];
    await attempts.abandonRunning(
      tx,
      rows.map((row) => row.id),
      LOST,
    );
    const statuses: TaskStatus[] = [];
    for (const row of rows) statuses.push((await lifecycle.afterFailure(tx, row, LOST)).status);
    return statuses;
  });
}
