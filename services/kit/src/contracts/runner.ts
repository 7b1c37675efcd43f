import { createRoute, z } from '@hono/zod-openapi';
import type { PublicRoute } from './index.ts';
import { body, errors, IdParamSchema, pageOf, PageQuerySchema, json } from './common.ts';
import { PresetParametersSchema } from './registry.ts';
import { PROVIDER_ERROR_KINDS } from '../adapters/errors.ts';
import { USD_PATTERN } from '../money.ts';

/**
 * The runner's contract (docs/tasks.md): durable LLM tasks. Every generation in the product is a task:
 * created from a published template (by version or label) or an ad-hoc message list, on one model or
 * several at once (a task group, for side-by-side comparison), run by workers with retries, fallback
 * models, limits and spend caps, and kept with every attempt: what was sent, what came back, usage,
 * cost and timing. Roles: viewers read; editors create, cancel and retry.
 */

const TAG = ['Tasks'];

const Timestamp = z.string().openapi({ format: 'date-time', example: '2025-06-01T09:30:00.000Z' });
const Uuid = z.uuid({ message: 'expected a UUID' });
const Money = z.string().regex(USD_PATTERN, 'expected USD as a decimal string with 12 places').openapi({
  description: 'USD as a decimal string with exactly 12 places (docs/tasks.md#money)',
  example: '0.004210000000',
});

export const TASK_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'rejected'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export const TERMINAL_STATUSES: readonly TaskStatus[] = ['succeeded', 'failed', 'cancelled', 'rejected'];
export const TaskStatusSchema = z.enum(TASK_STATUSES).openapi('TaskStatus');

/** Limits of one task request, so clients and the runner agree. */
export const TASK_LIMITS = {
  messages: 200,
  messageChars: 200_000,
  correlationBytes: 4_096,
  groupModels: 8,
};

const Correlation = z
  .record(z.string().min(1).max(100), z.unknown())
  .refine((value) => JSON.stringify(value).length <= TASK_LIMITS.correlationBytes, {
    message: `expected at most ${TASK_LIMITS.correlationBytes} bytes of JSON`,
  })
  .openapi({
    type: 'object',
    description: 'Free JSON that travels with the task and its events, e.g. `{ "post_id": "…", "field": "title" }`.',
    example: { post_id: '0193a5b2-1c3d-7e4f-8a9b-0c1d2e3f4a5b', field: 'title' },
  });

export const TaskMessageSchema = z
  .object({
    role: z.enum(['system', 'user', 'assistant']),
    content: z
      .string()
      .min(1, 'expected a non-empty message')
      .max(TASK_LIMITS.messageChars, `expected at most ${TASK_LIMITS.messageChars} characters`),
  })
  .strict()
  .openapi('TaskMessage');

const ImageOptions = z
  .object({
    // OpenAI's images API takes 1 to 10; a model's rules (image.n_max) narrow it per family (dall-e-3: 1).
    n: z.number().int().min(1, 'expected 1 to 10').max(10, 'expected 1 to 10').optional(),
    size: z
      .string()
      .regex(/^\d{2,5}x\d{2,5}$/, 'expected WIDTHxHEIGHT such as 1024x1024')
      .optional()
      .openapi({ example: '1024x1024' }),
    quality: z.string().min(1).max(20).optional(),
  })
  .strict()
  .openapi('ImageOptions');

