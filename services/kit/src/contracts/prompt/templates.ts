import { createRoute, z } from '@hono/zod-openapi';
import { body, errors, IdParamSchema, pageOf, PageQuerySchema, json } from '../common.ts';
import { PROMPT_LIMITS } from '../prompt-limits.ts';
import {
  Content,
  Description,
  DiscoveredVariableSchema,
  IdempotencyHeaders,
  IfMatchHeaders,
  LabelNameSchema,
  Name,
  RoleSchema,
  TAG,
  Timestamp,
  Uuid,
  VersionNumber,
} from './shared.ts';
import { DiffLineSchema, DiffQuerySchema, DiffSide, FieldChangeSchema, PublishSchema, VersionParamSchema } from './parts.ts';

/** Message templates: drafts of messages and entries, published versions, diffs and labels. */
export const VariableName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'expected a variable name: letters, digits and underscores, not starting with a digit')
  .openapi({ example: 'topic' });

export const VariableDeclSchema = z
  .object({
    name: VariableName,
    type: z.enum(['string', 'number', 'boolean', 'list', 'object']),
    required: z.boolean().default(true),
    description: z.string().max(500).default(''),
    default: z.unknown().optional().openapi({ description: 'Used when the input is absent; must have the declared type.' }),
  })
  .strict()
  .openapi('VariableDeclaration');

export const PartEntryInput = z
  .object({
    id: Uuid.optional(),
    type: z.literal('part'),
    part_id: Uuid,
    version: VersionNumber.nullable()
      .default(null)
      .openapi({ description: 'A part version to pin, or null to follow `label` (the latest published version by default).' }),
    label: LabelNameSchema.nullable().default(null).openapi({
      description:
        'With `version` null: a part label to follow (`latest`, the default, is the newest published version). Publishing freezes it to the version it points at.',
    }),
  })
  .strict();
export const TextEntryInput = z.object({ id: Uuid.optional(), type: z.literal('text'), text: Content }).strict();
export const EntryInputSchema = z.discriminatedUnion('type', [PartEntryInput, TextEntryInput]).openapi('TemplateEntryInput');

export const MessageInputSchema = z
  .object({
    id: Uuid.optional(),
    role: RoleSchema,
    entries: z
      .array(EntryInputSchema)
      .min(1, 'expected at least one entry')
      .max(PROMPT_LIMITS.entriesPerMessage, `expected at most ${PROMPT_LIMITS.entriesPerMessage} entries`),
  })
  .strict()
  .openapi('TemplateMessageInput');

export const Messages = z
  .array(MessageInputSchema)
  .max(PROMPT_LIMITS.messages, `expected at most ${PROMPT_LIMITS.messages} messages`);
export const Variables = z
  .array(VariableDeclSchema)
  .max(PROMPT_LIMITS.variables, `expected at most ${PROMPT_LIMITS.variables} variables`);

export const TemplateCreateSchema = z
  .object({
    name: Name,
    description: Description.default(''),
    merge_adjacent: z.boolean().default(false),
    default_model_id: Uuid.nullable().default(null),
    default_preset_id: Uuid.nullable().default(null),
    variables: Variables.default([]),
    messages: Messages.default([]),
  })
  .strict()
  .openapi('PromptTemplateCreate');

export const TemplateUpdateSchema = z
  .object({
    name: Name.optional(),
    description: Description.optional(),
    merge_adjacent: z.boolean().optional(),
    default_model_id: Uuid.nullable().optional(),
    default_preset_id: Uuid.nullable().optional(),
    variables: Variables.optional(),
    messages: Messages.optional().openapi({ description: 'Replaces the whole list; keep `id`s to keep identities.' }),
  })
  .strict()
  .refine((value) => Object.keys(value).length > 0, { message: 'expected at least one field to change' })
  .openapi('PromptTemplateUpdate');

export const EntrySchema = z
  .object({
    id: Uuid,
    type: z.enum(['part', 'text']),
    part_id: Uuid.nullable(),
    part_name: z.string().nullable(),
    version: z.number().int().nullable().openapi({ description: 'The pinned (or, in a version, frozen) part version.' }),
    follows: z.string().nullable().openapi({
      description:
        '"latest", or the part label, when the draft entry follows one instead of pinning a version (in a version: what it followed at publish).',
    }),
    text: z.string().nullable(),
  })
  .openapi('TemplateEntry');

