import { createRoute, z } from '@hono/zod-openapi';
import type { PublicRoute } from './index.ts';
import { body, errors, IdParamSchema, json, pageOf, PageQuerySchema, IdempotencyHeaders, IfMatchHeaders } from './common.ts';
import { workflowActionRoutes } from './workflow-actions.ts';

export * from './workflow-actions.ts';

/**
 * The workflow service's contract (docs/workflow.md): editorial stages and substages, fields defined as
 * data, posts with their sections, and every field value as a chain of revisions that can be compared
 * and restored. Roles: viewers read; editors write posts, sections and values; admins define stages,
 * substages and fields.
 */

const TAG_STAGES = ['Workflow stages'];
const TAG_FIELDS = ['Workflow fields'];
const TAG_POSTS = ['Posts'];

const Timestamp = z.string().openapi({ format: 'date-time', example: '2025-06-01T09:30:00.000Z' });
const Uuid = z.uuid({ message: 'expected a UUID' });
const Key = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,63}$/, 'expected a key of lower-case letters, digits and _ (starting with a letter, at most 64)')
  .openapi({ example: 'meta_description' });
const Label = z.string().trim().min(1, 'expected a non-empty label').max(100, 'expected at most 100 characters');
const Description = z.string().max(1000, 'expected at most 1,000 characters');
const Position = z.number().int('expected a whole number').min(1, 'expected 1 or more').max(10_000, 'expected at most 10000');

// ---- stages and substages

