import { createRoute, z } from '@hono/zod-openapi';
import type { PublicRoute } from './index.ts';
import { body, errors, IdParamSchema, pageOf, PageQuerySchema, json } from './common.ts';
import { PROMPT_LIMITS } from './prompt-limits.ts';

/**
 * The prompt service's contract (docs/prompts.md): prompt parts, message templates, immutable
 * versions, labels, rendering. Limits are part of the contract, so clients and the service agree.
 */
export { PROMPT_LIMITS };

const TAG = ['Prompts'];

const Timestamp = z.string().openapi({ format: 'date-time', example: '2025-06-01T09:30:00.000Z' });
const Uuid = z.uuid({ message: 'expected a UUID' });
export const RoleSchema = z.enum(['system', 'user', 'assistant']).openapi('MessageRole');
const Name = z.string().trim().min(1, 'expected a non-empty name').max(200, 'expected at most 200 characters');
const Description = z.string().max(2000, 'expected at most 2,000 characters');
const Content = z
  .string()
  .max(PROMPT_LIMITS.contentChars, `expected at most ${PROMPT_LIMITS.contentChars.toLocaleString('en')} characters`);
const Tag = z
  .string()
  .regex(/^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,39}$/u, 'expected a tag of 1–40 letters, digits, spaces, dots, dashes or underscores')
  .openapi({ example: 'Newsletter' });
const Tags = z.array(Tag).max(20, 'expected at most 20 tags');
const KindName = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,39}$/, 'expected a part kind name such as "system" or "task"')
  .openapi({ example: 'system' });
const VersionNumber = z.number().int().positive();
/** Label names (template and part labels alike). For parts, `latest` is built in: the newest published version. */
export const LabelNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'expected a label: lower-case letters, digits, dots, dashes, underscores (1–63)')
  .openapi({ example: 'production' });

const CommitMessage = z.string().max(2000, 'expected at most 2,000 characters');

export const LocationSchema = z.object({ line: z.number().int(), column: z.number().int() }).openapi('SourceLocation');

export const DiscoveredVariableSchema = z
  .object({
    name: z.string().openapi({ description: 'The root name the inputs must provide.' }),
    paths: z.array(z.string()).openapi({ description: 'Every property path used, e.g. `post.title`.' }),
    used_in: z
      .array(
        z.object({
          source: z.string().openapi({ description: 'The part (name@version, or "draft") or "inline text" it is used in.' }),
          line: z.number().int(),
          column: z.number().int(),
        }),
      )
      .openapi({ description: 'Where it is used, at most 20 places.' }),
  })
  .openapi('DiscoveredVariable');

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

const DiffSide = z.union([z.literal('draft'), VersionNumber]);

export const PartDiffSchema = z
  .object({
    from: DiffSide,
    to: DiffSide,
    changed: z.boolean(),
    fields: z.array(FieldChangeSchema),
    content: z.array(DiffLineSchema),
  })
  .openapi('PromptPartDiff');

const VersionOrDraft = z
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

// ---- templates ----

const VariableName = z
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

const PartEntryInput = z
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
const TextEntryInput = z.object({ id: Uuid.optional(), type: z.literal('text'), text: Content }).strict();
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

const Messages = z.array(MessageInputSchema).max(PROMPT_LIMITS.messages, `expected at most ${PROMPT_LIMITS.messages} messages`);
const Variables = z
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

// ---- rendering ----

const Inputs = z
  .record(z.string(), z.unknown())
  .default({})
  .openapi({
    description: 'The variables, by name. An object or list output whole (`{{ post }}`) is written as its JSON.',
    example: { post: { title: 'Why sourdough works' } },
  });
const ModelName = z
  .string()
  .min(1)
  .max(200)
  .optional()
  .openapi({ description: 'The provider model name, for the token estimate (e.g. `gpt-4o`); else an approximation.' });

export const PreviewSchema = z
  .object({
    version: VersionNumber.optional().openapi({ description: 'Render this version; omit both this and `label` for the draft.' }),
    label: z.string().min(1).max(63).optional(),
    inputs: Inputs,
    model: ModelName,
  })
  .strict()
  .refine((value) => value.version === undefined || value.label === undefined, {
    message: 'give a version or a label, not both',
    path: ['label'],
  })
  .openapi('PreviewRequest');

export const AssembleSchema = z
  .object({
    messages: z.array(MessageInputSchema).min(1, 'expected at least one message').max(PROMPT_LIMITS.messages),
    variables: Variables.default([]),
    merge_adjacent: z.boolean().default(false),
    inputs: Inputs,
    model: ModelName,
  })
  .strict()
  .openapi('AssembleRequest');

export const InternalRenderSchema = z
  .object({
    template_id: Uuid,
    version: VersionNumber.optional(),
    label: z.string().min(1).max(63).optional(),
    inputs: Inputs,
    model: ModelName,
  })
  .strict()
  .refine((value) => (value.version === undefined) !== (value.label === undefined), {
    message: 'give exactly one of version or label (tasks run published versions)',
    path: ['version'],
  });

export const RenderProblemSchema = z
  .object({
    code: z.enum([
      'syntax',
      'missing_variable',
      'wrong_type',
      'missing_property',
      'render_error',
      'limit',
      'unknown_part',
      'unpublished_part',
      'deleted_part',
      'bad_default',
    ]),
    message: z.string(),
    variable: z.string().nullable(),
    source: z
      .object({
        message_index: z.number().int(),
        entry_index: z.number().int(),
        part_id: Uuid.nullable(),
        part_name: z.string().nullable(),
        part_version: z.union([z.number().int(), z.literal('draft')]).nullable(),
      })
      .nullable(),
    line: z.number().int().nullable(),
    column: z.number().int().nullable(),
  })
  .openapi('RenderProblem');