export const TaskCreateSchema = z
  .object({
    template_id: Uuid.optional().openapi({
      description: 'Run a published template: a `version`, a `label`, or neither for its latest published version.',
    }),
    version: z.number().int().positive().optional(),
    label: z.string().min(1).max(63).optional(),
    messages: z
      .array(TaskMessageSchema)
      .min(1, 'expected at least one message')
      .max(TASK_LIMITS.messages, `expected at most ${TASK_LIMITS.messages} messages`)
      .optional()
      .openapi({ description: 'An ad-hoc message list instead of a template: literal text unless `render` is true.' }),
    render: z.boolean().default(false).openapi({ description: 'Render ad-hoc messages as Liquid with `inputs`.' }),
    inputs: z.record(z.string(), z.unknown()).default({}),
    model_id: Uuid.optional().openapi({ description: "The model; default the preset's, then the template's." }),
    model_ids: z
      .array(Uuid)
      .min(2, 'expected at least two models for a group')
      .max(TASK_LIMITS.groupModels, `expected at most ${TASK_LIMITS.groupModels} models`)
      .optional()
      .openapi({ description: 'Several models at once: a task group, one task per model, the same messages.' }),
    preset_id: Uuid.optional().openapi({ description: "A parameter preset; default the template's." }),
    parameters: PresetParametersSchema.optional().openapi({
      description: "Overrides of the preset's parameters, for this task.",
    }),
    priority: z.number().int().min(-100, 'expected -100 to 100').max(100, 'expected -100 to 100').default(0),
    correlation: Correlation.optional(),
    image: ImageOptions.optional().openapi({ description: 'For image models: how many images, their size and quality.' }),
  })
  .strict()
  .superRefine((value, ctx) => {
    if ((value.template_id === undefined) === (value.messages === undefined))
      ctx.addIssue({ code: 'custom', path: ['template_id'], message: 'give either template_id or messages' });
    if (value.template_id === undefined && (value.version !== undefined || value.label !== undefined))
      ctx.addIssue({ code: 'custom', path: ['version'], message: 'version and label go with template_id' });
    if (value.version !== undefined && value.label !== undefined)
      ctx.addIssue({ code: 'custom', path: ['label'], message: 'give a version or a label, not both' });
    if (value.template_id !== undefined && value.render)
      ctx.addIssue({ code: 'custom', path: ['render'], message: 'templates are always rendered; render is for ad-hoc messages' });
    if (value.model_id !== undefined && value.model_ids !== undefined)
      ctx.addIssue({ code: 'custom', path: ['model_ids'], message: 'give model_id or model_ids, not both' });
    if (value.model_ids && new Set(value.model_ids).size !== value.model_ids.length)
      ctx.addIssue({ code: 'custom', path: ['model_ids'], message: 'each model once' });
  })
  .openapi('TaskCreate');
export type TaskCreate = z.output<typeof TaskCreateSchema>;

export const TaskRetrySchema = z
  .object({
    model_id: Uuid.optional().openapi({ description: 'Run the same snapshot on another model.' }),
    preset_id: Uuid.optional().openapi({ description: "Use another preset's parameters and retry policy." }),
    priority: z.number().int().min(-100).max(100).optional(),
  })
  .strict()
  .openapi('TaskRetry');

export const UsageSchema = z
  .object({ input_tokens: z.number().int(), output_tokens: z.number().int(), cached_input_tokens: z.number().int() })
  .openapi('TokenUsage');

export const TaskErrorSchema = z
  .object({
    kind: z.enum([
      ...PROVIDER_ERROR_KINDS,
      'budget_exceeded',
      'invalid_output',
      'lease_expired',
      'unavailable',
      'credential',
      'internal',
    ]),
    message: z.string(),
    retryable: z.boolean(),
    status: z.number().int().nullable(),
    retry_after_ms: z.number().int().nullable(),
    provider_code: z.string().nullable(),
    output_errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .openapi({
        description:
          'With `invalid_output`: why the reply does not fit its `response_format`, as the JSON Schema validator says (`path` is a JSON pointer into the reply, "" for the whole; at most 20).',
      }),
  })
  .openapi('TaskError');

export const TaskProblemSchema = z.object({ field: z.string(), message: z.string() }).openapi('TaskProblem');

export const TimingSchema = z
  .object({
    queue_wait_ms: z.number().int().openapi({ description: 'From due (created or requeued) to claimed, summed over attempts.' }),
    provider_ms: z.number().int().openapi({ description: 'Inside the provider call, summed over attempts.' }),
    overhead_ms: z.number().int().openapi({ description: 'Our own time in attempts: total minus provider time.' }),
    time_to_first_token_ms: z.number().int().nullable().openapi({ description: 'Of the last attempt.' }),
    total_ms: z.number().int().nullable().openapi({ description: 'Created to finished.' }),
  })
  .openapi('TaskTiming');

