import { one, type Queryable } from '@llmops/kit/db';
import { taskCancelled, taskFailed, taskRejected, taskSucceeded } from '@llmops/kit/events/runner';

/** The consumer group that adds ended tasks to the usage rollup's buckets (consumers/usage.ts). */
export const USAGE_GROUP = 'runner.usage';

/** The events after which a task's figures no longer change: the ones the usage group reads. */
export const TERMINAL_TASK_EVENTS = [taskSucceeded, taskFailed, taskCancelled, taskRejected] as const;

/**
 * Adds these ended tasks to the usage rollup's buckets (sql/runner/000018, 000019; docs/adr/0020-usage-rollup.md)
 * and answers how many were added. Once only: a task already added, or not ended, has no pending row, so a
 * redelivered event or a second call changes no bucket. One statement (`runner.usage_count`: the pending rows
 * deleted, then the tasks read and added), so the bucket rows it locks are held only until it commits.
 */
export async function rollUp(db: Queryable, taskIds: readonly string[]): Promise<number> {
  if (taskIds.length === 0) return 0;
  const row = await one<{ n: number }>(db, 'SELECT runner.usage_count($1::uuid[]) AS n', [taskIds]);
  return row.n;
}

/**
 * The consumer's `rollUp`: the same statement, committed without waiting for its WAL to reach the disk
 * (`synchronous_commit` off for this transaction only; docs/adr/0020-usage-rollup.md). A crash can lose
 * only the last few of these commits, and with each of them the pending rows it deleted: those tasks are
 * read from the tasks again until their events, redelivered because the cursor move that followed is
 * later in the WAL and lost with them, add them once more. `db` must be a pool (autocommit): in a caller's
 * transaction the setting would cover all of it.
 */
export async function rollUpLazily(db: Queryable, taskIds: readonly string[]): Promise<number> {
  if (taskIds.length === 0) return 0;
  const row = await one<{ n: number }>(
    db,
    `SELECT set_config('synchronous_commit', 'off', true) AS lazy, runner.usage_count($1::uuid[]) AS n`,
    [taskIds],
  );
  return row.n;
}