export const MessageSchema = z.object({ id: Uuid, role: RoleSchema, entries: z.array(EntrySchema) }).openapi('TemplateMessage');

export const LabelSchema = z
  .object({
    name: z.string(),
    version: z.number().int(),
    protected: z.boolean(),
    created_at: Timestamp,
    updated_at: Timestamp,
    updated_by: z.string(),
  })
  .openapi('TemplateLabel');

export const TemplateSchema = z
  .object({
    id: Uuid,
    name: z.string(),
    description: z.string(),
    merge_adjacent: z.boolean(),
    default_model_id: Uuid.nullable(),
    default_preset_id: Uuid.nullable(),
    variables: z.array(VariableDeclSchema),
    messages: z.array(MessageSchema),
    discovered_variables: z.array(DiscoveredVariableSchema),
    latest_version: z.number().int().nullable(),
    labels: z.array(LabelSchema),
    created_by: z.string(),
    updated_by: z.string(),
    created_at: Timestamp,
    updated_at: Timestamp,
    deleted_at: Timestamp.nullable(),
  })
  .openapi('PromptTemplate');

export const TemplateSummarySchema = TemplateSchema.pick({
  id: true,
  name: true,
  description: true,
  latest_version: true,
  labels: true,
  created_at: true,
  updated_at: true,
  deleted_at: true,
})
  .extend({ message_count: z.number().int() })
  .openapi('PromptTemplateSummary');

export const TemplateListQuerySchema = PageQuerySchema.extend({
  q: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .optional()
    .openapi({ param: { name: 'q', in: 'query' }, description: 'Part of the name, case-insensitive.' }),
});

export const TemplateVersionSchema = z
  .object({
    template_id: Uuid,
    version: z.number().int(),
    name: z.string(),
    description: z.string(),
    merge_adjacent: z.boolean(),
    default_model_id: Uuid.nullable(),
    default_preset_id: Uuid.nullable(),
    variables: z.array(VariableDeclSchema),
    messages: z.array(MessageSchema),
    part_versions: z.array(z.object({ part_id: Uuid, version: z.number().int() })),
    message: z.string(),
    author: z.string(),
    created_at: Timestamp,
    labels: z.array(z.string()),
  })
  .openapi('PromptTemplateVersion');

export const TemplateVersionSummarySchema = TemplateVersionSchema.pick({
  template_id: true,
  version: true,
  name: true,
  message: true,
  author: true,
  created_at: true,
  labels: true,
}).openapi('PromptTemplateVersionSummary');

export const MessageDiffSchema = z
  .object({
    index: z.number().int().openapi({ description: 'Position of the message on the `to` side (or `from` when removed).' }),
    change: z.enum(['added', 'removed', 'changed', 'unchanged']),
    // Enums as a union with null: a nullable enum becomes a JSON schema whose enum leaves null out.
    role: z.object({ from: z.union([RoleSchema, z.null()]), to: z.union([RoleSchema, z.null()]) }),
    entries: z.array(
      z.object({
        change: z.enum(['added', 'removed', 'changed', 'unchanged']),
        from: z.union([EntrySchema, z.null()]),
        to: z.union([EntrySchema, z.null()]),
      }),
    ),
    text: z
      .array(DiffLineSchema)
      .openapi({ description: "Line diff of the message's source text (parts' content and inline text)." }),
  })
  .openapi('TemplateMessageDiff');

export const TemplateDiffSchema = z
  .object({
    from: z.union([DiffSide, z.null()]),
    to: DiffSide,
    changed: z.boolean(),
    fields: z.array(FieldChangeSchema),
    messages: z.array(MessageDiffSchema),
  })
  .openapi('PromptTemplateDiff');

export const LabelParamSchema = IdParamSchema.extend({
  label: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'expected a label: lower-case letters, digits, dots, dashes, underscores (1–63)')
    .openapi({ param: { name: 'label', in: 'path' }, example: 'production' }),
});

export const LabelMoveSchema = z
  .object({
    from_version: z.number().int().nullable(),
    to_version: z.number().int().nullable(),
    protected: z.boolean(),
    actor: z.object({ kind: z.enum(['account', 'service']), id: z.string() }),
    at: Timestamp,
  })
  .openapi('LabelMove');

export const LabelDetailSchema = LabelSchema.extend({
  moves: z.array(LabelMoveSchema).openapi({ description: 'The latest 50 changes, newest first.' }),
}).openapi('TemplateLabelDetail');