export const TaskSchema = z
  .object({
    id: Uuid,
    group_id: Uuid.nullable(),
    retry_of: Uuid.nullable(),
    status: TaskStatusSchema,
    kind: z.enum(['chat', 'image']),
    priority: z.number().int(),
    correlation: z.record(z.string(), z.unknown()).nullable(),
    requester: z.string(),
    source: z.enum(['api', 'bus', 'retry', 'legacy']).openapi({
      description:
        'How it was asked for. `legacy`: a historical record of the legacy app, kept by the importer (docs/migration.md): done, never run here, read only; its snapshot has `legacy` (the source row).',
    }),
    template: z
      .object({ id: Uuid, version: z.number().int(), label: z.string().nullable() })
      .nullable()
      .openapi({ description: 'The template version the messages came from; null for ad-hoc messages.' }),
    preset_id: Uuid.nullable(),
    model_id: Uuid.nullable().openapi({ description: 'The model it runs (or ran) on: a fallback once it moved on.' }),
    provider_id: Uuid.nullable(),
    model_index: z.number().int().openapi({ description: '0 for the first model, 1 for the first fallback…' }),
    attempt_count: z.number().int(),
    run_after: Timestamp,
    cancel_requested_at: Timestamp.nullable(),
    output_text: z.string().nullable(),
    finish_reason: z.string().nullable(),
    usage: UsageSchema.nullable(),
    cost_usd: Money,
    error: TaskErrorSchema.nullable(),
    problems: z.array(TaskProblemSchema).nullable().openapi({ description: 'Why a `rejected` task was refused.' }),
    timing: TimingSchema,
    created_at: Timestamp,
    started_at: Timestamp.nullable(),
    finished_at: Timestamp.nullable(),
    updated_at: Timestamp,
  })
  .openapi('Task');

export const WireRequestSchema = z
  .object({
    method: z.string(),
    url: z.string().openapi({ description: 'The full URL, query included (a key in it is redacted).' }),
    headers: z.record(z.string(), z.string()).openapi({
      description:
        'Every header the SDK sent (names in lower case) except the authorization ones (Authorization, x-api-key): version, organization, project, extra headers and the SDK’s own.',
    }),
    body: z.string().nullable().openapi({
      description:
        'The body exactly as sent (JSON text, keys in the order sent); empty when none; null when payload retention removed it (the attempt’s `payload_removed_at`).',
    }),
  })
  .openapi('WireRequest');

export const AttemptSchema = z
  .object({
    id: Uuid,
    number: z.number().int(),
    model_index: z.number().int(),
    model_id: Uuid,
    provider_id: Uuid,
    provider_model_id: z.string(),
    worker: z.string(),
    status: z.enum(['running', 'succeeded', 'failed', 'cancelled', 'abandoned']),
    request: z
      .record(z.string(), z.unknown())
      .openapi({ description: 'The normalized request: roles, texts, model, parameters.' }),
    wire: WireRequestSchema.nullable().openapi({
      description: 'The exact request the SDK sent; null when the attempt ended before sending one.',
    }),
    response_text: z.string().nullable().openapi({
      description:
        'What the provider answered; null when there was no answer, or when payload retention removed it (`payload_removed_at`).',
    }),
    payload_removed_at: Timestamp.nullable().openapi({
      description:
        'When opt-in payload retention removed this attempt’s wire body and response text (docs/operations.md#retention); null while they are kept. The normalized request, usage, cost and status always stay.',
    }),
    finish_reason: z.string().nullable(),
    provider_finish_reason: z.string().nullable(),
    response_id: z.string().nullable(),
    usage: UsageSchema.nullable(),
    price: z
      .object({
        input_per_mtok: Money,
        output_per_mtok: Money,
        cached_input_per_mtok: Money.nullable(),
        per_image: Money.nullable(),
        effective_from: Timestamp,
      })
      .nullable()
      .openapi({ description: 'The price in force when the attempt started; null when the model has none.' }),
    cost_usd: Money,
    error: TaskErrorSchema.nullable(),
    queue_wait_ms: z.number().int(),
    provider_ms: z.number().int().nullable(),
    overhead_ms: z.number().int().nullable(),
    latency_ms: z.number().int().nullable(),
    time_to_first_token_ms: z.number().int().nullable(),
    started_at: Timestamp,
    ended_at: Timestamp.nullable(),
  })
  .openapi('TaskAttempt');

export const TaskImageSchema = z
  .object({
    index: z.number().int(),
    content_type: z.string(),
    size_bytes: z.number().int(),
    revised_prompt: z.string().nullable(),
    url: z.string().openapi({ description: 'Where to fetch the bytes: /api/v1/tasks/{id}/images/{index}.' }),
  })
  .openapi('TaskImage');

