import { createRoute, z } from '@hono/zod-openapi';
import { UsdSchema } from '../money.ts';
import { body, errors, IdParamSchema, json, IdempotencyHeaders } from './common.ts';

/**
 * LLM actions of the workflow (docs/workflow.md#actions): automations bound to a substage, a post's own
 * choices for them, their runs (one task each) and the suggestions those write back (DESIGN D12, ADR 0016).
 */

const TAG_ACTIONS = ['Workflow actions'];
const TAG_RUNS = ['Workflow runs and suggestions'];

const Timestamp = z.string().openapi({ format: 'date-time', example: '2025-06-01T09:30:00.000Z' });
const Uuid = z.uuid({ message: 'expected a UUID' });
const FieldKey = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,63}$/, 'expected a field key such as meta_description')
  .openapi({ example: 'meta_description' });
const Label = z.string().trim().min(1, 'expected a non-empty label').max(100, 'expected at most 100 characters');
const VariableName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'expected a template variable name')
  .openapi({ example: 'topic' });

export const ACTION_MODES = ['review', 'apply'] as const;

/** Where a template variable's value comes from. */
export const InputSourceSchema = z
  .discriminatedUnion('from', [
    z.object({ from: z.literal('post_field'), field: FieldKey }).strict(),
    z.object({ from: z.literal('section_field'), field: FieldKey }).strict(),
    z.object({ from: z.literal('post'), attribute: z.enum(['title', 'slug', 'status']) }).strict(),
    z.object({ from: z.literal('literal'), value: z.string().max(20_000, 'expected at most 20,000 characters') }).strict(),
  ])
  .openapi('WorkflowInputSource', {
    description: 'A post field, a field of the section being run (section targets only), a post attribute, or a literal.',
  });

export const InputMappingSchema = z
  .record(VariableName, InputSourceSchema)
  .refine((value) => Object.keys(value).length <= 50, 'expected at most 50 inputs')
  .openapi('WorkflowInputMapping', { description: 'Template variable ← source.' });

