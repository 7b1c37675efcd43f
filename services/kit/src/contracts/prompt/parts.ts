import { createRoute, z } from '@hono/zod-openapi';
import { body, errors, IdParamSchema, pageOf, PageQuerySchema, json } from '../common.ts';
import {
  CommitMessage,
  Content,
  Description,
  DiscoveredVariableSchema,
  IdempotencyHeaders,
  IfMatchHeaders,
  KindName,
  LabelNameSchema,
  Name,
  RoleSchema,
  TAG,
  Tag,
  Tags,
  Timestamp,
  Uuid,
  VersionNumber,
} from './shared.ts';

/** Prompt parts: reusable pieces of prompt text, their immutable versions, diffs, impact and labels. */
export const PartKindSchema = z
  .object({ name: z.string(), description: z.string(), default_role: RoleSchema, position: z.number().int() })
  .openapi('PartKind');

export const PartSchema = z
  .object({
    id: Uuid,
    kind: z.string(),
    name: z.string(),
    description: z.string(),
    tags: z.array(z.string()),
    default_role: RoleSchema,
    content: z.string(),
    variables: z.array(DiscoveredVariableSchema),
    latest_version: z.number().int().nullable().openapi({ description: 'Null until first published.' }),
    has_unpublished_changes: z.boolean(),
    created_by: z.string(),
    updated_by: z.string(),
    created_at: Timestamp,
    updated_at: Timestamp,
    deleted_at: Timestamp.nullable(),
  })
  .openapi('PromptPart');

export const PartSummarySchema = PartSchema.omit({ content: true, variables: true })
  .extend({ rank: z.number().nullable().openapi({ description: 'Full-text relevance when `q` was given.' }) })
  .openapi('PromptPartSummary');

export const PartCreateSchema = z
  .object({
    kind: KindName,
    name: Name,
    description: Description.default(''),
    tags: Tags.default([]),
    default_role: RoleSchema.optional().openapi({ description: "Defaults to the kind's default role." }),
    content: Content,
  })
  .strict()
  .openapi('PromptPartCreate');

export const PartUpdateSchema = z
  .object({
    kind: KindName.optional(),
    name: Name.optional(),
    description: Description.optional(),
    tags: Tags.optional(),
    default_role: RoleSchema.optional(),
    content: Content.optional(),
  })
  .strict()
  .refine((value) => Object.keys(value).length > 0, { message: 'expected at least one field to change' })
  .openapi('PromptPartUpdate');

export const PublishSchema = z
  .object({ message: CommitMessage.default('').openapi({ description: 'What changed, for the history.' }) })
  .strict()
  .openapi('PublishRequest');

export const PartVersionSchema = z
  .object({
    part_id: Uuid,
    version: z.number().int(),
    kind: z.string(),
    name: z.string(),
    description: z.string(),
    tags: z.array(z.string()),
    default_role: RoleSchema,
    content: z.string(),
    variables: z.array(DiscoveredVariableSchema),
    message: z.string(),
    author: z.string(),
    created_at: Timestamp,
  })
  .openapi('PromptPartVersion');

export const PartVersionSummarySchema = PartVersionSchema.omit({ content: true, variables: true }).openapi(
  'PromptPartVersionSummary',
);

export const DiffLineSchema = z
  .object({
    op: z.enum(['equal', 'add', 'remove']),
    text: z.string(),
    from_line: z.number().int().nullable(),
    to_line: z.number().int().nullable(),
  })
  .openapi('DiffLine');

export const FieldChangeSchema = z.object({ field: z.string(), from: z.unknown(), to: z.unknown() }).openapi('FieldChange');

export const DiffSide = z.union([z.literal('draft'), VersionNumber]);

export const PartDiffSchema = z
  .object({
    from: DiffSide,
    to: DiffSide,
    changed: z.boolean(),
    fields: z.array(FieldChangeSchema),
    content: z.array(DiffLineSchema),
  })
  .openapi('PromptPartDiff');

export const VersionOrDraft = z
  .string()
  .regex(/^(draft|[1-9][0-9]{0,8})$/, 'expected a version number or "draft"')
  .openapi({ examples: ['3', 'draft'] })
  .transform((value) => (value === 'draft' ? ('draft' as const) : Number(value)));

export const DiffQuerySchema = z.object({
  from: VersionOrDraft.optional().openapi({
    param: { name: 'from', in: 'query' },
    description: 'A version number or `draft`; default: the version before `to`.',
  }),
  to: VersionOrDraft.optional().openapi({
    param: { name: 'to', in: 'query' },
    description: 'A version number or `draft`; default: `draft`.',
  }),
});

export const TemplateRefSchema = z
  .object({ template_id: Uuid, name: z.string(), message_index: z.number().int(), entry_index: z.number().int() })
  .openapi('TemplateEntryRef');