export const ModelSkipSchema = z
  .object({
    model_index: z.number().int().openapi({ description: 'Its place in the chain: 0 for the first model.' }),
    model_id: Uuid,
    provider_id: Uuid,
    kind: z.enum(['budget_exceeded']).openapi({ description: 'Why it was skipped: its provider was at its monthly spend cap.' }),
    message: z.string(),
    at: Timestamp,
  })
  .openapi('TaskModelSkip');

export const TaskDetailSchema = TaskSchema.extend({
  inputs: z.record(z.string(), z.unknown()),
  snapshot: z
    .record(z.string(), z.unknown())
    .openapi({ description: 'Exactly what is sent: messages, parameters, the model chain, retry policy, timeouts.' }),
  part_versions: z.array(z.object({ part_id: Uuid, version: z.union([z.number().int(), z.literal('draft')]) })),
  attempts: z.array(AttemptSchema),
  skipped_models: z.array(ModelSkipSchema).openapi({
    description:
      'Models of the chain the task moved past without a request (so with no attempt), oldest first: today, a model whose provider was at its monthly spend cap.',
  }),
  images: z.array(TaskImageSchema),
  retries: z.array(Uuid).openapi({ description: 'Tasks that retried this one, oldest first.' }),
}).openapi('TaskDetail');

export const TaskCreateResultSchema = z
  .object({
    group_id: Uuid.nullable().openapi({ description: 'Set when several models were asked for (`model_ids`); else null.' }),
    tasks: z
      .array(TaskSchema)
      .openapi({ description: 'One task per model, in the order the models were given: one without `model_ids`.' }),
  })
  .openapi('TaskCreateResult', {
    description: 'What a create answers, always this shape: a single task is `tasks[0]` (with `group_id` null).',
  });

export const TaskGroupSchema = z
  .object({
    id: Uuid,
    correlation: z.record(z.string(), z.unknown()).nullable(),
    created_at: Timestamp,
    tasks: z.array(TaskSchema).openapi({ description: 'One per model, in the order the models were given.' }),
  })
  .openapi('TaskGroup');

const Flag = z.enum(['true', 'false']);

export const TaskListQuerySchema = PageQuerySchema.extend({
  status: z
    .string()
    .regex(
      new RegExp(`^(${TASK_STATUSES.join('|')})(,(${TASK_STATUSES.join('|')}))*$`),
      `expected one or more of ${TASK_STATUSES.join(', ')}, comma separated`,
    )
    .optional()
    .openapi({ description: 'One or more statuses, comma separated.', example: 'failed,cancelled' }),
  template_id: Uuid.optional(),
  label: z.string().min(1).max(63).optional().openapi({ description: 'Tasks created from this template label.' }),
  model_id: Uuid.optional(),
  provider_id: Uuid.optional(),
  preset_id: Uuid.optional(),
  group_id: Uuid.optional(),
  retry_of: Uuid.optional(),
  correlation: z
    .string()
    .max(TASK_LIMITS.correlationBytes)
    .optional()
    .openapi({ description: 'A JSON object: tasks whose correlation contains it, e.g. `{"post_id":"…"}`.' }),
  created_after: z.iso.datetime({ offset: true, message: 'expected an RFC 3339 timestamp' }).optional(),
  created_before: z.iso.datetime({ offset: true, message: 'expected an RFC 3339 timestamp' }).optional(),
  q: z.string().min(1).max(200).optional().openapi({ description: 'Words that must all appear in the output.' }),
  include_output: Flag.optional().openapi({ description: 'Include each task’s full output (default true).' }),
});

export const TaskPageSchema = pageOf(TaskSchema, 'TaskPage');

export const GetTaskQuerySchema = z.object({
  wait: z.coerce
    .number({ message: 'expected whole seconds from 0 to 60' })
    .int('expected whole seconds from 0 to 60')
    .min(0, 'expected whole seconds from 0 to 60')
    .max(60, 'expected whole seconds from 0 to 60')
    .optional()
    .openapi({ description: 'Wait up to this many seconds for the task to end before answering (a synchronous read).' }),
});

