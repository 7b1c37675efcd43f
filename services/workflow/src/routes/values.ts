import { z } from 'zod';
import { withTransaction, type Queryable } from '@llmops/kit/db';
import type { ServiceApp } from '@llmops/kit/http/app';
import { NotFound } from '@llmops/kit/problem';
import { decodeCursor, encodeCursor } from '@llmops/kit/contracts/common';
import * as contract from '@llmops/kit/contracts/workflow';
import * as fields from '../db/fields.ts';
import type { FieldRow } from '../db/fields.ts';
import * as sections from '../db/sections.ts';
import * as values from '../db/values.ts';
import type { Author } from '../db/values.ts';
import { valueProblems } from '../fields/values.ts';
import { revisionJson, valueJson } from '../json.ts';
import { writeValue } from '../revisions/write.ts';
import { invalid, type RouteDeps } from './common.ts';
import { postOr404 } from './posts.ts';

const Id = z.uuid();

/**
 * The field of the path and the section of the request, checked together: a section field needs a
 * section of this post that is not removed; a post field takes none.
 */
async function targetOf(
  db: Queryable,
  postId: string,
  fieldKey: string,
  sectionId: string | null | undefined,
  where: 'body' | 'query',
): Promise<{ field: FieldRow; sectionId: string | null }> {
  const field = await fields.getByKey(db, fieldKey);
  if (!field) throw new NotFound(`No field with the key ${fieldKey}; GET /api/v1/workflow/fields lists them.`);
  if (field.scope === 'post') {
    if (sectionId) throw invalid({ field: `${where}.section_id`, message: `${field.key} is a post field: send no section_id` });
    return { field, sectionId: null };
  }
  if (!sectionId) throw invalid({ field: `${where}.section_id`, message: `${field.key} is a section field: name the section` });
  const section = await sections.get(db, postId, sectionId);
  if (!section || section.removed_at)
    throw invalid({ field: `${where}.section_id`, message: 'no such section of this post (or it was removed)' });
  return { field, sectionId };
}

function authorOf(identity: { kind: 'account' | 'service'; subject: string }): Author {
  return { kind: identity.kind, id: identity.subject };
}

/** Field values, their revisions, and restoring one. */
export function mountValues(app: ServiceApp, { pool, config }: RouteDeps): void {
  app.openapi(contract.writeValue, async (c) => {
    const { id: postId, field_key: fieldKey } = c.req.valid('param');
    const input = c.req.valid('json');
    const json = await withTransaction(pool, async (tx) => {
      await postOr404(tx, postId);
      const { field, sectionId } = await targetOf(tx, postId, fieldKey, input.section_id, 'body');
      if (field.retired_at)
        throw invalid({ field: 'path.field_key', message: 'this field is retired; its values are kept read-only' });
      const problems = valueProblems(field, input.value ?? null);
      if (problems.length > 0) throw invalid(...problems);
      const now = await writeValue(tx, {
        postId,
        sectionId,
        field,
        value: input.value ?? null,
        base: input.base_revision_id,
        author: authorOf(c.get('identity')),
        autosave: input.autosave ? { windowMs: config.autosaveWindowMs } : undefined,
      });
      const out = valueJson(now);
      await c.var.audit(tx, 'value.written', { type: 'field_value', id: now.value_id }, null, {
        post_id: postId,
        section_id: sectionId,
        field_key: field.key,
        revision_id: now.id,
      });
      return out;
    });
    return c.json(json, 200);
  });

  app.openapi(contract.listRevisions, async (c) => {
    const { id: postId, field_key: fieldKey } = c.req.valid('param');
    const query = c.req.valid('query');
    await postOr404(pool, postId);
    const { field, sectionId } = await targetOf(pool, postId, fieldKey, query.section_id, 'query');
    const current = await values.current(pool, { postId, sectionId, fieldId: field.id });
    if (!current) return c.json({ items: [], next_cursor: null }, 200);
    const rows = await values.revisions(pool, current.value_id, {
      limit: query.limit + 1,
      before: decodeCursor(query.cursor, Id),
    });
    const page = rows.slice(0, query.limit);
    return c.json(
      { items: page.map(revisionJson), next_cursor: rows.length > query.limit ? encodeCursor(page.at(-1)?.id) : null },
      200,
    );
  });

  app.openapi(contract.restoreRevision, async (c) => {
    const { id: postId, field_key: fieldKey } = c.req.valid('param');
    const input = c.req.valid('json');
    const json = await withTransaction(pool, async (tx) => {
      await postOr404(tx, postId);
      const { field, sectionId } = await targetOf(tx, postId, fieldKey, input.section_id, 'body');
      if (field.retired_at)
        throw invalid({ field: 'path.field_key', message: 'this field is retired; its values are kept read-only' });
      const current = await values.current(tx, { postId, sectionId, fieldId: field.id });
      const old = current && (await values.getRevision(tx, current.value_id, input.revision_id));
      if (!old) throw invalid({ field: 'body.revision_id', message: 'no such revision of this value' });
      const now = await writeValue(tx, {
        postId,
        sectionId,
        field,
        value: old.value,
        base: input.base_revision_id,
        author: authorOf(c.get('identity')),
        restoredFrom: old.id,
      });
      await c.var.audit(tx, 'value.restored', { type: 'field_value', id: now.value_id }, null, {
        post_id: postId,
        section_id: sectionId,
        field_key: field.key,
        revision_id: now.id,
        restored_from_revision_id: old.id,
      });
      return valueJson(now);
    });
    return c.json(json, 200);
  });
}
