import type { Queryable } from '@llmops/kit/db';

export type RunStatus = 'requested' | 'suggested' | 'applied' | 'conflict' | 'failed' | 'rejected' | 'cancelled' | 'obsolete';

export interface RunRow {
  id: string;
  action_id: string;
  action_label: string;
  post_id: string;
  section_id: string | null;
  target_field_id: string;
  field_key: string;
  target_base_revision_id: string | null;
  mode: 'review' | 'apply';
  inputs: Record<string, { value: unknown; revision_id: string | null }>;
  request: Record<string, unknown>;
  requested_by: string;
  status: RunStatus;
  task_id: string | null;
  error: Record<string, unknown> | null;
  output_text: string | null;
  cost_usd: string | null;
  created_at: Date;
  finished_at: Date | null;
}

const SELECT = `SELECT r.*, a.label AS action_label, f.key AS field_key
  FROM workflow.action_runs r JOIN workflow.actions a ON a.id = r.action_id JOIN workflow.fields f ON f.id = r.target_field_id`;

/** A new run, as `get` reads it (one statement). */
export async function insert(
  tx: Queryable,
  row: Pick<
    RunRow,
    | 'id'
    | 'action_id'
    | 'post_id'
    | 'section_id'
    | 'target_field_id'
    | 'target_base_revision_id'
    | 'mode'
    | 'inputs'
    | 'request'
    | 'requested_by'
  >,
): Promise<RunRow> {
  const { rows } = await tx.query<RunRow>(
    `WITH r AS (
       INSERT INTO workflow.action_runs (id, action_id, post_id, section_id, target_field_id, target_base_revision_id, mode, inputs, request, requested_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *)
     SELECT r.*, a.label AS action_label, f.key AS field_key
       FROM r JOIN workflow.actions a ON a.id = r.action_id JOIN workflow.fields f ON f.id = r.target_field_id`,
    [
      row.id,
      row.action_id,
      row.post_id,
      row.section_id,
      row.target_field_id,
      row.target_base_revision_id,
      row.mode,
      JSON.stringify(row.inputs),
      JSON.stringify(row.request),
      row.requested_by,
    ],
  );
  return rows[0] as RunRow;
}

export async function get(db: Queryable, id: string): Promise<RunRow | undefined> {
  const { rows } = await db.query<RunRow>(`${SELECT} WHERE r.id = $1`, [id]);
  return rows[0];
}

export async function ofPost(db: Queryable, postId: string): Promise<RunRow[]> {
  const { rows } = await db.query<RunRow>(`${SELECT} WHERE r.post_id = $1 ORDER BY r.id DESC LIMIT 500`, [postId]);
  return rows;
}

/**
 * Claims a run still waiting for its task's end, locked, for the task that is its own: a run that
 * already ended (a redelivered event) or belongs to another task answers nothing.
 */
export async function claimWaiting(tx: Queryable, id: string, taskId: string): Promise<RunRow | undefined> {
  const { rows } = await tx.query<RunRow>(
    `${SELECT} WHERE r.id = $1 AND r.status = 'requested' AND (r.task_id IS NULL OR r.task_id = $2) FOR UPDATE OF r`,
    [id, taskId],
  );
  return rows[0];
}

/** The runner queued (or rejected) the run's request: the task that is its own. Never moves once set. */
export async function setTask(db: Queryable, id: string, taskId: string): Promise<void> {
  await db.query('UPDATE workflow.action_runs SET task_id = $2 WHERE id = $1 AND task_id IS NULL', [id, taskId]);
}

export async function finish(
  tx: Queryable,
  id: string,
  outcome: { status: RunStatus; taskId: string; error?: unknown; outputText?: string | null; costUsd?: string | null },
): Promise<void> {
  await tx.query(
    `UPDATE workflow.action_runs SET status = $2, task_id = $3, error = $4, output_text = $5, cost_usd = $6, finished_at = now()
     WHERE id = $1`,
    [
      id,
      outcome.status,
      outcome.taskId,
      outcome.error === undefined ? null : JSON.stringify(outcome.error),
      outcome.outputText ?? null,
      outcome.costUsd ?? null,
    ],
  );
}