export const USAGE_GROUPINGS = ['day', 'model', 'provider', 'template'] as const;
/** What each group's line may be split by (a dimension other than the grouping). */
export const USAGE_SPLITS = ['model', 'provider', 'template'] as const;

export const UsageQuerySchema = z.object({
  group_by: z.enum(USAGE_GROUPINGS).default('day'),
  split_by: z
    .enum(USAGE_SPLITS)
    .optional()
    .openapi({
      description:
        'Split each line by a second dimension (not the one grouped by): every row then carries `split`, its lines by ' +
        'model, provider or template, e.g. `group_by=day&split_by=model` for cost per day and model.',
    }),
  from: z.iso.datetime({ offset: true, message: 'expected an RFC 3339 timestamp' }).optional(),
  to: z.iso.datetime({ offset: true, message: 'expected an RFC 3339 timestamp' }).optional(),
  tz: z
    .string()
    .max(64)
    .refine((value) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: value });
        return true;
      } catch {
        return false;
      }
    }, 'expected an IANA time zone such as Europe/Berlin')
    .default('UTC'),
});

const usageMeasures = {
  tasks: z.number().int(),
  succeeded: z.number().int(),
  failed: z.number().int(),
  attempts: z.number().int(),
  input_tokens: z.number().int(),
  output_tokens: z.number().int(),
  cached_input_tokens: z.number().int(),
  cost_usd: Money,
};

export const UsageSplitRowSchema = z
  .object({
    key: z.string().nullable().openapi({ description: 'The model, provider or template id (null: tasks without one).' }),
    label: z.string().nullable().openapi({ description: 'A readable name for the key, when there is one.' }),
    ...usageMeasures,
  })
  .openapi('UsageSplitRow');

export const UsageRowSchema = z
  .object({
    key: z.string().nullable().openapi({ description: 'The day (YYYY-MM-DD in `tz`), or the model, provider or template id.' }),
    label: z.string().nullable().openapi({ description: 'A readable name for the key, when there is one.' }),
    ...usageMeasures,
    split: z.array(UsageSplitRowSchema).optional().openapi({
      description: 'With `split_by`: this line by that dimension, costliest first (the lines add up to this one).',
    }),
  })
  .openapi('UsageRow');

export const UsageReportSchema = z
  .object({
    group_by: z.enum(USAGE_GROUPINGS),
    split_by: z.enum(USAGE_SPLITS).nullable(),
    tz: z.string(),
    from: Timestamp.nullable(),
    to: Timestamp.nullable(),
    rows: z.array(UsageRowSchema),
    total: UsageRowSchema,
  })
  .openapi('UsageReport');

export const ImageParamSchema = IdParamSchema.extend({
  index: z.coerce
    .number({ message: 'expected an image index' })
    .int('expected an image index')
    .min(0, 'expected an image index')
    .max(100)
    .openapi({ param: { name: 'index', in: 'path' }, example: 0 }),
});

// ---- routes ----

const IdempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(200)
    .optional()
    .openapi({
      param: { name: 'idempotency-key', in: 'header' },
      description: 'Same key + same body → the same task, no second run.',
    }),
});
const TIMING_HEADER = {
  'Server-Timing': {
    description: 'queue, provider and overhead milliseconds of the task (`queue;dur=12, provider;dur=840, overhead;dur=9`).',
    schema: { type: 'string' as const },
  },
};

export const createTask = createRoute({
  method: 'post',
  path: '/api/v1/tasks',
  operationId: 'createTask',
  tags: TAG,
  summary: 'Create a task (or a group of tasks on several models)',
  description:
    'Renders the messages, resolves the model, provider and parameters, and stores exactly what will be sent. ' +
    'Every validation problem (missing variables, a disabled model, parameters the model does not take) comes back at once ' +
    'in a 422 and no task is created. Answers `{group_id, tasks}` whether one model or several (`model_ids`) were asked ' +
    'for: one task is `tasks[0]`, with `group_id` null.',
  request: { headers: IdempotencyHeaders, body: body(TaskCreateSchema) },
  responses: {
    201: json(
      TaskCreateResultSchema,
      'Created: each task `queued`, or already `running` when its runner had a free slot and nothing was queued ahead of it',
    ),
    200: json(TaskCreateResultSchema, 'Replayed: this Idempotency-Key already created these tasks'),
    ...errors(400, 401, 403, 404, 413, 415, 422),
    503: { description: 'The prompt service or registry did not answer; nothing was created' },
  },
});

