import type { Queryable } from '@llmops/kit/db';

export interface StageRow {
  id: string;
  key: string;
  label: string;
  position: number;
}

export interface SubstageRow {
  id: string;
  stage_id: string;
  key: string;
  label: string;
  description: string;
  position: number;
  retired_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export async function listStages(db: Queryable): Promise<StageRow[]> {
  const { rows } = await db.query<StageRow>('SELECT id, key, label, position FROM workflow.stages ORDER BY position, key');
  return rows;
}

export async function getStage(db: Queryable, id: string): Promise<StageRow | undefined> {
  const { rows } = await db.query<StageRow>('SELECT id, key, label, position FROM workflow.stages WHERE id = $1', [id]);
  return rows[0];
}

/** Every stage in order, locked: a move renumbers them. */
export async function lockStages(tx: Queryable): Promise<StageRow[]> {
  const { rows } = await tx.query<StageRow>(
    'SELECT id, key, label, position FROM workflow.stages ORDER BY position, key FOR UPDATE',
  );
  return rows;
}

export async function renameStage(tx: Queryable, id: string, label: string | undefined): Promise<void> {
  await tx.query('UPDATE workflow.stages SET label = coalesce($2, label), updated_at = now() WHERE id = $1', [id, label ?? null]);
}

/** Numbers the given stages 1, 2, … in the given order. */
export async function renumberStages(tx: Queryable, orderedIds: readonly string[]): Promise<void> {
  await tx.query(
    `UPDATE workflow.stages s SET position = o.n, updated_at = now()
     FROM unnest($1::uuid[]) WITH ORDINALITY AS o(id, n) WHERE s.id = o.id AND s.position <> o.n`,
    [orderedIds],
  );
}

export async function listSubstages(db: Queryable, { includeRetired }: { includeRetired: boolean }): Promise<SubstageRow[]> {
  const { rows } = await db.query<SubstageRow>(
    `SELECT ss.* FROM workflow.substages ss JOIN workflow.stages s ON s.id = ss.stage_id
     WHERE $1 OR ss.retired_at IS NULL ORDER BY s.position, ss.position, ss.key`,
    [includeRetired],
  );
  return rows;
}

export async function getSubstage(db: Queryable, id: string, { lock = false } = {}): Promise<SubstageRow | undefined> {
  const { rows } = await db.query<SubstageRow>(`SELECT * FROM workflow.substages WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [
    id,
  ]);
  return rows[0];
}

/** The substage a new post starts at: the first one still offered, by stage then position. */
export async function firstSubstage(db: Queryable): Promise<SubstageRow | undefined> {
  const { rows } = await db.query<SubstageRow>(
    `SELECT ss.* FROM workflow.substages ss JOIN workflow.stages s ON s.id = ss.stage_id
     WHERE ss.retired_at IS NULL ORDER BY s.position, ss.position, ss.key LIMIT 1`,
  );
  return rows[0];
}

/** The substages of a stage that are still offered, in order, locked: a move renumbers them. */
export async function activeInStage(tx: Queryable, stageId: string): Promise<SubstageRow[]> {
  const { rows } = await tx.query<SubstageRow>(
    `SELECT * FROM workflow.substages WHERE stage_id = $1 AND retired_at IS NULL ORDER BY position, key FOR UPDATE`,
    [stageId],
  );
  return rows;
}

export async function insertSubstage(
  tx: Queryable,
  row: Pick<SubstageRow, 'id' | 'stage_id' | 'key' | 'label' | 'description' | 'position'>,
): Promise<void> {
  await tx.query(
    `INSERT INTO workflow.substages (id, stage_id, key, label, description, position) VALUES ($1, $2, $3, $4, $5, $6)`,
    [row.id, row.stage_id, row.key, row.label, row.description, row.position],
  );
}

export async function updateSubstage(
  tx: Queryable,
  id: string,
  changes: { label?: string | undefined; description?: string | undefined; retired?: boolean | undefined },
): Promise<void> {
  await tx.query(
    `UPDATE workflow.substages SET label = coalesce($2, label), description = coalesce($3, description),
       retired_at = CASE WHEN $4::boolean IS NULL THEN retired_at WHEN $4 THEN coalesce(retired_at, now()) ELSE NULL END,
       updated_at = now()
     WHERE id = $1`,
    [id, changes.label ?? null, changes.description ?? null, changes.retired ?? null],
  );
}

/** Numbers the given substages 1, 2, … in the given order. */
export async function renumberSubstages(tx: Queryable, orderedIds: readonly string[]): Promise<void> {
  await tx.query(
    `UPDATE workflow.substages ss SET position = o.n, updated_at = now()
     FROM unnest($1::uuid[]) WITH ORDINALITY AS o(id, n) WHERE ss.id = o.id AND ss.position <> o.n`,
    [orderedIds],
  );
}

/** A stage the reference data lacks (only the legacy importer adds stages: services/workflow/src/import). */
export async function insertStage(tx: Queryable, row: Pick<StageRow, 'id' | 'key' | 'label' | 'position'>): Promise<void> {
  await tx.query('INSERT INTO workflow.stages (id, key, label, position) VALUES ($1, $2, $3, $4)', [
    row.id,
    row.key,
    row.label,
    row.position,
  ]);
}
