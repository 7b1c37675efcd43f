import type { Queryable } from '@llmops/kit/db';

export interface SectionRow {
  id: string;
  post_id: string;
  position: number;
  removed_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** A post's sections in order (removed ones left out); `lock` holds them for a reorder. */
export async function ofPost(db: Queryable, postId: string, { lock = false } = {}): Promise<SectionRow[]> {
  const { rows } = await db.query<SectionRow>(
    `SELECT * FROM workflow.sections WHERE post_id = $1 AND removed_at IS NULL ORDER BY position, id${lock ? ' FOR UPDATE' : ''}`,
    [postId],
  );
  return rows;
}

export async function get(db: Queryable, postId: string, id: string): Promise<SectionRow | undefined> {
  const { rows } = await db.query<SectionRow>('SELECT * FROM workflow.sections WHERE id = $1 AND post_id = $2', [id, postId]);
  return rows[0];
}

export async function insert(tx: Queryable, row: { id: string; post_id: string; position: number }): Promise<void> {
  await tx.query('INSERT INTO workflow.sections (id, post_id, position) VALUES ($1, $2, $3)', [
    row.id,
    row.post_id,
    row.position,
  ]);
}

export async function remove(tx: Queryable, id: string): Promise<void> {
  await tx.query('UPDATE workflow.sections SET removed_at = now(), updated_at = now() WHERE id = $1', [id]);
}

/** Numbers the given sections 1, 2, … in the given order. */
export async function renumber(tx: Queryable, orderedIds: readonly string[]): Promise<void> {
  await tx.query(
    `UPDATE workflow.sections s SET position = o.n, updated_at = now()
     FROM unnest($1::uuid[]) WITH ORDINALITY AS o(id, n) WHERE s.id = o.id AND s.position <> o.n`,
    [orderedIds],
  );
}
