import { z } from 'zod';
import { defineEvent } from '../bus/contract.ts';

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

/**
 * A task used a model (published by the runner when an attempt reaches the provider). The registry
 * consumes it to record use: a provider or model that tasks have used is archived, never deleted.
 */
export const modelUsed = defineEvent({
  topic: 'runner.model.used',
  payload: z.object({
    provider_id: z.uuid(),
    model_id: z.uuid(),
    task_id: z.string().min(1),
    at: z.iso.datetime({ offset: true }),
  }),
  key: (payload) => payload.model_id,
});