export const LabelSetSchema = z
  .object({
    version: VersionNumber,
    protected: z.boolean().optional().openapi({
      description: 'Only an admin may change it. A new `production` label is protected unless set false by an admin.',
    }),
    dry_run: z
      .boolean()
      .default(false)
      .openapi({ description: 'Show the diff and impact of the move and a `confirm` token; change nothing.' }),
    confirm: z
      .string()
      .max(200)
      .optional()
      .openapi({ description: 'The `confirm` token of a dry run: required to set or move a protected label.' }),
  })
  .strict()
  .openapi('LabelSet');

export const LabelImpactSchema = z
  .object({
    variables_added: z.array(z.string()),
    variables_removed: z.array(z.string()),
    newly_required: z
      .array(z.string())
      .openapi({ description: 'Inputs that callers of the label must now provide, or their tasks are rejected.' }),
    part_versions_changed: z.array(
      z.object({ part_id: Uuid, from_version: z.number().int().nullable(), to_version: z.number().int().nullable() }),
    ),
  })
  .openapi('LabelImpact');

export const LabelSetResultSchema = z
  .object({
    applied: z.boolean(),
    label: z.union([LabelSchema, z.null()]).openapi({ description: 'The label as it is now (after the change when applied).' }),
    from_version: z.number().int().nullable(),
    to_version: z.number().int(),
    diff: TemplateDiffSchema,
    impact: LabelImpactSchema,
    confirm: z.string().nullable().openapi({ description: 'Send it back to apply exactly this move (dry runs only).' }),
  })
  .openapi('LabelSetResult');

export const LabelDeleteQuerySchema = z.object({
  dry_run: z.enum(['true', 'false']).optional().openapi({ description: 'Show the label and a `confirm` token; delete nothing.' }),
  confirm: z
    .string()
    .max(200)
    .optional()
    .openapi({ description: 'The `confirm` token of a dry run: required to delete a protected label.' }),
});

export const LabelDeleteDryRunSchema = z
  .object({
    applied: z.literal(false),
    label: LabelSchema,
    confirm: z.string().openapi({ description: 'Send it back as `?confirm=` to delete exactly this label at this version.' }),
  })
  .openapi('LabelDeleteDryRun');

export const MessageParamSchema = IdParamSchema.extend({
  message_id: Uuid.openapi({ param: { name: 'message_id', in: 'path' } }),
});
export const EntryParamSchema = MessageParamSchema.extend({
  entry_id: Uuid.openapi({ param: { name: 'entry_id', in: 'path' } }),
});

export const listTemplates = createRoute({
  method: 'get',
  path: '/api/v1/templates',
  operationId: 'listTemplates',
  tags: TAG,
  summary: 'List templates',
  request: { query: TemplateListQuerySchema },
  responses: {
    200: json(pageOf(TemplateSummarySchema, 'PromptTemplatePage'), 'A page of templates'),
    ...errors(400, 401, 403),
  },
});

export const createTemplate = createRoute({
  method: 'post',
  path: '/api/v1/templates',
  operationId: 'createTemplate',
  tags: TAG,
  summary: 'Create a template (a draft)',
  request: { headers: IdempotencyHeaders, body: body(TemplateCreateSchema) },
  responses: { 201: json(TemplateSchema, 'Created'), ...errors(400, 401, 403, 409, 413, 415, 422) },
});

export const getTemplate = createRoute({
  method: 'get',
  path: '/api/v1/templates/{id}',
  operationId: 'getTemplate',
  tags: TAG,
  summary: 'Read a template (its draft)',
  request: { params: IdParamSchema },
  responses: { 200: json(TemplateSchema, 'The template'), ...errors(400, 401, 403, 404) },
});

export const updateTemplate = createRoute({
  method: 'patch',
  path: '/api/v1/templates/{id}',
  operationId: 'updateTemplate',
  tags: TAG,
  summary: "Edit a template's draft (settings, variables, or the whole message list)",
  request: { params: IdParamSchema, headers: IfMatchHeaders, body: body(TemplateUpdateSchema) },
  responses: { 200: json(TemplateSchema, 'Updated'), ...errors(400, 401, 403, 404, 409, 412, 413, 415, 422) },
});

