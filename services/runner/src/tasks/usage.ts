import { many, type PoolClient } from '@llmops/kit/db';
import { taskCancelled, taskFailed, taskRejected, taskSucceeded } from '@llmops/kit/events/runner';

/** The consumer group that adds ended tasks to the usage rollup's buckets (consumers/usage.ts). */
export const USAGE_GROUP = 'runner.usage';

/** The events after which a task's figures no longer change: the ones the usage group reads. */
export const TERMINAL_TASK_EVENTS = [taskSucceeded, taskFailed, taskCancelled, taskRejected] as const;

/**
 * Adds these ended tasks to the usage rollup's buckets (sql/runner/000018, 000019; docs/adr/0020-usage-rollup.md)
 * and answers how many were added. Call it inside a transaction (`tx`), so the two statements commit together:
 * the tasks' pending rows are deleted first, then the tasks are read and added. Once only: a task already
 * added, or not ended, has no pending row, so a redelivered event or a second call changes no bucket. The
 * read comes in a statement of its own, after the delete: a concurrent change to a pending task waits for
 * this transaction's delete (the change trigger locks the pending row) or is seen by the read.
 */
export async function rollUp(tx: PoolClient, taskIds: readonly string[]): Promise<number> {
  if (taskIds.length === 0) return 0;
  const gone = await many<{ task_id: string }>(
    tx,
    'DELETE FROM runner.usage_pending WHERE task_id = ANY($1::uuid[]) RETURNING task_id',
    [taskIds],
  );
  if (gone.length === 0) return 0;
  await tx.query('SELECT runner.usage_add(array_agg(t ORDER BY t.id), 1) FROM runner.tasks t WHERE t.id = ANY($1::uuid[])', [
    gone.map((row) => row.task_id),
  ]);
  return gone.length;
}
