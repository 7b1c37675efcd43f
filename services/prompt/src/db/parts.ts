import { many, maybeOne, one, type Queryable } from '@llmops/kit/db';

export type Role = 'system' | 'user' | 'assistant';

export interface PartRow {
  id: string;
  kind: string;
  name: string;
  description: string;
  tags: string[];
  default_role: Role;
  content: string;
  latest_version: number | null;
  has_unpublished_changes: boolean;
  created_by: string;
  updated_by: string;
  created_at: Date;
  updated_at: Date;
  deleted_at: Date | null;
}

export interface PartVersionRow {
  part_id: string;
  version: number;
  kind: string;
  name: string;
  description: string;
  tags: string[];
  default_role: Role;
  content: string;
  variables: unknown[];
  message: string;
  author: string;
  created_at: Date;
}

const PART = `p.id, p.kind, p.name, p.description, p.tags, p.default_role, p.content, p.latest_version,
  p.created_by, p.updated_by, p.created_at, p.updated_at, p.deleted_at,
  (v.part_id IS NULL OR (v.kind, v.name, v.description, v.tags, v.default_role, v.content)
    IS DISTINCT FROM (p.kind, p.name, p.description, p.tags, p.default_role, p.content)) AS has_unpublished_changes`;
const FROM = `prompt.parts p LEFT JOIN prompt.part_versions v ON v.part_id = p.id AND v.version = p.latest_version`;

export function kinds(db: Queryable) {
  return many<{ name: string; description: string; default_role: Role; position: number }>(
    db,
    `SELECT name, description, default_role, position FROM prompt.part_kinds ORDER BY position`,
  );
}

export function kind(db: Queryable, name: string) {
  return maybeOne<{ name: string; default_role: Role }>(db, `SELECT name, default_role FROM prompt.part_kinds WHERE name = $1`, [
    name,
  ]);
}

/**
 * A live part (not deleted); `lock` takes the row for an update first, then reads it in a statement of
 * its own: a locked read that waited would otherwise see the joined version as of before the wait.
 */
export async function find(db: Queryable, id: string, { lock = false, withDeleted = false } = {}) {
  if (lock) await db.query(`SELECT 1 FROM prompt.parts WHERE id = $1 FOR UPDATE`, [id]);
  return maybeOne<PartRow>(db, `SELECT ${PART} FROM ${FROM} WHERE p.id = $1 ${withDeleted ? '' : 'AND p.deleted_at IS NULL'}`, [
    id,
  ]);
}

export interface PartInput {
  kind: string;
  name: string;
  description: string;
  tags: string[];
  default_role: Role;
  content: string;
}

export function insert(db: Queryable, id: string, input: PartInput, author: string) {
  return one<PartRow>(
    db,
    `WITH p AS (
       INSERT INTO prompt.parts (id, kind, name, description, tags, default_role, content, created_by, updated_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING *)
     SELECT ${PART} FROM p LEFT JOIN prompt.part_versions v ON false`,
    [id, input.kind, input.name, input.description, input.tags, input.default_role, input.content, author],
  );
}

export async function update(db: Queryable, id: string, input: PartInput, author: string): Promise<PartRow> {
  await db.query(
    `UPDATE prompt.parts SET kind = $2, name = $3, description = $4, tags = $5, default_role = $6, content = $7,
       updated_by = $8, updated_at = prompt.next_updated_at(updated_at)
     WHERE id = $1`,
    [id, input.kind, input.name, input.description, input.tags, input.default_role, input.content, author],
  );
  return (await find(db, id)) as PartRow;
}

export async function softDelete(db: Queryable, id: string, author: string): Promise<void> {
  await db.query(
    `UPDATE prompt.parts SET deleted_at = clock_timestamp(), updated_by = $2, updated_at = prompt.next_updated_at(updated_at)
     WHERE id = $1`,
    [id, author],
  );
}

export interface ListFilter {
  kind?: string | undefined;
  tag?: string | undefined;
  q?: string | undefined;
  limit: number;
  after?: { id: string; rank: number | null } | undefined;
}

/**
 * Lists live parts, newest first; with `q`, full-text search (english configuration, weighted name >
 * description > content) ordered by relevance.
 */
export function list(db: Queryable, filter: ListFilter) {
  const search = filter.q !== undefined;
  return many<PartRow & { rank: number | null }>(
    db,
    `SELECT ${PART}, ${search ? 'ts_rank(p.search, query)' : 'NULL::real'} AS rank
     FROM ${FROM} ${search ? ", websearch_to_tsquery('english', $3) AS query" : ''}
     WHERE p.deleted_at IS NULL
       AND ($1::text IS NULL OR p.kind = $1)
       AND ($2::text IS NULL OR $2 = ANY (p.tags))
       ${search ? 'AND p.search @@ query' : 'AND $3::text IS NULL'}
       AND ($4::uuid IS NULL OR ${search ? '(ts_rank(p.search, query), p.id) < ($5::real, $4::uuid)' : '($5::real IS NULL AND p.id < $4::uuid)'})
     ORDER BY ${search ? 'rank DESC, ' : ''}p.id DESC
     LIMIT $6`,
    [
      filter.kind ?? null,
      filter.tag ?? null,
      filter.q ?? null,
      filter.after?.id ?? null,
      filter.after?.rank ?? null,
      filter.limit + 1,
    ],
  );
}

