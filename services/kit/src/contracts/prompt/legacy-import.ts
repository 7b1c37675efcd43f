import { createRoute, z } from '@hono/zod-openapi';
import { body, errors, json } from '../common.ts';

const LegacyId = z.string().min(1, 'expected the legacy row id').max(200, 'expected at most 200 characters');

/** What the legacy importer (docs/migration.md) sends: `llm_prompt_part` rows as read, converted by the prompt service. */
export const LegacyPromptImportSchema = z
  .object({
    source: z.string().min(1, 'expected the name of the legacy database').max(200, 'expected at most 200 characters'),
    dry_run: z.boolean().default(false),
    parts: z
      .array(
        z
          .object({
            legacy_id: LegacyId,
            name: z.string().nullable(),
            type: z.string().nullable(),
            content: z.string().nullable(),
            tags: z.array(z.string()).nullable(),
          })
          .strict(),
      )
      .max(1000, 'expected at most 1000 parts')
      .default([]),
    /**
     * Legacy prompts to convert into templates: an `llm_prompt` row as read, or a prompt the legacy runtime
     * assembled (an action's own `prompt_template`, a step's system and task prompts) in the same columns.
     */
    templates: z
      .array(
        z
          .object({
            legacy_id: LegacyId,
            /** The legacy row every warning names, e.g. `llm_prompt 12` or `workflow_step_entity 9`. */
            row: z.string().min(1).max(200),
            name: z.string().trim().min(1).max(180),
            description: z.string().max(2000).default(''),
            prompt_text: z.string().nullable().default(null),
            system_prompt: z.string().nullable().default(null),
            prompt_json: z.unknown().optional(),
            parameters: z.unknown().optional(),
            /** Names the legacy runtime filled for this prompt (a step's input fields). */
            inputs: z.array(z.string().max(200)).max(100).default([]),
            /** A step's inputs the runtime put around a prompt that names none ("the inputs above"). */
            context_inputs: z.array(z.string().max(200)).max(100).default([]),
          })
          .strict(),
      )
      .max(1000, 'expected at most 1000 templates')
      .default([]),
  })
  .strict();

export const LegacyPromptImportResultSchema = z.object({
  items: z.array(
    z.object({
      kind: z.enum(['part', 'template']),
      legacy_id: z.string(),
      id: z.uuid(),
      name: z.string(),
      created: z.boolean(),
      /** A template's variables (version 1), so the importer can map them to fields. */
      variables: z.array(z.object({ name: z.string(), type: z.string() })).optional(),
    }),
  ),
  /** Rows not imported (an empty part, content that does not parse), each with why. */
  refused: z.array(z.object({ kind: z.enum(['part', 'template']), legacy_id: z.string(), reason: z.string() })),
  /** Every conversion that could change meaning, each starting with its legacy row. */
  warnings: z.array(z.string()),
});

/**
 * Not public: the legacy importer's way in (answers only the `importer` service identity). Each part is
 * converted by the service's legacy converter and published as version 1; what the source already brought
 * is answered, not created again; the whole request is one transaction.
 */
export const importLegacyPrompts = createRoute({
  method: 'post',
  path: '/internal/import/legacy',
  operationId: 'importLegacyPrompts',
  summary: 'Convert and publish the prompt parts and templates of a legacy database (importer only)',
  'x-idempotent': true,
  request: { body: body(LegacyPromptImportSchema) },
  responses: {
    200: json(LegacyPromptImportResultSchema, 'Each row with the part it became'),
    ...errors(400, 401, 403, 413, 415, 422),
  },
});