export const PartImpactSchema = z
  .object({
    part_id: Uuid,
    latest_version: z.number().int().nullable(),
    draft_differs: z
      .boolean()
      .openapi({ description: 'Whether publishing now would make a new version (the draft differs from the latest).' }),
    variables_added: z.array(z.string()),
    variables_removed: z.array(z.string()),
    would_change: z
      .array(TemplateRefSchema)
      .openapi({ description: 'Template drafts whose entries follow the latest version: their next publish takes the new one.' }),
    label_followers: z.array(TemplateRefSchema.extend({ label: z.string(), version: z.number().int().nullable() })).openapi({
      description:
        "Template drafts whose entries follow one of this part's labels (at `version` now): publishing the part does not change them; moving that label does.",
    }),
    pinned: z
      .array(TemplateRefSchema.extend({ version: z.number().int() }))
      .openapi({ description: 'Template drafts that pin an older version: unaffected until someone re-pins.' }),
    published_versions: z
      .array(
        z.object({
          template_id: Uuid,
          name: z.string(),
          version: z.number().int(),
          part_version: z.number().int(),
          labels: z.array(z.string()),
        }),
      )
      .openapi({ description: 'Published template versions that use this part: frozen, they never change.' }),
  })
  .openapi('PromptPartImpact');

export const PartLabelParamSchema = IdParamSchema.extend({
  label: LabelNameSchema.refine((name) => name !== 'latest', {
    message: '"latest" is built in (the newest published version) and cannot be set',
  }).openapi({ param: { name: 'label', in: 'path' }, example: 'stable' }),
});

export const PartLabelMoveSchema = z
  .object({
    label: z.string(),
    from_version: z.number().int().nullable(),
    to_version: z.number().int().nullable(),
    actor: z.object({ kind: z.enum(['account', 'service']), id: z.string() }),
    at: Timestamp,
  })
  .openapi('PromptPartLabelMove');

export const PartLabelSchema = z
  .object({
    name: z.string(),
    version: z.number().int(),
    created_at: Timestamp,
    updated_at: Timestamp,
    updated_by: z.string(),
    followers: z
      .array(TemplateRefSchema)
      .openapi({ description: 'Template drafts that follow this label: their next publish freezes the version it points at.' }),
  })
  .openapi('PromptPartLabel');

export const PartLabelListSchema = z
  .object({
    items: z.array(PartLabelSchema),
    moves: z.array(PartLabelMoveSchema).openapi({ description: "The latest 50 changes of the part's labels, newest first." }),
  })
  .openapi('PromptPartLabels');

export const PartLabelSetSchema = z.object({ version: VersionNumber }).strict().openapi('PromptPartLabelSet');

export const PartLabelSetResultSchema = z
  .object({
    applied: z.boolean().openapi({ description: 'False when the label already pointed at that version.' }),
    label: PartLabelSchema,
    from_version: z.number().int().nullable(),
    to_version: z.number().int(),
  })
  .openapi('PromptPartLabelSetResult');

export const PartListQuerySchema = PageQuerySchema.extend({
  kind: KindName.optional().openapi({ param: { name: 'kind', in: 'query' } }),
  tag: Tag.optional().openapi({ param: { name: 'tag', in: 'query' } }),
  q: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .optional()
    .openapi({ param: { name: 'q', in: 'query' }, description: 'Full-text search over name, description and content.' }),
});

export const VersionParamSchema = IdParamSchema.extend({
  version: z.coerce
    .number({ message: 'expected a version number' })
    .int('expected a version number')
    .positive('expected a version number')
    .max(1e9)
    .openapi({ param: { name: 'version', in: 'path' }, example: 1 }),
});

export const listPartKinds = createRoute({
  method: 'get',
  path: '/api/v1/part-kinds',
  operationId: 'listPartKinds',
  tags: TAG,
  summary: 'List the kinds of prompt part',
  responses: { 200: json(z.object({ items: z.array(PartKindSchema) }), 'The kinds, in display order'), ...errors(401, 403) },
});

export const listParts = createRoute({
  method: 'get',
  path: '/api/v1/parts',
  operationId: 'listParts',
  tags: TAG,
  summary: 'List or search prompt parts',
  request: { query: PartListQuerySchema },
  responses: { 200: json(pageOf(PartSummarySchema, 'PromptPartPage'), 'A page of parts'), ...errors(400, 401, 403) },
});

export const createPart = createRoute({
  method: 'post',
  path: '/api/v1/parts',
  operationId: 'createPart',
  tags: TAG,
  summary: 'Create a prompt part (a draft)',
  description: 'Content is a Liquid template; a syntax error is a 422 with line and column.',
  request: { headers: IdempotencyHeaders, body: body(PartCreateSchema) },
  responses: { 201: json(PartSchema, 'Created'), ...errors(400, 401, 403, 409, 413, 415, 422) },
});

