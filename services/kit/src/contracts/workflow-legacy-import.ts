import { createRoute, z } from '@hono/zod-openapi';
import { body, errors, json } from './common.ts';
import { ACTION_MODES, InputMappingSchema } from './workflow-actions.ts';

const LegacyId = z.string().min(1, 'expected the legacy row id').max(200, 'expected at most 200 characters');
const Key = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'expected a key of lower-case letters, digits and _');
const Label = z.string().trim().min(1).max(100);
const Uuid = z.uuid({ message: 'expected a UUID' });
const Value = z.object({ field: Key, value: z.unknown() }).strict();

export const LEGACY_WORKFLOW_KINDS = ['stage', 'substage', 'field', 'action', 'post', 'section', 'choice', 'value'] as const;

/**
 * What the legacy importer (docs/migration.md) asks the workflow service to create, each row with its
 * legacy id, named by keys (substages, fields) and legacy ids (posts, actions) so a dry run needs no ids.
 */
export const LegacyWorkflowImportSchema = z
  .object({
    source: z.string().min(1, 'expected the name of the legacy database').max(200, 'expected at most 200 characters'),
    dry_run: z.boolean().default(false),
    /**
     * The legacy stages, in their legacy order: a key that exists is used as it is; one the reference data
     * lacks is created after the stage before it in this list (first when none is), if a substage comes with it.
     */
    stages: z
      .array(z.object({ legacy_id: LegacyId, key: Key, label: Label }).strict())
      .max(100)
      .default([]),
    /** Legacy substages the reference data lacks, created under a stage of the same key. */
    substages: z
      .array(
        z.object({ legacy_id: LegacyId, key: Key, label: Label, stage_key: Key, description: z.string().max(1000) }).strict(),
      )
      .max(200)
      .default([]),
    /** The legacy fields the posts use; a key that exists is used as it is. */
    fields: z
      .array(
        z
          .object({
            legacy_id: LegacyId,
            key: Key,
            label: Label,
            description: z.string().max(1000).default(''),
            kind: z.enum(['text', 'markdown', 'list', 'json']),
            scope: z.enum(['post', 'section']),
            substage_key: Key,
          })
          .strict(),
      )
      .max(500)
      .default([]),
    actions: z
      .array(
        z
          .object({
            legacy_id: LegacyId,
            label: Label,
            substage_key: Key,
            template_id: Uuid,
            template_label: z.string().min(1).max(63),
            model_id: Uuid.nullable(),
            preset_id: Uuid.nullable(),
            inputs: InputMappingSchema,
            target_field: Key,
            mode: z.enum(ACTION_MODES).default('review'),
          })
          .strict(),
      )
      .max(500)
      .default([]),
    posts: z
      .array(
        z
          .object({
            legacy_id: LegacyId,
            title: z.string().trim().min(1).max(200),
            slug: z.string().max(200),
            status: z.enum(['draft', 'in_process', 'published', 'archived']),
            substage_key: Key.nullable(),
            /**
             * A post too large for one request goes in parts (docs/migration.md): part 1 makes the post, a later
             * part adds the sections and values it carries to the post (made by part 1, or made here when part 1
             * was only a dry run), skipping a value the post or section already has.
             */
            part: z.number().int().min(1).max(10_000).default(1),
            values: z.array(Value).max(200).default([]),
            sections: z
              .array(
                z
                  .object({
                    legacy_id: LegacyId,
                    /** Its place among the post's sections (default: its place in this list). */
                    position: z.number().int().min(1).max(10_000).optional(),
                    values: z.array(Value).max(100).default([]),
                  })
                  .strict(),
              )
              .max(500)
              .default([]),
          })
          .strict(),
      )
      .max(5000)
      .default([]),
    /** Per-post action choices (legacy post_substage_action / post_workflow_step_action), after the posts. */
    choices: z
      .array(
        z
          .object({
            legacy_id: LegacyId,
            post_legacy_id: LegacyId,
            action_legacy_id: LegacyId,
            inputs: InputMappingSchema.nullable(),
            target_field: Key.nullable(),
          })
          .strict(),
      )
      .max(5000)
      .default([]),
  })
  .strict();

export const LegacyWorkflowImportResultSchema = z.object({
  items: z.array(
    z.object({
      kind: z.enum(LEGACY_WORKFLOW_KINDS),
      legacy_id: z.string(),
      id: z.uuid(),
      name: z.string(),
      /** Made by this request (in a dry run: would be). */
      created: z.boolean(),
      /** A stage, field or substage of that key was already there and is used as it is. */
      existing: z.boolean().optional(),
    }),
  ),
  refused: z.array(z.object({ kind: z.enum(LEGACY_WORKFLOW_KINDS), legacy_id: z.string(), reason: z.string() })),
});

/**
 * Not public: the legacy importer's way in (answers only the `importer` service identity). Stages, substages,
 * fields, actions, posts with their sections and values (one revision each, by the importer) and per-post
 * choices; what the source already brought is answered, not created again; one transaction.
 */
export const importLegacyWorkflow = createRoute({
  method: 'post',
  path: '/internal/import/legacy',
  operationId: 'importLegacyWorkflow',
  summary: 'Create the fields, actions and posts of a legacy database (importer only)',
  'x-idempotent': true,
  request: { body: body(LegacyWorkflowImportSchema) },
  responses: {
    200: json(LegacyWorkflowImportResultSchema, 'Each row with what it became'),
    ...errors(400, 401, 403, 413, 415, 422),
  },
});