export const TokenEstimateSchema = z
  .object({
    method: z.string().openapi({
      description: '`tiktoken:<encoding>` for OpenAI models, else `approximation:chars/4`.',
      example: 'tiktoken:o200k_base',
    }),
    exact_for_model: z.boolean(),
    total: z.number().int(),
    per_message_overhead: z.number().int(),
  })
  .openapi('TokenEstimate');

export const RenderResultSchema = z
  .object({
    ok: z.boolean().openapi({ description: 'True when there are no problems and `messages` is what would be sent.' }),
    template_id: Uuid.nullable(),
    template_version: z.number().int().nullable().openapi({ description: 'Null for a draft or /assemble.' }),
    label: z.string().nullable(),
    messages: z.array(z.object({ role: RoleSchema, text: z.string(), chars: z.number().int(), tokens: z.number().int() })),
    part_versions: z.array(z.object({ part_id: Uuid, version: z.union([z.number().int(), z.literal('draft')]) })),
    variables: z.array(DiscoveredVariableSchema),
    declared_variables: z.array(VariableDeclSchema),
    problems: z.array(RenderProblemSchema),
    warnings: z.array(z.string()),
    chars: z.number().int(),
    token_estimate: TokenEstimateSchema,
    default_model_id: Uuid.nullable(),
    default_preset_id: Uuid.nullable(),
  })
  .openapi('RenderResult');

// ---- routes ----

const IdempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(200)
    .optional()
    .openapi({ param: { name: 'idempotency-key', in: 'header' }, description: 'Same key + same body → same result.' }),
});
const IfMatchHeaders = z.object({
  'if-match': z
    .string()
    .max(500)
    .optional()
    .openapi({ param: { name: 'if-match', in: 'header' } }),
});

const MessageParamSchema = IdParamSchema.extend({
  message_id: Uuid.openapi({ param: { name: 'message_id', in: 'path' } }),
});
const EntryParamSchema = MessageParamSchema.extend({
  entry_id: Uuid.openapi({ param: { name: 'entry_id', in: 'path' } }),
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

const confirmationRequired = (description: string) => ({
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

const RENDER_BUDGET =
  "A render runs off the service's event loop within one time budget for the whole request (422 naming the entry when it goes over); " +
  'renders per caller are bounded (429 with `Retry-After` past the bound). See docs/prompts.md, Limits.';

export const previewTemplate = createRoute({
  method: 'post',
  path: '/api/v1/templates/{id}/preview',
  operationId: 'previewTemplate',
  tags: TAG,
  summary: 'Render the draft, a version or a label with inputs: the exact messages, problems, token estimate',
  description:
    'Problems (missing variables, wrong types, syntax) come back all at once in `problems` with `ok: false`. ' + RENDER_BUDGET,
  request: { params: IdParamSchema, body: body(PreviewSchema) },
  responses: { 200: json(RenderResultSchema, 'The rendering'), ...errors(400, 401, 403, 404, 413, 415, 422, 429) },
});

export const assemble = createRoute({
  method: 'post',
  path: '/api/v1/assemble',
  operationId: 'assemblePrompt',
  tags: TAG,
  summary: 'Render an ad-hoc list of parts and inline messages, saving nothing',
  description: RENDER_BUDGET,
  // Saves nothing: a client may send it again after a lost connection (kit's http/upstream.ts).
  'x-idempotent': true,
  request: { body: body(AssembleSchema) },
  responses: { 200: json(RenderResultSchema, 'The rendering'), ...errors(400, 401, 403, 413, 415, 422, 429) },
});

/** Not public: the runner renders published versions through it with its service identity. */
export const internalRender = createRoute({
  method: 'post',
  path: '/internal/render',
  operationId: 'renderForService',
  summary: 'Render a template version or label for a task (runner only)',
  description: RENDER_BUDGET,
  'x-idempotent': true,
  request: { body: body(InternalRenderSchema) },
  responses: { 200: json(RenderResultSchema, 'The rendering'), ...errors(400, 401, 403, 404, 422, 429) },
});

const read = { service: 'prompt', role: 'viewer', scope: 'prompts:read' } as const;
const write = { service: 'prompt', role: 'editor', scope: 'prompts:write' } as const;

/** The prompt service's public routes (see ./index.ts). */
export const promptRoutes: PublicRoute[] = [
  { route: listPartKinds, ...read },
  { route: listParts, ...read },
  { route: createPart, ...write },
  { route: getPart, ...read },
  { route: updatePart, ...write },
  { route: deletePart, ...write },
  { route: publishPart, ...write },
  { route: listPartVersions, ...read },
  { route: getPartVersion, ...read },
  { route: diffPart, ...read },
  { route: partImpact, ...read },
  { route: listPartLabels, ...read },
  { route: setPartLabel, ...write },
  { route: deletePartLabel, ...write },
  { route: listTemplates, ...read },
  { route: createTemplate, ...write },
  { route: getTemplate, ...read },
  { route: updateTemplate, ...write },
  { route: deleteTemplate, ...write },
  { route: reorderMessages, ...write },
  { route: addMessage, ...write },
  { route: updateMessage, ...write },
  { route: deleteMessage, ...write },
  { route: addEntry, ...write },
  { route: deleteEntry, ...write },
  { route: publishTemplate, ...write },
  { route: listTemplateVersions, ...read },
  { route: getTemplateVersion, ...read },
  { route: diffTemplate, ...read },
  { route: listLabels, ...read },
  { route: getLabel, ...read },
  { route: setLabel, ...write },
  { route: deleteLabel, ...write },
  // Preview and assemble render without saving: reading is enough.
  { route: previewTemplate, ...read },
  { route: assemble, ...read },
];