export const getPart = createRoute({
  method: 'get',
  path: '/api/v1/parts/{id}',
  operationId: 'getPart',
  tags: TAG,
  summary: 'Read a prompt part (its draft)',
  request: { params: IdParamSchema },
  responses: { 200: json(PartSchema, 'The part'), ...errors(400, 401, 403, 404) },
});

export const updatePart = createRoute({
  method: 'patch',
  path: '/api/v1/parts/{id}',
  operationId: 'updatePart',
  tags: TAG,
  summary: "Edit a part's draft",
  request: { params: IdParamSchema, headers: IfMatchHeaders, body: body(PartUpdateSchema) },
  responses: { 200: json(PartSchema, 'Updated'), ...errors(400, 401, 403, 404, 409, 412, 413, 415, 422) },
});

export const deletePart = createRoute({
  method: 'delete',
  path: '/api/v1/parts/{id}',
  operationId: 'deletePart',
  tags: TAG,
  summary: 'Delete a part',
  description: 'Its versions stay (published templates keep using them); drafts that use it can no longer be published.',
  request: { params: IdParamSchema, headers: IfMatchHeaders },
  responses: { 204: { description: 'Deleted' }, ...errors(400, 401, 403, 404, 412) },
});

export const publishPart = createRoute({
  method: 'post',
  path: '/api/v1/parts/{id}/publish',
  operationId: 'publishPart',
  tags: TAG,
  summary: "Publish a part's draft as a new immutable version",
  request: {
    params: IdParamSchema,
    headers: IfMatchHeaders.extend(IdempotencyHeaders.shape),
    body: body(PublishSchema, false),
  },
  responses: { 201: json(PartVersionSchema, 'Published'), ...errors(400, 401, 403, 404, 409, 412, 422) },
});

export const listPartVersions = createRoute({
  method: 'get',
  path: '/api/v1/parts/{id}/versions',
  operationId: 'listPartVersions',
  tags: TAG,
  summary: "List a part's versions, newest first",
  request: { params: IdParamSchema, query: PageQuerySchema },
  responses: {
    200: json(pageOf(PartVersionSummarySchema, 'PromptPartVersionPage'), 'A page of versions'),
    ...errors(400, 401, 403, 404),
  },
});

export const getPartVersion = createRoute({
  method: 'get',
  path: '/api/v1/parts/{id}/versions/{version}',
  operationId: 'getPartVersion',
  tags: TAG,
  summary: 'Read one version of a part',
  request: { params: VersionParamSchema },
  responses: { 200: json(PartVersionSchema, 'The version'), ...errors(400, 401, 403, 404) },
});

export const diffPart = createRoute({
  method: 'get',
  path: '/api/v1/parts/{id}/diff',
  operationId: 'diffPartVersions',
  tags: TAG,
  summary: 'Diff two versions of a part (or a version and the draft)',
  request: { params: IdParamSchema, query: DiffQuerySchema },
  responses: { 200: json(PartDiffSchema, 'The diff'), ...errors(400, 401, 403, 404) },
});

export const partImpact = createRoute({
  method: 'get',
  path: '/api/v1/parts/{id}/impact',
  operationId: 'getPartImpact',
  tags: TAG,
  summary: 'What publishing the draft now would change',
  request: { params: IdParamSchema },
  responses: { 200: json(PartImpactSchema, 'The impact'), ...errors(400, 401, 403, 404) },
});

export const listPartLabels = createRoute({
  method: 'get',
  path: '/api/v1/parts/{id}/labels',
  operationId: 'listPartLabels',
  tags: TAG,
  summary: "List a part's labels (`latest` is built in and not listed), the drafts that follow each, and recent moves",
  request: { params: IdParamSchema },
  responses: { 200: json(PartLabelListSchema, 'The labels'), ...errors(400, 401, 403, 404) },
});

export const setPartLabel = createRoute({
  method: 'put',
  path: '/api/v1/parts/{id}/labels/{label}',
  operationId: 'setPartLabel',
  tags: TAG,
  summary: 'Set or move a part label to a published part version',
  description:
    'Template drafts that follow the label take the new version at their next publish; published template versions never change (ADR 0012).',
  request: { params: PartLabelParamSchema, body: body(PartLabelSetSchema) },
  responses: { 200: json(PartLabelSetResultSchema, 'Moved or unchanged'), ...errors(400, 401, 403, 404, 422) },
});

export const deletePartLabel = createRoute({
  method: 'delete',
  path: '/api/v1/parts/{id}/labels/{label}',
  operationId: 'deletePartLabel',
  tags: TAG,
  summary: 'Delete a part label (409 while template drafts follow it)',
  request: { params: PartLabelParamSchema },
  responses: { 204: { description: 'Deleted' }, ...errors(400, 401, 403, 404, 409) },
});
