import type { Queryable } from '@llmops/kit/db';
import type { FieldProblem } from '@llmops/kit/problem';

export type SuggestionStatus = 'open' | 'accepted' | 'rejected' | 'superseded' | 'conflict' | 'obsolete';

export interface SuggestionRow {
  id: string;
  task_id: string;
  action_run_id: string;
  post_id: string;
  section_id: string | null;
  field_id: string;
  field_key: string;
  value: unknown;
  base_revision_id: string | null;
  valid: boolean;
  invalid_reasons: FieldProblem[];
  status: SuggestionStatus;
  decided_by: string | null;
  decided_at: Date | null;
  revision_id: string | null;
  created_at: Date;
}

const SELECT = `SELECT s.*, f.key AS field_key FROM workflow.suggestions s JOIN workflow.fields f ON f.id = s.field_id`;

/** Keyed by task id: a second insert for the same task (a redelivery) inserts nothing and answers false. */
export async function insert(
  tx: Queryable,
  row: Pick<
    SuggestionRow,
    | 'id'
    | 'task_id'
    | 'action_run_id'
    | 'post_id'
    | 'section_id'
    | 'field_id'
    | 'value'
    | 'base_revision_id'
    | 'valid'
    | 'invalid_reasons'
    | 'status'
  >,
): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO workflow.suggestions (id, task_id, action_run_id, post_id, section_id, field_id, value, base_revision_id, valid, invalid_reasons, status)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (task_id) DO NOTHING`,
    [
      row.id,
      row.task_id,
      row.action_run_id,
      row.post_id,
      row.section_id,
      row.field_id,
      JSON.stringify(row.value ?? null),
      row.base_revision_id,
      row.valid,
      JSON.stringify(row.invalid_reasons),
      row.status,
    ],
  );
  return rowCount === 1;
}

export async function get(db: Queryable, id: string, { lock = false } = {}): Promise<SuggestionRow | undefined> {
  if (lock) await db.query('SELECT 1 FROM workflow.suggestions WHERE id = $1 FOR UPDATE', [id]);
  const { rows } = await db.query<SuggestionRow>(`${SELECT} WHERE s.id = $1`, [id]);
  return rows[0];
}

export async function ofRuns(db: Queryable, runIds: readonly string[]): Promise<SuggestionRow[]> {
  if (runIds.length === 0) return [];
  const { rows } = await db.query<SuggestionRow>(`${SELECT} WHERE s.action_run_id = ANY($1::uuid[])`, [runIds]);
  return rows;
}

export async function decide(
  tx: Queryable,
  id: string,
  decision: { status: 'accepted' | 'rejected'; by: string; revisionId: string | null },
): Promise<void> {
  await tx.query(
    'UPDATE workflow.suggestions SET status = $2, decided_by = $3, decided_at = now(), revision_id = $4 WHERE id = $1',
    [id, decision.status, decision.by, decision.revisionId],
  );
}

/** Other open suggestions for the same value are superseded once one is accepted. */
export async function supersedeOthers(
  tx: Queryable,
  keep: { id: string; postId: string; sectionId: string | null; fieldId: string },
): Promise<void> {
  await tx.query(
    `UPDATE workflow.suggestions SET status = 'superseded' WHERE id <> $1 AND post_id = $2 AND section_id IS NOT DISTINCT FROM $3
       AND field_id = $4 AND status IN ('open', 'conflict')`,
    [keep.id, keep.postId, keep.sectionId, keep.fieldId],
  );
}