export const deleteTemplate = createRoute({
  method: 'delete',
  path: '/api/v1/templates/{id}',
  operationId: 'deleteTemplate',
  tags: TAG,
  summary: 'Delete a template',
  description: 'Its versions stay readable; its labels no longer resolve. A template with a protected label needs an admin.',
  request: { params: IdParamSchema, headers: IfMatchHeaders },
  responses: { 204: { description: 'Deleted' }, ...errors(400, 401, 403, 404, 412) },
});

export const addMessage = createRoute({
  method: 'post',
  path: '/api/v1/templates/{id}/messages',
  operationId: 'addTemplateMessage',
  tags: TAG,
  summary: 'Add a message to the draft',
  request: {
    params: IdParamSchema,
    headers: IfMatchHeaders,
    body: body(
      MessageInputSchema.extend({
        position: z.number().int().min(0).optional().openapi({ description: 'Where to insert; default: at the end.' }),
      }),
    ),
  },
  responses: { 201: json(TemplateSchema, 'The template with the message'), ...errors(400, 401, 403, 404, 412, 422) },
});

export const updateMessage = createRoute({
  method: 'patch',
  path: '/api/v1/templates/{id}/messages/{message_id}',
  operationId: 'updateTemplateMessage',
  tags: TAG,
  summary: "Change a message's role or its entries (a new entry list reorders, adds and removes)",
  request: {
    params: MessageParamSchema,
    headers: IfMatchHeaders,
    body: body(
      z
        .object({ role: RoleSchema.optional(), entries: MessageInputSchema.shape.entries.optional() })
        .strict()
        .refine((value) => Object.keys(value).length > 0, { message: 'expected at least one field to change' }),
    ),
  },
  responses: { 200: json(TemplateSchema, 'The template'), ...errors(400, 401, 403, 404, 412, 422) },
});

export const deleteMessage = createRoute({
  method: 'delete',
  path: '/api/v1/templates/{id}/messages/{message_id}',
  operationId: 'deleteTemplateMessage',
  tags: TAG,
  summary: 'Remove a message from the draft',
  request: { params: MessageParamSchema, headers: IfMatchHeaders },
  responses: { 200: json(TemplateSchema, 'The template without it'), ...errors(400, 401, 403, 404, 412) },
});

export const reorderMessages = createRoute({
  method: 'put',
  path: '/api/v1/templates/{id}/messages/order',
  operationId: 'reorderTemplateMessages',
  tags: TAG,
  summary: 'Reorder the messages of the draft',
  request: {
    params: IdParamSchema,
    headers: IfMatchHeaders,
    body: body(z.object({ message_ids: z.array(Uuid).max(PROMPT_LIMITS.messages) }).strict()),
  },
  responses: { 200: json(TemplateSchema, 'The template'), ...errors(400, 401, 403, 404, 412, 422) },
});

export const addEntry = createRoute({
  method: 'post',
  path: '/api/v1/templates/{id}/messages/{message_id}/entries',
  operationId: 'addTemplateEntry',
  tags: TAG,
  summary: 'Add an entry (a part or inline text) to a message',
  request: {
    params: MessageParamSchema,
    headers: IfMatchHeaders,
    body: body(
      z
        .object({
          entry: EntryInputSchema,
          position: z.number().int().min(0).optional().openapi({ description: 'Where to insert; default: at the end.' }),
        })
        .strict(),
    ),
  },
  responses: { 201: json(TemplateSchema, 'The template with the entry'), ...errors(400, 401, 403, 404, 412, 422) },
});

export const deleteEntry = createRoute({
  method: 'delete',
  path: '/api/v1/templates/{id}/messages/{message_id}/entries/{entry_id}',
  operationId: 'deleteTemplateEntry',
  tags: TAG,
  summary: 'Remove an entry from a message (a message left empty is removed too)',
  request: { params: EntryParamSchema, headers: IfMatchHeaders },
  responses: { 200: json(TemplateSchema, 'The template'), ...errors(400, 401, 403, 404, 412) },
});

export const publishTemplate = createRoute({
  method: 'post',
  path: '/api/v1/templates/{id}/publish',
  operationId: 'publishTemplate',
  tags: TAG,
  summary: 'Publish the draft: freeze it and every part reference into a new version',
  description:
    'A reference to a deleted or unpublished part, or a syntax error, is a 422 naming it. Nothing new to publish is a 409.',
  request: {
    params: IdParamSchema,
    headers: IfMatchHeaders.extend(IdempotencyHeaders.shape),
    body: body(PublishSchema, false),
  },
  responses: { 201: json(TemplateVersionSchema, 'Published'), ...errors(400, 401, 403, 404, 409, 412, 422) },
});