export const ActionSchema = z
  .object({
    id: Uuid,
    substage_id: Uuid,
    label: z.string().openapi({ description: 'The button label.' }),
    position: z.number().int(),
    template_id: Uuid,
    template_version: z.number().int().nullable(),
    template_label: z.string().nullable().openapi({
      description:
        'The template label the action follows; with neither a version nor a label, each run takes the latest published version.',
    }),
    model_id: Uuid.nullable(),
    preset_id: Uuid.nullable(),
    inputs: InputMappingSchema,
    target_field: z.string().openapi({ description: 'A post field, or a section field: then one task per section.' }),
    for_each_section: z.boolean(),
    mode: z.enum(ACTION_MODES).openapi({
      description:
        '`review`: the result is a suggestion to accept; `apply`: written as a revision by the task, unless the field changed meanwhile (then a conflict suggestion).',
    }),
    retired_at: Timestamp.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('WorkflowAction');

export const ActionCreateSchema = z
  .object({
    substage_id: Uuid,
    label: Label,
    position: z.number().int().min(1).max(10_000).optional(),
    template_id: Uuid,
    template_version: z.number().int().positive().optional(),
    template_label: z.string().min(1).max(63).optional(),
    model_id: Uuid.optional(),
    preset_id: Uuid.optional(),
    inputs: InputMappingSchema.default({}),
    target_field: FieldKey,
    mode: z.enum(ACTION_MODES).default('review'),
  })
  .strict()
  .superRefine((value, ctx) => {
    if (value.template_version !== undefined && value.template_label !== undefined)
      ctx.addIssue({ code: 'custom', path: ['template_label'], message: 'give a version or a label, not both' });
  })
  .openapi('WorkflowActionCreate');

export const ActionUpdateSchema = z
  .object({
    label: Label.optional(),
    position: z.number().int().min(1).max(10_000).optional(),
    template_version: z.number().int().positive().nullable().optional().openapi({
      description: 'Pin another version (clears the label); null with no label follows the latest published version.',
    }),
    template_label: z.string().min(1).max(63).nullable().optional().openapi({
      description: 'Follow another label (clears the version); null with no version follows the latest published version.',
    }),
    model_id: Uuid.nullable()
      .optional()
      .openapi({ description: 'Another model for the next runs; null: the preset’s or the template’s.' }),
    preset_id: Uuid.nullable().optional().openapi({ description: 'Another preset for the next runs; null: the template’s.' }),
    inputs: InputMappingSchema.optional(),
    mode: z.enum(ACTION_MODES).optional(),
    retired: z.boolean().optional(),
  })
  .strict()
  .refine((value) => Object.keys(value).length > 0, { message: 'expected at least one field to change' })
  .superRefine((value, ctx) => {
    if (typeof value.template_version === 'number' && typeof value.template_label === 'string')
      ctx.addIssue({ code: 'custom', path: ['template_label'], message: 'give a version or a label, not both' });
  })
  .openapi('WorkflowActionUpdate');

export const ActionListSchema = z.object({ items: z.array(ActionSchema) }).openapi('WorkflowActionList');

export const PostActionSchema = ActionSchema.extend({
  hidden: z.boolean(),
  overridden: z.boolean().openapi({ description: 'True when this post overrides the inputs or the target field.' }),
}).openapi('PostAction');

export const ChoiceSchema = z
  .object({
    hidden: z.boolean().optional(),
    inputs: InputMappingSchema.nullable()
      .optional()
      .openapi({ description: 'Replaces the action’s input mapping for this post; null restores it.' }),
    target_field: FieldKey.nullable()
      .optional()
      .openapi({ description: 'Another target field for this post; null restores it.' }),
  })
  .strict()
  .openapi('PostActionChoice');

export const CopyChoicesSchema = z.object({ to_post_id: Uuid }).strict().openapi('PostActionChoicesCopy');

export const RUN_STATUSES = [
  'requested',
  'suggested',
  'applied',
  'conflict',
  'failed',
  'rejected',
  'cancelled',
  'obsolete',
] as const;

export const SuggestionSchema = z
  .object({
    id: Uuid,
    task_id: Uuid,
    action_run_id: Uuid,
    post_id: Uuid,
    section_id: Uuid.nullable(),
    field_key: z.string(),
    value: z.unknown(),
    base_revision_id: Uuid.nullable(),
    valid: z.boolean().openapi({ description: 'Whether the value fits the field (kind and schema).' }),
    invalid_reasons: z.array(z.object({ field: z.string(), message: z.string() })),
    status: z.enum(['open', 'accepted', 'rejected', 'superseded', 'conflict', 'obsolete']),
    decided_by: z.string().nullable(),
    decided_at: Timestamp.nullable(),
    revision_id: Uuid.nullable().openapi({ description: 'The revision accepting it wrote.' }),
    created_at: Timestamp,
  })
  .openapi('WorkflowSuggestion');

export const ActionRunSchema = z
  .object({
    id: Uuid,
    action_id: Uuid,
    action_label: z.string(),
    post_id: Uuid,
    section_id: Uuid.nullable(),
    field_key: z.string(),
    mode: z.enum(ACTION_MODES),
    status: z.enum(RUN_STATUSES),
    requested_by: z.string(),
    task_id: Uuid.nullable().openapi({ description: 'Known once the runner queued (or rejected) the request.' }),
    target_base_revision_id: Uuid.nullable(),
    inputs: z.record(z.string(), z.object({ value: z.unknown(), revision_id: Uuid.nullable() })),
    error: z.record(z.string(), z.unknown()).nullable().openapi({ description: 'Why it failed or was rejected.' }),
    output_text: z.string().nullable(),
    cost_usd: UsdSchema.nullable().openapi({
      description: 'What its task cost, in the one money format; null until it finished.',
    }),
    suggestion: SuggestionSchema.nullable(),
    created_at: Timestamp,
    finished_at: Timestamp.nullable(),
  })
  .openapi('WorkflowActionRun');

export const RunOverridesSchema = z
  .object({
    inputs: z
      .record(VariableName, z.unknown())
      .refine((value) => Object.keys(value).length <= 50, 'expected at most 50 inputs')
      .optional()
      .openapi({
        description:
          'Values for template variables that replace what the mapping reads from the post, for this run only (every section’s run, for a section target).',
      }),
    model_id: Uuid.optional().openapi({ description: 'Another model for this run.' }),
    preset_id: Uuid.optional().openapi({ description: 'Another preset for this run.' }),
  })
  .strict()
  .openapi('WorkflowRunOverrides');

export const RunsCreatedSchema = z
  .object({ runs: z.array(ActionRunSchema).openapi({ description: 'One per target: one, or one per section.' }) })
  .openapi('WorkflowRunsCreated');

export const RunListSchema = z.object({ items: z.array(ActionRunSchema) }).openapi('WorkflowActionRunList');

export const AcceptSchema = z
  .object({
    base_revision_id: Uuid.nullable().openapi({ description: 'The field’s revision you see now; a stale one is a 409.' }),
    value: z.unknown().optional().openapi({ description: 'Edit-and-accept: the value to write instead of the suggestion’s.' }),
  })
  .strict()
  .openapi('WorkflowSuggestionAccept');

export const PostActionParamsSchema = z.object({
  id: Uuid.openapi({ param: { name: 'id', in: 'path' } }),
  action_id: Uuid.openapi({ param: { name: 'action_id', in: 'path' } }),
});

export const listActions = createRoute({
  method: 'get',
  path: '/api/v1/workflow/actions',
  operationId: 'listWorkflowActions',
  tags: TAG_ACTIONS,
  summary: 'LLM actions, by substage and order',
  request: { query: z.object({ substage_id: Uuid.optional(), include_retired: z.enum(['true', 'false']).optional() }) },
  responses: { 200: json(ActionListSchema, 'The actions'), ...errors(400, 401, 403) },
});

export const createAction = createRoute({
  method: 'post',
  path: '/api/v1/workflow/actions',
  operationId: 'createWorkflowAction',
  tags: TAG_ACTIONS,
  summary: 'Define an LLM action',
  request: { headers: IdempotencyHeaders, body: body(ActionCreateSchema) },
  responses: { 201: json(ActionSchema, 'Created'), ...errors(400, 401, 403, 409, 413, 415, 422) },
});

export const getAction = createRoute({
  method: 'get',
  path: '/api/v1/workflow/actions/{id}',
  operationId: 'getWorkflowAction',
  tags: TAG_ACTIONS,
  summary: 'Read an LLM action',
  request: { params: IdParamSchema },
  responses: { 200: json(ActionSchema, 'The action'), ...errors(400, 401, 403, 404) },
});

export const updateAction = createRoute({
  method: 'patch',
  path: '/api/v1/workflow/actions/{id}',
  operationId: 'updateWorkflowAction',
  tags: TAG_ACTIONS,
  summary: 'Rename, move, remap, change the mode of, retire or bring back an action',
  request: { params: IdParamSchema, body: body(ActionUpdateSchema) },
  responses: { 200: json(ActionSchema, 'Updated'), ...errors(400, 401, 403, 404, 413, 415, 422) },
});

export const listPostActions = createRoute({
  method: 'get',
  path: '/api/v1/workflow/posts/{id}/available-actions',
  operationId: 'listPostActions',
  tags: TAG_ACTIONS,
  summary: 'The actions as this post sees them: with its choices applied',
  request: { params: IdParamSchema },
  responses: {
    200: json(z.object({ items: z.array(PostActionSchema) }).openapi('PostActionList'), 'The actions'),
    ...errors(400, 401, 403, 404),
  },
});

export const setPostActionChoice = createRoute({
  method: 'put',
  path: '/api/v1/workflow/posts/{id}/actions/{action_id}/choice',
  operationId: 'setPostActionChoice',
  tags: TAG_ACTIONS,
  summary: 'Hide an action on this post, or override its inputs or target field',
  request: { params: PostActionParamsSchema, body: body(ChoiceSchema) },
  responses: { 200: json(PostActionSchema, 'The action as this post sees it'), ...errors(400, 401, 403, 404, 413, 415, 422) },
});

export const copyPostActionChoices = createRoute({
  method: 'post',
  path: '/api/v1/workflow/posts/{id}/actions/copy',
  operationId: 'copyPostActionChoices',
  tags: TAG_ACTIONS,
  summary: 'Copy this post’s action choices to another post (replacing its own)',
  request: { params: IdParamSchema, body: body(CopyChoicesSchema) },
  responses: {
    200: json(z.object({ copied: z.number().int() }).openapi('PostActionChoicesCopied'), 'Copied'),
    ...errors(400, 401, 403, 404, 413, 415, 422),
  },
});

export const runAction = createRoute({
  method: 'post',
  path: '/api/v1/workflow/posts/{id}/actions/{action_id}/runs',
  operationId: 'runWorkflowAction',
  tags: TAG_RUNS,
  summary: 'Run an action on this post: one task, or one per section',
  description:
    'Answers 202 with the runs; each asks the runner for a task over the bus (`runner.task.requested`, idempotency key = the run id, correlation `{post_id, section_id, action_id, action_run_id}`). Subscribe to the post’s events first to stream the task from `runner.task.queued`. The optional body adjusts this run only: input values, model or preset; an input given here is recorded without a revision.',
  request: { params: PostActionParamsSchema, headers: IdempotencyHeaders, body: body(RunOverridesSchema, false) },
  responses: { 202: json(RunsCreatedSchema, 'Requested'), ...errors(400, 401, 403, 404, 409, 422) },
});

export const listPostRuns = createRoute({
  method: 'get',
  path: '/api/v1/workflow/posts/{id}/runs',
  operationId: 'listPostRuns',
  tags: TAG_RUNS,
  summary: 'The post’s LLM history: every run, its task, output, cost, and what was accepted by whom',
  request: { params: IdParamSchema },
  responses: { 200: json(RunListSchema, 'Newest first'), ...errors(400, 401, 403, 404) },
});

export const acceptSuggestion = createRoute({
  method: 'post',
  path: '/api/v1/workflow/suggestions/{id}/accept',
  operationId: 'acceptWorkflowSuggestion',
  tags: TAG_RUNS,
  summary: 'Accept a suggestion (or an edited value of it): a revision by you that names the source task',
  request: { params: IdParamSchema, body: body(AcceptSchema) },
  responses: { 200: json(SuggestionSchema, 'Accepted'), ...errors(400, 401, 403, 404, 409, 413, 415, 422) },
});

export const rejectSuggestion = createRoute({
  method: 'post',
  path: '/api/v1/workflow/suggestions/{id}/reject',
  operationId: 'rejectWorkflowSuggestion',
  tags: TAG_RUNS,
  summary: 'Reject a suggestion',
  request: { params: IdParamSchema },
  responses: { 200: json(SuggestionSchema, 'Rejected'), ...errors(400, 401, 403, 404, 409) },
});

const read = { service: 'workflow', role: 'viewer', scope: 'workflow:read' } as const;
const write = { service: 'workflow', role: 'editor', scope: 'workflow:write' } as const;
const define = { service: 'workflow', role: 'admin', scope: 'workflow:write' } as const;

export const workflowActionRoutes = [
  { route: listActions, ...read },
  { route: createAction, ...define },
  { route: getAction, ...read },
  { route: updateAction, ...define },
  { route: listPostActions, ...read },
  { route: setPostActionChoice, ...write },
  { route: copyPostActionChoices, ...write },
  { route: runAction, ...write },
  { route: listPostRuns, ...read },
  { route: acceptSuggestion, ...write },
  { route: rejectSuggestion, ...write },
] as const;