export const listTasks = createRoute({
  method: 'get',
  path: '/api/v1/tasks',
  operationId: 'listTasks',
  tags: TAG,
  summary: 'List tasks, newest first, with filters',
  request: { query: TaskListQuerySchema },
  responses: { 200: json(TaskPageSchema, 'A page of tasks'), ...errors(400, 401, 403) },
});

export const getTask = createRoute({
  method: 'get',
  path: '/api/v1/tasks/{id}',
  operationId: 'getTask',
  tags: TAG,
  summary: 'Read a task with its attempts, snapshot, lineage and output',
  request: { params: IdParamSchema, query: GetTaskQuerySchema },
  responses: {
    200: { ...json(TaskDetailSchema, 'The task'), headers: TIMING_HEADER },
    ...errors(400, 401, 403, 404),
  },
});

export const cancelTask = createRoute({
  method: 'post',
  path: '/api/v1/tasks/{id}/cancel',
  operationId: 'cancelTask',
  tags: TAG,
  summary: 'Cancel a task: a queued one never starts; a running one is aborted promptly',
  description: 'Takes no body (send none, with or without `Content-Type`). Answers the task.',
  request: { params: IdParamSchema },
  responses: {
    200: json(TaskSchema, 'Cancelled, or already ended (unchanged)'),
    202: json(TaskSchema, 'Running: the instance running it aborts the provider request'),
    ...errors(400, 401, 403, 404),
  },
});

export const retryTask = createRoute({
  method: 'post',
  path: '/api/v1/tasks/{id}/retry',
  operationId: 'retryTask',
  tags: TAG,
  summary: 'Run a task again as a new task with the same snapshot (optionally another model or preset)',
  description:
    'The body is optional: without one (or with `{}`) the task runs again as it was. Answers the new task itself, not ' +
    '`{group_id, tasks}` as a create does: a retry makes exactly one task, outside any group, with `retry_of` the original.',
  request: { params: IdParamSchema, headers: IdempotencyHeaders, body: body(TaskRetrySchema, false) },
  responses: {
    201: json(TaskSchema, 'The new task, linked to the original by retry_of'),
    200: json(TaskSchema, 'Replayed: this Idempotency-Key already retried it'),
    ...errors(400, 401, 403, 404, 409, 422),
  },
});

export const getTaskImage = createRoute({
  method: 'get',
  path: '/api/v1/tasks/{id}/images/{index}',
  operationId: 'getTaskImage',
  tags: TAG,
  summary: 'The bytes of an image a task made',
  request: { params: ImageParamSchema },
  responses: {
    200: { description: 'The image', content: { 'image/*': { schema: z.string().openapi({ format: 'binary' }) } } },
    ...errors(400, 401, 403, 404),
  },
});

export const getTaskGroup = createRoute({
  method: 'get',
  path: '/api/v1/task-groups/{id}',
  operationId: 'getTaskGroup',
  tags: TAG,
  summary: 'A task group: the same messages on several models, side by side',
  request: { params: IdParamSchema },
  responses: { 200: json(TaskGroupSchema, 'The group'), ...errors(400, 401, 403, 404) },
});

export const getUsage = createRoute({
  method: 'get',
  path: '/api/v1/usage',
  operationId: 'getUsage',
  tags: TAG,
  summary: 'Usage and cost rolled up by day, model, provider or template',
  request: { query: UsageQuerySchema },
  responses: { 200: json(UsageReportSchema, 'The rollup'), ...errors(400, 401, 403) },
});

const read = { service: 'runner', role: 'viewer', scope: 'tasks:read' } as const;
const write = { service: 'runner', role: 'editor', scope: 'tasks:write' } as const;

/** The runner's public routes (see ./index.ts). */
export const runnerRoutes: PublicRoute[] = [
  { route: createTask, ...write },
  { route: listTasks, ...read },
  { route: getTask, ...read },
  { route: cancelTask, ...write },
  { route: retryTask, ...write },
  { route: getTaskImage, ...read },
  { route: getTaskGroup, ...read },
  { route: getUsage, ...read },
];