export const SubstageSchema = z
  .object({
    id: Uuid,
    stage_id: Uuid,
    key: z.string(),
    label: z.string(),
    description: z.string(),
    position: z.number().int().openapi({ description: 'Order within its stage, from 1.' }),
    retired_at: Timestamp.nullable().openapi({
      description: 'A retired substage keeps its posts and history; it is no longer offered.',
    }),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('WorkflowSubstage');

export const StageSchema = z
  .object({
    id: Uuid,
    key: z.string(),
    label: z.string(),
    position: z.number().int(),
    substages: z.array(SubstageSchema),
  })
  .openapi('WorkflowStage');

export const StageListSchema = z.object({ items: z.array(StageSchema) }).openapi('WorkflowStageList');

const IncludeRetired = z.enum(['true', 'false']).optional().openapi({ description: 'Retired ones too (default false).' });

export const StageUpdateSchema = z
  .object({
    label: Label.optional(),
    position: Position.optional().openapi({ description: 'Moves the stage; the others close up.' }),
  })
  .strict()
  .refine((value) => Object.keys(value).length > 0, { message: 'expected at least one field to change' })
  .openapi('WorkflowStageUpdate');

export const SubstageCreateSchema = z
  .object({
    stage_id: Uuid,
    key: Key,
    label: Label,
    description: Description.optional(),
    position: Position.optional().openapi({ description: 'Where in its stage (default: last).' }),
  })
  .strict()
  .openapi('WorkflowSubstageCreate');

export const SubstageUpdateSchema = z
  .object({
    label: Label.optional(),
    description: Description.optional(),
    position: Position.optional().openapi({ description: 'Moves it within its stage; the others close up.' }),
    retired: z.boolean().optional().openapi({ description: 'true retires it, false brings it back.' }),
  })
  .strict()
  .refine((value) => Object.keys(value).length > 0, { message: 'expected at least one field to change' })
  .openapi('WorkflowSubstageUpdate');

// ---- fields

export const FIELD_KINDS = ['text', 'markdown', 'list', 'json', 'image'] as const;
export const FIELD_SCOPES = ['post', 'section'] as const;

const JsonSchemaObject = z
  .record(z.string(), z.unknown())
  .openapi({ description: 'A JSON Schema (2020-12, or draft-07 by its `$schema`) the value must satisfy.' });

export const FieldSchema = z
  .object({
    id: Uuid,
    key: z.string(),
    label: z.string(),
    description: z.string(),
    kind: z.enum(FIELD_KINDS),
    json_schema: JsonSchemaObject.nullable(),
    scope: z.enum(FIELD_SCOPES).openapi({ description: '`post`: one value per post; `section`: one per section.' }),
    substage_id: Uuid,
    position: z.number().int(),
    required: z.boolean(),
    retired_at: Timestamp.nullable(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('WorkflowField');

export const FieldListQuerySchema = z.object({
  substage_id: Uuid.optional().openapi({ description: 'Only the fields edited at this substage.' }),
  include_retired: IncludeRetired,
});

export const FieldListSchema = z.object({ items: z.array(FieldSchema) }).openapi('WorkflowFieldList');

export const FieldCreateSchema = z
  .object({
    key: Key,
    label: Label,
    description: Description.optional(),
    kind: z.enum(FIELD_KINDS),
    json_schema: JsonSchemaObject.nullable().optional().openapi({ description: 'Only for `json` fields.' }),
    scope: z.enum(FIELD_SCOPES).optional().openapi({ description: 'Default `post`.' }),
    substage_id: Uuid,
    position: Position.optional().openapi({ description: 'Where in its substage (default: last).' }),
    required: z.boolean().optional(),
  })
  .strict()
  .openapi('WorkflowFieldCreate');

export const FieldUpdateSchema = z
  .object({
    label: Label.optional(),
    description: Description.optional(),
    json_schema: JsonSchemaObject.nullable().optional(),
    substage_id: Uuid.optional(),
    position: Position.optional(),
    required: z.boolean().optional(),
    retired: z.boolean().optional(),
  })
  .strict()
  .refine((value) => Object.keys(value).length > 0, { message: 'expected at least one field to change' })
  .openapi('WorkflowFieldUpdate');

// ---- posts and sections

export const POST_STATUSES = ['draft', 'in_process', 'published', 'archived'] as const;

const Title = z.string().trim().min(1, 'expected a non-empty title').max(200, 'expected at most 200 characters');
const Slug = z
  .string()
  .max(200, 'expected at most 200 characters')
  .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'expected lower-case letters and digits joined by single hyphens, such as my-first-post')
  .openapi({ example: 'how-to-brew-tea' });

export const PostSchema = z
  .object({
    id: Uuid,
    title: z.string(),
    slug: z.string(),
    status: z.enum(POST_STATUSES),
    substage_id: Uuid.openapi({ description: 'The substage the post is at.' }),
    created_by: z.string(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('Post');

export const AuthorSchema = z
  .object({
    kind: z.enum(['account', 'task', 'service']),
    id: z.string(),
  })
  .openapi('RevisionAuthor', { description: 'An account, a task (an LLM generation) or a service (the importer).' });

export const FieldValueSchema = z
  .object({
    field_id: Uuid,
    field_key: z.string(),
    section_id: Uuid.nullable(),
    value: z.unknown().openapi({ description: 'Its shape depends on the field kind (docs/workflow.md#fields).' }),
    revision_id: Uuid.openapi({ description: 'The current revision: name it as `base_revision_id` when writing.' }),
    author: AuthorSchema,
    updated_at: Timestamp,
  })
  .openapi('FieldValue');

export const SectionSchema = z
  .object({
    id: Uuid,
    post_id: Uuid,
    position: z.number().int(),
    created_at: Timestamp,
    updated_at: Timestamp,
  })
  .openapi('PostSection');

export const PostDetailSchema = PostSchema.extend({
  sections: z.array(SectionSchema).openapi({ description: 'In order.' }),
  values: z.array(FieldValueSchema).openapi({ description: 'Every field that has a value, post and section fields.' }),
}).openapi('PostDetail');

export const PostListQuerySchema = PageQuerySchema.extend({
  q: z.string().max(200).optional().openapi({ description: 'Words in the title or slug.' }),
  status: z.enum(POST_STATUSES).optional(),
  substage_id: Uuid.optional(),
});

export const PostCreateSchema = z
  .object({
    title: Title,
    slug: Slug.optional().openapi({ description: 'Default: derived from the title, made unique.' }),
    status: z.enum(POST_STATUSES).optional(),
    substage_id: Uuid.optional().openapi({ description: 'Default: the first substage of the first stage.' }),
  })
  .strict()
  .openapi('PostCreate');

export const PostUpdateSchema = z
  .object({
    title: Title.optional(),
    slug: Slug.optional(),
    status: z.enum(POST_STATUSES).optional(),
    substage_id: Uuid.optional(),
  })
  .strict()
  .refine((value) => Object.keys(value).length > 0, { message: 'expected at least one field to change' })
  .openapi('PostUpdate');

export const SectionCreateSchema = z
  .object({ position: Position.optional().openapi({ description: 'Where (default: last); the others move down.' }) })
  .strict()
  .openapi('PostSectionCreate');

export const SectionUpdateSchema = z
  .object({ position: Position.openapi({ description: 'Moves the section; the others close up.' }) })
  .strict()
  .openapi('PostSectionUpdate');

export const SectionParamsSchema = z.object({
  id: Uuid.openapi({ param: { name: 'id', in: 'path' } }),
  section_id: Uuid.openapi({ param: { name: 'section_id', in: 'path' } }),
});

export const SectionListSchema = z.object({ items: z.array(SectionSchema) }).openapi('PostSectionList');

// ---- values and revisions

export const ValueParamsSchema = z.object({
  id: Uuid.openapi({ param: { name: 'id', in: 'path' } }),
  field_key: Key.openapi({ param: { name: 'field_key', in: 'path' } }),
});

export const ValueWriteSchema = z
  .object({
    section_id: Uuid.nullable().optional().openapi({ description: 'The section, for a section field.' }),
    value: z.unknown().openapi({ description: 'The new value, in the shape of the field kind; null clears it.' }),
    base_revision_id: Uuid.nullable().openapi({
      description:
        'The revision this edit started from (null when the field had no value): a stale one is a 409 showing both values.',
    }),
    autosave: z
      .boolean()
      .optional()
      .openapi({ description: 'true amends your own latest revision of this value when it is recent, instead of adding one.' }),
  })
  .strict()
  .openapi('FieldValueWrite');

export const RestoreSchema = z
  .object({
    section_id: Uuid.nullable().optional(),
    revision_id: Uuid.openapi({ description: 'The revision whose value comes back, as a new revision.' }),
    base_revision_id: Uuid.nullable(),
  })
  .strict()
  .openapi('FieldValueRestore');

export const RevisionSchema = z
  .object({
    id: Uuid,
    value: z.unknown(),
    previous_revision_id: Uuid.nullable(),
    author: AuthorSchema,
    source_task_id: Uuid.nullable().openapi({ description: 'The task whose output this is (an LLM action), if any.' }),
    restored_from_revision_id: Uuid.nullable(),
    created_at: Timestamp,
    amended_at: Timestamp.openapi({ description: 'Moves when autosave amends the revision.' }),
  })
  .openapi('FieldRevision');

export const RevisionListQuerySchema = PageQuerySchema.extend({
  section_id: Uuid.optional().openapi({ description: 'The section, for a section field.' }),
});

/** The problem type (a 409) of a write based on a revision that is no longer the current one. */
export const STALE_REVISION = 'stale-revision';

// ---- routes

export const listStages = createRoute({
  method: 'get',
  path: '/api/v1/workflow/stages',
  operationId: 'listWorkflowStages',
  tags: TAG_STAGES,
  summary: 'The editorial stages with their substages, in order',
  request: { query: z.object({ include_retired: IncludeRetired }) },
  responses: { 200: json(StageListSchema, 'Every stage and its substages'), ...errors(400, 401, 403) },
});

export const updateStage = createRoute({
  method: 'patch',
  path: '/api/v1/workflow/stages/{id}',
  operationId: 'updateWorkflowStage',
  tags: TAG_STAGES,
  summary: 'Rename or move a stage',
  request: { params: IdParamSchema, body: body(StageUpdateSchema) },
  responses: { 200: json(StageSchema, 'Updated, with its substages'), ...errors(400, 401, 403, 404, 413, 415, 422) },
});

export const createSubstage = createRoute({
  method: 'post',
  path: '/api/v1/workflow/substages',
  operationId: 'createWorkflowSubstage',
  tags: TAG_STAGES,
  summary: 'Add a substage to a stage',
  request: { headers: IdempotencyHeaders, body: body(SubstageCreateSchema) },
  responses: { 201: json(SubstageSchema, 'Created'), ...errors(400, 401, 403, 409, 413, 415, 422) },
});

export const updateSubstage = createRoute({
  method: 'patch',
  path: '/api/v1/workflow/substages/{id}',
  operationId: 'updateWorkflowSubstage',
  tags: TAG_STAGES,
  summary: 'Rename, move, retire or bring back a substage',
  request: { params: IdParamSchema, headers: IfMatchHeaders, body: body(SubstageUpdateSchema) },
  responses: { 200: json(SubstageSchema, 'Updated'), ...errors(400, 401, 403, 404, 409, 412, 413, 415, 422) },
});

export const listFields = createRoute({
  method: 'get',
  path: '/api/v1/workflow/fields',
  operationId: 'listWorkflowFields',
  tags: TAG_FIELDS,
  summary: 'The fields of posts and sections, by substage and order',
  request: { query: FieldListQuerySchema },
  responses: { 200: json(FieldListSchema, 'The fields'), ...errors(400, 401, 403) },
});

export const createField = createRoute({
  method: 'post',
  path: '/api/v1/workflow/fields',
  operationId: 'createWorkflowField',
  tags: TAG_FIELDS,
  summary: 'Define a field',
  request: { headers: IdempotencyHeaders, body: body(FieldCreateSchema) },
  responses: { 201: json(FieldSchema, 'Created'), ...errors(400, 401, 403, 409, 413, 415, 422) },
});

export const updateField = createRoute({
  method: 'patch',
  path: '/api/v1/workflow/fields/{id}',
  operationId: 'updateWorkflowField',
  tags: TAG_FIELDS,
  summary: 'Rename, move, retire or bring back a field (its key and kind never change)',
  request: { params: IdParamSchema, headers: IfMatchHeaders, body: body(FieldUpdateSchema) },
  responses: { 200: json(FieldSchema, 'Updated'), ...errors(400, 401, 403, 404, 409, 412, 413, 415, 422) },
});

export const listPosts = createRoute({
  method: 'get',
  path: '/api/v1/workflow/posts',
  operationId: 'listPosts',
  tags: TAG_POSTS,
  summary: 'List posts, newest first, by words, status or substage',
  request: { query: PostListQuerySchema },
  responses: { 200: json(pageOf(PostSchema, 'PostPage'), 'A page of posts'), ...errors(400, 401, 403) },
});

export const createPost = createRoute({
  method: 'post',
  path: '/api/v1/workflow/posts',
  operationId: 'createPost',
  tags: TAG_POSTS,
  summary: 'Start a post',
  request: { headers: IdempotencyHeaders, body: body(PostCreateSchema) },
  responses: { 201: json(PostDetailSchema, 'Created'), ...errors(400, 401, 403, 409, 413, 415, 422) },
});

export const getPost = createRoute({
  method: 'get',
  path: '/api/v1/workflow/posts/{id}',
  operationId: 'getPost',
  tags: TAG_POSTS,
  summary: 'Read a post with its sections and current values',
  request: { params: IdParamSchema },
  responses: { 200: json(PostDetailSchema, 'The post'), ...errors(400, 401, 403, 404) },
});

export const updatePost = createRoute({
  method: 'patch',
  path: '/api/v1/workflow/posts/{id}',
  operationId: 'updatePost',
  tags: TAG_POSTS,
  summary: 'Change a post’s title, slug, status or substage',
  request: { params: IdParamSchema, headers: IfMatchHeaders, body: body(PostUpdateSchema) },
  responses: { 200: json(PostDetailSchema, 'Updated'), ...errors(400, 401, 403, 404, 409, 412, 413, 415, 422) },
});

export const createSection = createRoute({
  method: 'post',
  path: '/api/v1/workflow/posts/{id}/sections',
  operationId: 'createPostSection',
  tags: TAG_POSTS,
  summary: 'Add a section to a post',
  request: { params: IdParamSchema, headers: IdempotencyHeaders, body: body(SectionCreateSchema, false) },
  responses: { 201: json(SectionSchema, 'Created'), ...errors(400, 401, 403, 404, 409, 413, 415, 422) },
});

export const updateSection = createRoute({
  method: 'patch',
  path: '/api/v1/workflow/posts/{id}/sections/{section_id}',
  operationId: 'updatePostSection',
  tags: TAG_POSTS,
  summary: 'Move a section',
  request: { params: SectionParamsSchema, body: body(SectionUpdateSchema) },
  responses: {
    200: json(SectionListSchema, 'The post’s sections in their new order'),
    ...errors(400, 401, 403, 404, 413, 415, 422),
  },
});

export const deleteSection = createRoute({
  method: 'delete',
  path: '/api/v1/workflow/posts/{id}/sections/{section_id}',
  operationId: 'deletePostSection',
  tags: TAG_POSTS,
  summary: 'Remove a section (its values’ history is kept)',
  request: { params: SectionParamsSchema },
  responses: { 204: { description: 'Removed' }, ...errors(400, 401, 403, 404) },
});

export const writeValue = createRoute({
  method: 'put',
  path: '/api/v1/workflow/posts/{id}/values/{field_key}',
  operationId: 'writeFieldValue',
  tags: TAG_POSTS,
  summary: 'Write a field’s value, as a new revision based on the one you read',
  description:
    'A `base_revision_id` that is no longer the current revision is a 409 (`stale-revision`) whose `current` and `yours` show both values.',
  request: { params: ValueParamsSchema, body: body(ValueWriteSchema) },
  responses: { 200: json(FieldValueSchema, 'The value now'), ...errors(400, 401, 403, 404, 409, 413, 415, 422) },
});

export const listRevisions = createRoute({
  method: 'get',
  path: '/api/v1/workflow/posts/{id}/values/{field_key}/revisions',
  operationId: 'listFieldRevisions',
  tags: TAG_POSTS,
  summary: 'A value’s revisions, newest first',
  request: { params: ValueParamsSchema, query: RevisionListQuerySchema },
  responses: { 200: json(pageOf(RevisionSchema, 'FieldRevisionPage'), 'A page of revisions'), ...errors(400, 401, 403, 404) },
});

export const restoreRevision = createRoute({
  method: 'post',
  path: '/api/v1/workflow/posts/{id}/values/{field_key}/restore',
  operationId: 'restoreFieldRevision',
  tags: TAG_POSTS,
  summary: 'Bring back an earlier revision’s value, as a new revision',
  request: { params: ValueParamsSchema, body: body(RestoreSchema) },
  responses: { 200: json(FieldValueSchema, 'The value now'), ...errors(400, 401, 403, 404, 409, 413, 415, 422) },
});

const read = { service: 'workflow', role: 'viewer', scope: 'workflow:read' } as const;
const write = { service: 'workflow', role: 'editor', scope: 'workflow:write' } as const;
const define = { service: 'workflow', role: 'admin', scope: 'workflow:write' } as const;

/** The workflow service's public routes (see ./index.ts). */
export const workflowRoutes: PublicRoute[] = [
  { route: listStages, ...read },
  { route: updateStage, ...define },
  { route: createSubstage, ...define },
  { route: updateSubstage, ...define },
  { route: listFields, ...read },
  { route: createField, ...define },
  { route: updateField, ...define },
  { route: listPosts, ...read },
  { route: createPost, ...write },
  { route: getPost, ...read },
  { route: updatePost, ...write },
  { route: createSection, ...write },
  { route: updateSection, ...write },
  { route: deleteSection, ...write },
  { route: writeValue, ...write },
  { route: listRevisions, ...read },
  { route: restoreRevision, ...write },
  ...workflowActionRoutes,
];
