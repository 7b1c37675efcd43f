import type { Queryable } from '@llmops/kit/db';
import { taskCancelled, taskFailed, taskRejected, taskSucceeded } from '@llmops/kit/events/runner';

/** The consumer group that adds ended tasks to runner.usage_hours (consumers/usage.ts). */
export const USAGE_GROUP = 'runner.usage';

/** The events after which a task's figures no longer change: the ones the usage group reads. */
export const TERMINAL_TASK_EVENTS = [taskSucceeded, taskFailed, taskCancelled, taskRejected] as const;

/**
 * Adds these ended tasks to their hourly usage buckets (sql/runner/000015: the trigger on usage_pending
 * does the adding). Once only: a task already added, or not ended, matches nothing, so a redelivered
 * event or a second call changes no bucket. Answers how many were added.
 */
export async function rollUp(db: Queryable, taskIds: readonly string[]): Promise<number> {
  if (taskIds.length === 0) return 0;
  const { rowCount } = await db.query(
    `UPDATE runner.tasks SET usage_pending = false
     WHERE id = ANY($1::uuid[]) AND usage_pending AND status IN ('succeeded', 'failed', 'cancelled', 'rejected')`,
    [taskIds],
  );
  return rowCount ?? 0;
}
