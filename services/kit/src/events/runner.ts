import { z } from 'zod';
import { defineEvent } from '../bus/contract.ts';
import { UsdSchema } from '../money.ts';

/**
 * Streaming output of running tasks (ADR 0009): the runner publishes delta items on this ephemeral
 * channel (`bus.ephemeral.publish(TASK_DELTAS_CHANNEL, item)`, one NOTIFY per process per tick); the
 * gateway relays them to SSE clients as `delta` events. Never stored: a client that missed some
 * re-reads the task's stored output. `seq` orders the deltas of one task attempt.
 */
export const TASK_DELTAS_CHANNEL = 'task_deltas';

export const TaskDeltaSchema = z.object({
  task_id: z.string().min(1),
  group_id: z.string().min(1).optional(),
  correlation: z.record(z.string(), z.unknown()).optional(),
  /** The attempt the text belongs to: a retried task streams again from seq 0 under the next attempt. */
  attempt: z.number().int().min(1),
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

// ---- task lifecycle (docs/tasks.md) ----

const at = z.iso.datetime({ offset: true });
const Correlation = z.record(z.string(), z.unknown()).nullable();
const TaskErrorPayload = z.object({
  kind: z.string(),
  message: z.string(),
  retryable: z.boolean(),
  status: z.number().int().nullable(),
  retry_after_ms: z.number().int().nullable(),
  provider_code: z.string().nullable(),
  /** With `invalid_output`: the validator's reasons, each a JSON pointer into the reply and a message. */
  output_errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
});

/** What every task event carries, so SSE clients can filter by task, group or correlation. */
const taskFields = {
  task_id: z.uuid(),
  group_id: z.uuid().nullable(),
  correlation: Correlation,
  /**
   * Who asked for the task: `account:<id>`, or `service:<name>` for a bus request. A consumer acts on
   * the events of its own requests only (the workflow's write-back, ADR 0016), since anyone may set any
   * correlation. The runner always sets it; optional only so events published before it was added
   * still read (contracts evolve compatibly: docs/events.md).
   */
  requester: z.string().min(1).optional(),
  model_id: z.uuid().nullable(),
  provider_id: z.uuid().nullable(),
  /** Attempts so far (the one starting, for task.started). */
  attempt: z.number().int().min(0),
  at,
};

const taskEvent = <const Topic extends string, Shape extends z.ZodRawShape>(topic: Topic, extra: Shape) =>
  defineEvent({
    topic,
    payload: z.object({ ...taskFields, ...extra }),
    key: (payload) => String((payload as { task_id: unknown }).task_id),
  });

export const taskQueued = taskEvent('runner.task.queued', {
  kind: z.enum(['chat', 'image']),
  priority: z.number().int(),
  template_id: z.uuid().nullable(),
  template_version: z.number().int().nullable(),
  retry_of: z.uuid().nullable(),
});
export const taskStarted = taskEvent('runner.task.started', { worker: z.string(), queue_wait_ms: z.number().int() });
export const taskRetrying = taskEvent('runner.task.retrying', {
  error: TaskErrorPayload,
  /** When it may run again (backoff with jitter, never before the provider's Retry-After). */
  run_after: at,
  /** True when it moved on to the next model of its fallback list. */
  fallback: z.boolean(),
});
/**
 * The longest output (in UTF-16 code units, as `output_chars` counts them) that `runner.task.succeeded`
 * carries whole: most workflow results (titles, lists, outlines, a section's draft) fit, and an event stays
 * under 100 kB whatever its text. A longer output, and an image task's, is read from the task.
 */
export const SUCCEEDED_OUTPUT_MAX_CHARS = 16_384;

/** What a succeeded event carries of its task's output: a text task's whole output up to the limit, else nothing. */
export function carriedOutput(kind: 'chat' | 'image', text: string): { output_text?: string } {
  return kind === 'chat' && text.length <= SUCCEEDED_OUTPUT_MAX_CHARS ? { output_text: text } : {};
}

export const taskSucceeded = taskEvent('runner.task.succeeded', {
  output_chars: z.number().int(),
  /**
   * The whole output of a text task of at most SUCCEEDED_OUTPUT_MAX_CHARS, so a consumer that acts on the
   * result (the workflow's write-back) needs no read of the task; absent for an image task or a longer
   * output (read the task then). Seen by the same callers as the task itself (`tasks:read`).
   */
  output_text: z.string().optional(),
  finish_reason: z.string().nullable(),
  usage: z.object({ input_tokens: z.number().int(), output_tokens: z.number().int(), cached_input_tokens: z.number().int() }),
  cost_usd: UsdSchema,
  images: z.number().int(),
});
export const taskFailed = taskEvent('runner.task.failed', { error: TaskErrorPayload, cost_usd: UsdSchema });
export const taskCancelled = taskEvent('runner.task.cancelled', { was: z.enum(['queued', 'running']) });
export const taskRejected = taskEvent('runner.task.rejected', {
  problems: z.array(z.object({ field: z.string(), message: z.string() })),
});

/** Every event of a task's lifecycle. */
export const TASK_EVENTS = [
  taskQueued,
  taskStarted,
  taskRetrying,
  taskSucceeded,
  taskFailed,
  taskCancelled,
  taskRejected,
] as const;

/**
 * Another service asks for a task over the bus (ADR 0010): the same fields as `POST /api/v1/tasks`.
 * The requester is the publishing service; `idempotency_key` (default: the event id) makes a redelivered
 * event the same task. A request that fails validation becomes a terminal `rejected` task and a
 * `runner.task.rejected` event with its correlation.
 */
export const taskRequested = defineEvent({
  topic: 'runner.task.requested',
  payload: z.object({
    requester: z.string().min(1).max(100),
    idempotency_key: z.string().min(1).max(200).optional(),
    /** The task request, checked by the runner against TaskCreateSchema (contracts/runner.ts). */
    request: z.record(z.string(), z.unknown()),
  }),
});
