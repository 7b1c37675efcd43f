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
