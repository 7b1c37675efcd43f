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
  })
  .strict();

export const LegacyPromptImportResultSchema = z.object({
  items: z.array(
    z.object({ kind: z.enum(['part']), legacy_id: z.string(), id: z.uuid(), name: z.string(), created: z.boolean() }),
  ),
  /** Rows not imported (an empty part, content that does not parse), each with why. */
  refused: z.array(z.object({ kind: z.enum(['part']), legacy_id: z.string(), reason: z.string() })),
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
  summary: 'Convert and publish the prompt parts of a legacy database (importer only)',
  'x-idempotent': true,
  request: { body: body(LegacyPromptImportSchema) },
  responses: {
    200: json(LegacyPromptImportResultSchema, 'Each row with the part it became'),
    ...errors(400, 401, 403, 413, 415, 422),
  },
});