export const listTemplateVersions = createRoute({
  method: 'get',
  path: '/api/v1/templates/{id}/versions',
  operationId: 'listTemplateVersions',
  tags: TAG,
  summary: "List a template's versions, newest first",
  request: { params: IdParamSchema, query: PageQuerySchema },
  responses: {
    200: json(pageOf(TemplateVersionSummarySchema, 'PromptTemplateVersionPage'), 'A page of versions'),
    ...errors(400, 401, 403, 404),
  },
});

export const getTemplateVersion = createRoute({
  method: 'get',
  path: '/api/v1/templates/{id}/versions/{version}',
  operationId: 'getTemplateVersion',
  tags: TAG,
  summary: 'Read one version of a template',
  request: { params: VersionParamSchema },
  responses: { 200: json(TemplateVersionSchema, 'The version'), ...errors(400, 401, 403, 404) },
});

export const diffTemplate = createRoute({
  method: 'get',
  path: '/api/v1/templates/{id}/diff',
  operationId: 'diffTemplateVersions',
  tags: TAG,
  summary: 'Diff two versions of a template (or a version and the draft), message by message',
  request: { params: IdParamSchema, query: DiffQuerySchema },
  responses: { 200: json(TemplateDiffSchema, 'The diff'), ...errors(400, 401, 403, 404) },
});

export const listLabels = createRoute({
  method: 'get',
  path: '/api/v1/templates/{id}/labels',
  operationId: 'listTemplateLabels',
  tags: TAG,
  summary: "List a template's labels",
  request: { params: IdParamSchema },
  responses: { 200: json(z.object({ items: z.array(LabelSchema) }), 'The labels'), ...errors(400, 401, 403, 404) },
});

export const getLabel = createRoute({
  method: 'get',
  path: '/api/v1/templates/{id}/labels/{label}',
  operationId: 'getTemplateLabel',
  tags: TAG,
  summary: 'Resolve a label to a version, with its history of moves',
  description: 'Sends an `ETag`: send it back as `If-Match` to set or delete the label only if nobody changed it since.',
  request: { params: LabelParamSchema },
  responses: { 200: json(LabelDetailSchema, 'The label'), ...errors(400, 401, 403, 404) },
});

export const confirmationRequired = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: z.object({}).passthrough() } },
});

export const setLabel = createRoute({
  method: 'put',
  path: '/api/v1/templates/{id}/labels/{label}',
  operationId: 'setTemplateLabel',
  tags: TAG,
  summary: 'Set or move a label (dry run first for a protected one)',
  description:
    'With `dry_run: true` nothing changes: the answer shows the diff and impact of the move and a `confirm` token. ' +
    'Setting or moving a protected label (one that is, or that this change protects; `production` is from the start) ' +
    'needs the admin role and that token (428 without it; 409 when the label moved meanwhile). Honours If-Match (412).',
  request: { params: LabelParamSchema, headers: IfMatchHeaders, body: body(LabelSetSchema) },
  responses: {
    200: json(LabelSetResultSchema, 'Moved, unchanged, or (dry run) what would happen'),
    ...errors(400, 401, 403, 404, 409, 412, 422),
    428: confirmationRequired('A protected label: preview the move with `dry_run` and send back its `confirm`'),
  },
});

export const deleteLabel = createRoute({
  method: 'delete',
  path: '/api/v1/templates/{id}/labels/{label}',
  operationId: 'deleteTemplateLabel',
  tags: TAG,
  summary: 'Delete a label (admin, dry run and confirm for a protected one)',
  description:
    'With `?dry_run=true` nothing changes: the answer shows the label and a `confirm` token. Deleting a protected label ' +
    'needs the admin role and that token as `?confirm=` (428 without it; 409 when the label moved meanwhile). Honours If-Match (412).',
  request: { params: LabelParamSchema, headers: IfMatchHeaders, query: LabelDeleteQuerySchema },
  responses: {
    200: json(LabelDeleteDryRunSchema, 'Dry run: what would be deleted'),
    204: { description: 'Deleted' },
    ...errors(400, 401, 403, 404, 409, 412),
    428: confirmationRequired('A protected label: preview the delete with `?dry_run=true` and send back its `confirm`'),
  },
});
