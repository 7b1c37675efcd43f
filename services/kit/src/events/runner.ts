import { z } from 'zod';

/**
 * Streaming output of running tasks (DESIGN D5): the runner publishes delta items on this ephemeral
 * channel (`bus.ephemeral.publish(TASK_DELTAS_CHANNEL, item)`, one NOTIFY per process per tick); the
 * gateway relays them to SSE clients as `delta` events. Never stored: a client that missed some
 * re-reads the task's stored output. `seq` orders the deltas of one task attempt.
 */
export const TASK_DELTAS_CHANNEL = 'task_deltas';

export const TaskDeltaSchema = z.object({
  task_id: z.string().min(1),
  group_id: z.string().min(1).optional(),
  correlation: z.string().min(1).optional(),
  seq: z.number().int().min(0),
  text: z.string(),
});
export type TaskDelta = z.output<typeof TaskDeltaSchema>;
