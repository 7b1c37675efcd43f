import type { Queryable } from '@llmops/kit/db';

/** Who wrote a revision. */
export interface Author {
  kind: 'account' | 'task' | 'service';
  id: string;
}

export interface RevisionRow {
  id: string;
  value_id: string;
  previous_revision_id: string | null;
  value: unknown;
  author_kind: Author['kind'];
  author_id: string;
  source_task_id: string | null;
  restored_from_revision_id: string | null;
  created_at: Date;
  amended_at: Date;
}

/** A value as it is now: its head revision, with where it belongs. */
export interface CurrentValue extends RevisionRow {
  post_id: string;
  section_id: string | null;
  field_id: string;
  field_key: string;
}

const CURRENT = `
  SELECT r.*, v.post_id, v.section_id, v.field_id, f.key AS field_key
  FROM workflow.field_values v
  JOIN workflow.revisions r ON r.id = v.head_revision_id
  JOIN workflow.fields f ON f.id = v.field_id`;

/** The value of one field of a post (or of one of its sections), locked for a write when asked. */
export async function current(
  db: Queryable,
  target: { postId: string; sectionId: string | null; fieldId: string },
  { lock = false } = {},
): Promise<CurrentValue | undefined> {
  const { rows } = await db.query<CurrentValue>(
    `${CURRENT} WHERE v.post_id = $1 AND v.section_id IS NOT DISTINCT FROM $2 AND v.field_id = $3${lock ? ' FOR UPDATE OF v' : ''}`,
    [target.postId, target.sectionId, target.fieldId],
  );
  return rows[0];
}

/** Every current value of a post, sections' values of sections not removed. */
export async function ofPost(db: Queryable, postId: string): Promise<CurrentValue[]> {
  const { rows } = await db.query<CurrentValue>(
    `${CURRENT} LEFT JOIN workflow.sections s ON s.id = v.section_id
     WHERE v.post_id = $1 AND (v.section_id IS NULL OR s.removed_at IS NULL)
     ORDER BY v.section_id NULLS FIRST, f.position, f.key`,
    [postId],
  );
  return rows;
}

/**
 * The first revision `author` (a service) wrote of each value of a post: `section id or '' + ' ' + field id` →
 * revision id. The legacy importer reads its own, to answer a value an earlier import wrote as already imported.
 */
export async function firstRevisionsBy(db: Queryable, postId: string, author: Author): Promise<Map<string, string>> {
  const { rows } = await db.query<{ section_id: string | null; field_id: string; id: string }>(
    `SELECT DISTINCT ON (v.section_id, v.field_id) v.section_id, v.field_id, r.id
     FROM workflow.field_values v JOIN workflow.revisions r ON r.value_id = v.id
     WHERE v.post_id = $1 AND r.author_kind = $2 AND r.author_id = $3
     ORDER BY v.section_id, v.field_id, r.created_at, r.id`,
    [postId, author.kind, author.id],
  );
  return new Map(rows.map((row) => [`${row.section_id ?? ''} ${row.field_id}`, row.id]));
}

/**
 * Claims the value row of a target (created on first write with its first revision's id, checked at
 * commit); an existing row is returned locked. Concurrent first writes meet on the unique key.
 */
export async function claim(
  tx: Queryable,
  target: { postId: string; sectionId: string | null; fieldId: string },
  ids: { valueId: string; revisionId: string },
): Promise<{ id: string; head_revision_id: string; created: boolean }> {
  const inserted = await tx.query<{ id: string; head_revision_id: string }>(
    `INSERT INTO workflow.field_values (id, post_id, section_id, field_id, head_revision_id) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (post_id, section_id, field_id) DO NOTHING RETURNING id, head_revision_id`,
    [ids.valueId, target.postId, target.sectionId, target.fieldId, ids.revisionId],
  );
  if (inserted.rows[0]) return { ...inserted.rows[0], created: true };
  const { rows } = await tx.query<{ id: string; head_revision_id: string }>(
    `SELECT id, head_revision_id FROM workflow.field_values
     WHERE post_id = $1 AND section_id IS NOT DISTINCT FROM $2 AND field_id = $3 FOR UPDATE`,
    [target.postId, target.sectionId, target.fieldId],
  );
  return { ...(rows[0] as { id: string; head_revision_id: string }), created: false };
}

export async function insertRevision(
  tx: Queryable,
  row: {
    id: string;
    valueId: string;
    previousRevisionId: string | null;
    value: unknown;
    author: Author;
    sourceTaskId?: string | null;
    restoredFrom?: string | null;
  },
): Promise<void> {
  await tx.query(
    `INSERT INTO workflow.revisions (id, value_id, previous_revision_id, value, author_kind, author_id, source_task_id, restored_from_revision_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      row.id,
      row.valueId,
      row.previousRevisionId,
      JSON.stringify(row.value ?? null),
      row.author.kind,
      row.author.id,
      row.sourceTaskId ?? null,
      row.restoredFrom ?? null,
    ],
  );
  await tx.query('UPDATE workflow.field_values SET head_revision_id = $2 WHERE id = $1', [row.valueId, row.id]);
}

/** Autosave: the author's own head revision takes the new value instead of a new revision being added. */
export async function amend(tx: Queryable, revisionId: string, value: unknown): Promise<void> {
  await tx.query('UPDATE workflow.revisions SET value = $2, amended_at = now() WHERE id = $1', [
    revisionId,
    JSON.stringify(value ?? null),
  ]);
}

/** True when the revision is still open for its author's autosave: created within `windowMs`, by PostgreSQL's clock. */
export async function isOpen(db: Queryable, revisionId: string, windowMs: number): Promise<boolean> {
  const { rows } = await db.query<{ open: boolean }>(
    `SELECT created_at > now() - make_interval(secs => $2::double precision / 1000) AS open FROM workflow.revisions WHERE id = $1`,
    [revisionId, windowMs],
  );
  return rows[0]?.open ?? false;
}

export async function getRevision(db: Queryable, valueId: string, id: string): Promise<RevisionRow | undefined> {
  const { rows } = await db.query<RevisionRow>('SELECT * FROM workflow.revisions WHERE id = $1 AND value_id = $2', [id, valueId]);
  return rows[0];
}

/** A value's revisions, newest first (ids are UUIDv7); the cursor is the last one's id. */
export async function revisions(
  db: Queryable,
  valueId: string,
  page: { limit: number; before?: string | undefined },
): Promise<RevisionRow[]> {
  const { rows } = await db.query<RevisionRow>(
    `SELECT * FROM workflow.revisions WHERE value_id = $1 AND ($2::uuid IS NULL OR id < $2)
     ORDER BY id DESC LIMIT $3`,
    [valueId, page.before ?? null, page.limit],
  );
  return rows;
}
