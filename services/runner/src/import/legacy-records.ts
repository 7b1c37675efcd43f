import type { Queryable } from '@llmops/kit/db';
import { TASK_COLUMNS, type TaskRow, type TaskSnapshot } from '../tasks/task.ts';

/*
 * The SQL verbs of the legacy importer's records (runner.legacy_ids, sql/runner/000008): one statement each,
 * the `Queryable` first. A record is a task of source `legacy`, inserted done: it was never run here.
 */

/** One import of a source at a time: a second one waits, then finds what the first recorded. */
export async function lockSource(tx: Queryable, source: string): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock(hashtext('runner.legacy_ids'), hashtext($1))`, [source]);
}

/** What earlier imports of `source` made of these legacy ids: legacy id → task id. */
export async function ofSource(tx: Queryable, source: string, legacyIds: readonly string[]): Promise<Map<string, string>> {
  const { rows } = await tx.query<{ legacy_id: string; id: string }>(
    `SELECT legacy_id, id FROM runner.legacy_ids WHERE source = $1 AND kind = 'interaction' AND legacy_id = ANY($2::text[])`,
    [source, legacyIds],
  );
  return new Map(rows.map((row) => [row.legacy_id, row.id]));
}

/** A legacy record to insert: what it sent, what came back, and when. */
export interface LegacyRecord {
  id: string;
  legacy_id: string;
  snapshot: TaskSnapshot & { legacy: Record<string, unknown> };
  correlation: Record<string, unknown>;
  output_text: string;
  created_at: string;
  /** Lineage, where the importer could name it: the template (version 1, label `legacy`) and the model. */
  template_id: string | null;
  model_id: string | null;
  provider_id: string | null;
}

/** Inserts the records as done tasks of source `legacy`, in one statement. */
export async function insert(tx: Queryable, records: readonly LegacyRecord[]): Promise<TaskRow[]> {
  if (records.length === 0) return [];
  const { rows } = await tx.query<TaskRow>(
    `INSERT INTO runner.tasks (id, requester, source, status, kind, priority, correlation, inputs, snapshot, output_text,
       template_id, template_version, template_label, model_id, provider_id, run_after, created_at, finished_at, updated_at)
     SELECT r.id, 'service:importer', 'legacy', 'succeeded', 'chat', 0, r.correlation, '{}', r.snapshot, r.output_text,
            r.template_id, CASE WHEN r.template_id IS NULL THEN NULL ELSE 1 END,
            CASE WHEN r.template_id IS NULL THEN NULL ELSE 'legacy' END, r.model_id, r.provider_id,
            r.created_at, r.created_at, r.created_at, now()
     FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, correlation jsonb, snapshot jsonb, output_text text, created_at timestamptz,
       template_id uuid, model_id uuid, provider_id uuid)
     RETURNING ${TASK_COLUMNS}`,
    [JSON.stringify(records)],
  );
  return rows;
}

/** Records which task each legacy row became, so a later import of `source` creates nothing twice. */
export async function record(tx: Queryable, source: string, made: readonly { legacy_id: string; id: string }[]): Promise<void> {
  await tx.query(
    `INSERT INTO runner.legacy_ids (source, kind, legacy_id, id)
     SELECT $1, 'interaction', r.legacy_id, r.id FROM jsonb_to_recordset($2::jsonb) AS r(legacy_id text, id uuid)`,
    [source, JSON.stringify(made)],
  );
}
