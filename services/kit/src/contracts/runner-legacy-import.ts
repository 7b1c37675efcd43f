import { createRoute, z } from '@hono/zod-openapi';
import { body, errors, json } from './common.ts';

const LegacyId = z.string().min(1, 'expected the legacy row id').max(200, 'expected at most 200 characters');
const Text = z.string().min(1, 'expected text: a row without it is reported by the importer, not sent').max(1_000_000);

/** At most this many records per request: the importer sends a large table in batches, each its own transaction. */
export const LEGACY_RECORDS_PER_REQUEST = 500;

/**
 * What the legacy importer (docs/migration.md) sends the runner: `llm_interaction` rows that hold a prompt and
 * an output, each to become a historical task record of source `legacy` (done, never claimable, read only).
 */
export const LegacyRecordImportSchema = z
  .object({
    source: z.string().min(1, 'expected the name of the legacy database').max(200, 'expected at most 200 characters'),
    dry_run: z.boolean().default(false),
    records: z
      .array(
        z
          .object({
            legacy_id: LegacyId,
            prompt: Text,
            output: Text,
            created_at: z.iso.datetime({ offset: true, message: 'expected an RFC 3339 timestamp' }).nullable(),
            /** The legacy model's name as the row recorded it, when it did. */
            model: z.string().max(200).nullable().default(null),
            /**
             * Lineage, where the legacy row names what it became here: the template its `prompt_id` was imported as
             * (version 1, label `legacy`), and the model (and its provider) its model name resolves to.
             */
            template_id: z.uuid({ message: 'expected a UUID' }).nullable().default(null),
            model_id: z.uuid({ message: 'expected a UUID' }).nullable().default(null),
            provider_id: z.uuid({ message: 'expected a UUID' }).nullable().default(null),
            /** Everything else the row held (its prompt id, parameters_used, interaction_metadata…), kept as read. */
            legacy: z.record(z.string(), z.unknown()).default({}),
          })
          .strict(),
      )
      .max(LEGACY_RECORDS_PER_REQUEST, `expected at most ${LEGACY_RECORDS_PER_REQUEST} records per request`)
      .default([]),
  })
  .strict();

export const LegacyRecordImportResultSchema = z.object({
  items: z.array(
    z.object({
      kind: z.enum(['record']),
      legacy_id: z.string(),
      id: z.uuid(),
      /** False when an earlier import of the same source made it already. */
      created: z.boolean(),
      name: z.string(),
    }),
  ),
});

/**
 * Not public: the legacy importer's way in (answers only the `importer` service identity). Each record becomes a
 * task of source `legacy`; what the source already brought is answered, not created again; the request is one
 * transaction.
 */
export const importLegacyRecords = createRoute({
  method: 'post',
  path: '/internal/import/legacy',
  operationId: 'importLegacyRecords',
  summary: 'Keep the interactions of a legacy database as historical task records (importer only)',
  'x-idempotent': true,
  request: { body: body(LegacyRecordImportSchema) },
  responses: {
    200: json(LegacyRecordImportResultSchema, 'Each record with the task it is'),
    ...errors(400, 401, 403, 413, 415, 422),
  },
});
