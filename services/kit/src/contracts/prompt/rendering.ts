import { createRoute, z } from '@hono/zod-openapi';
import { body, errors, IdParamSchema, json } from '../common.ts';
import { PROMPT_LIMITS } from '../prompt-limits.ts';
import { DiscoveredVariableSchema, RoleSchema, TAG, Uuid, VersionNumber } from './shared.ts';
import { MessageInputSchema, VariableDeclSchema, Variables } from './templates.ts';

/** Rendering: previews, ad-hoc assembly and the runner's render of a published template, with their budget. */
export const Inputs = z
  .record(z.string(), z.unknown())
  .default({})
  .openapi({
    description: 'The variables, by name. An object or list output whole (`{{ post }}`) is written as its JSON.',
    example: { post: { title: 'Why sourdough works' } },
  });
export const ModelName = z
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
    latest: z
      .literal(true)
      .optional()
      .openapi({ description: 'Render the latest published version (one call; 422 when the template was never published).' }),
    inputs: Inputs,
    model: ModelName,
  })
  .strict()
  .refine((value) => [value.version, value.label, value.latest].filter((given) => given !== undefined).length === 1, {
    message: 'give exactly one of version, label or latest (tasks run published versions)',
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

export const RENDER_BUDGET =
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

/** Not public: the runner renders published versions through it with its service identity (and the legacy importer checks its templates). */
export const internalRender = createRoute({
  method: 'post',
  path: '/internal/render',
  operationId: 'renderForService',
  summary: 'Render a template version or label for a task (runner and legacy importer only)',
  description: RENDER_BUDGET,
  'x-idempotent': true,
  request: { body: body(InternalRenderSchema) },
  responses: { 200: json(RenderResultSchema, 'The rendering'), ...errors(400, 401, 403, 404, 422, 429) },
});
