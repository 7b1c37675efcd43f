import type { Bus } from '@llmops/kit/bus/index';
import type { Queryable } from '@llmops/kit/db';
import { revisionWritten, runFinished } from '@llmops/kit/events/workflow';
import { z } from 'zod';
import { pin, PINS_GROUP } from '../tasks/pins.ts';

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