const VERSION = `part_id, version, kind, name, description, tags, default_role, content, variables, message, author, created_at`;

export function insertVersion(
  db: Queryable,
  part: PartRow,
  version: number,
  variables: unknown[],
  message: string,
  author: string,
): Promise<PartVersionRow> {
  return one<PartVersionRow>(
    db,
    `INSERT INTO prompt.part_versions (part_id, version, kind, name, description, tags, default_role, content, variables, message, author)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING ${VERSION}`,
    [
      part.id,
      version,
      part.kind,
      part.name,
      part.description,
      part.tags,
      part.default_role,
      part.content,
      JSON.stringify(variables),
      message,
      author,
    ],
  );
}

export async function setLatest(db: Queryable, id: string, version: number): Promise<void> {
  await db.query(`UPDATE prompt.parts SET latest_version = $2 WHERE id = $1`, [id, version]);
}

export function version(db: Queryable, id: string, n: number) {
  return maybeOne<PartVersionRow>(db, `SELECT ${VERSION} FROM prompt.part_versions WHERE part_id = $1 AND version = $2`, [id, n]);
}

export function versions(db: Queryable, id: string, limit: number, before?: number) {
  return many<PartVersionRow>(
    db,
    `SELECT ${VERSION} FROM prompt.part_versions WHERE part_id = $1 AND ($2::int IS NULL OR version < $2)
     ORDER BY version DESC LIMIT $3`,
    [id, before ?? null, limit + 1],
  );
}

/** Many parts by id (deleted ones too: callers say why a deleted one cannot be used). */
export function findMany(db: Queryable, ids: readonly string[]) {
  return many<PartRow>(db, `SELECT ${PART} FROM ${FROM} WHERE p.id = ANY ($1::uuid[])`, [ids]);
}

/** Many exact part versions, by (part, version) pairs. */
export function versionsOf(db: Queryable, pairs: readonly { part_id: string; version: number }[]) {
  return many<PartVersionRow>(
    db,
    `SELECT ${VERSION} FROM prompt.part_versions
     WHERE (part_id, version) IN (SELECT * FROM unnest($1::uuid[], $2::int[]))`,
    [pairs.map((p) => p.part_id), pairs.map((p) => p.version)],
  );
}

export interface PartLabelRow {
  part_id: string;
  name: string;
  version: number;
  created_at: Date;
  updated_at: Date;
  updated_by: string;
}

const LABEL = `part_id, name, version, created_at, updated_at, updated_by`;

/** A part's named labels, by name. */
export function labels(db: Queryable, partId: string) {
  return many<PartLabelRow>(db, `SELECT ${LABEL} FROM prompt.part_labels WHERE part_id = $1 ORDER BY name`, [partId]);
}

export function label(db: Queryable, partId: string, name: string, { lock = false } = {}) {
  return maybeOne<PartLabelRow>(
    db,
    `SELECT ${LABEL} FROM prompt.part_labels WHERE part_id = $1 AND name = $2 ${lock ? 'FOR UPDATE' : ''}`,
    [partId, name],
  );
}

/** Many part labels, by (part, label) pairs. */
export function labelsOf(db: Queryable, pairs: readonly { part_id: string; label: string }[]) {
  return many<PartLabelRow>(
    db,
    `SELECT ${LABEL} FROM prompt.part_labels
     WHERE (part_id, name) IN (SELECT * FROM unnest($1::uuid[], $2::text[]))`,
    [pairs.map((p) => p.part_id), pairs.map((p) => p.label)],
  );
}

export function upsertLabel(db: Queryable, partId: string, name: string, version: number, author: string) {
  return one<PartLabelRow>(
    db,
    `INSERT INTO prompt.part_labels (part_id, name, version, updated_by) VALUES ($1, $2, $3, $4)
     ON CONFLICT (part_id, name) DO UPDATE
       SET version = EXCLUDED.version, updated_by = EXCLUDED.updated_by,
           updated_at = prompt.next_updated_at(prompt.part_labels.updated_at)
     RETURNING ${LABEL}`,
    [partId, name, version, author],
  );
}

export async function deleteLabel(db: Queryable, partId: string, name: string): Promise<void> {
  await db.query(`DELETE FROM prompt.part_labels WHERE part_id = $1 AND name = $2`, [partId, name]);
}

export interface PartLabelMove {
  id: string;
  part_id: string;
  label: string;
  from_version: number | null;
  to_version: number | null;
  actor_kind: 'account' | 'service';
  actor_id: string;
  request_id: string | null;
}

export function recordLabelMove(db: Queryable, move: PartLabelMove) {
  return one<{ at: Date }>(
    db,
    `INSERT INTO prompt.part_label_moves (id, part_id, label, from_version, to_version, actor_kind, actor_id, request_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING at`,
    [move.id, move.part_id, move.label, move.from_version, move.to_version, move.actor_kind, move.actor_id, move.request_id],
  );
}

export function labelMoves(db: Queryable, partId: string, limit = 50) {
  return many<{
    label: string;
    from_version: number | null;
    to_version: number | null;
    actor_kind: 'account' | 'service';
    actor_id: string;
    at: Date;
  }>(
    db,
    `SELECT label, from_version, to_version, actor_kind, actor_id, at FROM prompt.part_label_moves
     WHERE part_id = $1 ORDER BY id DESC LIMIT $2`,
    [partId, limit],
  );
}
