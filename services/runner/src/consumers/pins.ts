import type { Bus } from '@llmops/kit/bus/index';
import type { Queryable } from '@llmops/kit/db';
import { revisionWritten, runFinished } from '@llmops/kit/events/workflow';
import { z } from 'zod';

/** The consumer group that keeps runner.pinned_tasks: tasks a workflow revision or suggestion refers to. */
export const PINS_GROUP = 'runner.pins';

/** What the pins group reads; payload retention waits while any of it is unprocessed (tasks/payload-retention.ts). */
export const PIN_TOPICS = [revisionWritten.topic, runFinished.topic] as const;

async function pin(db: Queryable, taskId: string, reason: 'revision' | 'suggestion'): Promise<void> {
  await db.query(`INSERT INTO runner.pinned_tasks (task_id, reason) VALUES ($1, $2) ON CONFLICT (task_id) DO NOTHING`, [
    taskId,
    reason,
  ]);
}

/**
 * Pins the tasks the workflow's content refers to, so opt-in payload retention never removes what a post's
 * revision or suggestion was made from: a revision written by a task, and a run that ended in a suggestion
 * (or a revision). The runner cannot read the workflow's schema, so it keeps this copy from its events;
 * sql/runner/000013 copied the references made before. Idempotent: a redelivery pins nothing new.
 */
export function consumeWorkflowPins(bus: Bus, db: Queryable) {
  return bus.consume({
    group: PINS_GROUP,
    events: [revisionWritten, runFinished],
    handler: async (event) => {
      if (event.topic === revisionWritten.topic) {
        // A task author's id is the task's; anything else could not name a runner task.
        const { kind, id } = event.payload.author;
        if (kind === 'task' && z.uuid().safeParse(id).success) await pin(db, id, 'revision');
        return;
      }
      if (event.payload.suggestion_id !== null) await pin(db, event.payload.task_id, 'suggestion');
      else if (event.payload.status === 'applied') await pin(db, event.payload.task_id, 'revision');
    },
  });
}
