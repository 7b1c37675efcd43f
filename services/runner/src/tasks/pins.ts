import type { Queryable } from '@llmops/kit/db';
import { revisionWritten, runFinished } from '@llmops/kit/events/workflow';

/** The consumer group that keeps runner.pinned_tasks (consumers/pins.ts). */
export const PINS_GROUP = 'runner.pins';

/** What the pins group reads; payload retention waits while any of it is unprocessed (payload-retention.ts). */
export const PIN_TOPICS = [revisionWritten.topic, runFinished.topic] as const;

/** Keeps a task's attempt payloads from payload retention: a workflow revision or suggestion refers to it. */
export async function pin(db: Queryable, taskId: string, reason: 'revision' | 'suggestion'): Promise<void> {
  await db.query(`INSERT INTO runner.pinned_tasks (task_id, reason) VALUES ($1, $2) ON CONFLICT (task_id) DO NOTHING`, [
    taskId,
    reason,
  ]);
}
