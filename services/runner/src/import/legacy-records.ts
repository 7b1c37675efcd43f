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

/** A link the importer can now name for a record an earlier import made. */
export interface LaterLink {
  id: string;
  template_id: string | null;
  model_id: string | null;
  provider_id: string | null;
}

/**
 * Gives records made by an earlier import the links they lack and can now have (their template or model was
 * imported since): a link a record has is never changed. Returns each record linked, before and after.
 */
export async function linkLater(
  tx: Queryable,
  links: readonly LaterLink[],
): Promise<{ id: string; before: Omit<LaterLink, 'id'>; after: Omit<LaterLink, 'id'> }[]> {
  const wanted = links.filter((link) => link.template_id !== null || link.model_id !== null);
  if (wanted.length === 0) return [];
  const { rows } = await tx.query<{
    id: string;
    template_id: string | null;
    model_id: string | null;
    provider_id: string | null;
    old_template_id: string | null;
    old_model_id: string | null;
    old_provider_id: string | null;
  }>(
    `WITH r AS (
       SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, template_id uuid, model_id uuid, provider_id uuid)
     ), old AS (
       SELECT t.id, t.template_id, t.model_id, t.provider_id FROM runner.tasks t JOIN r ON r.id = t.id
       WHERE t.source = 'legacy'
         AND ((t.template_id IS NULL AND r.template_id IS NOT NULL) OR (t.model_id IS NULL AND r.model_id IS NOT NULL))
       FOR UPDATE OF t
     )
     UPDATE runner.tasks t SET
       template_id = COALESCE(old.template_id, r.template_id),
       template_version = CASE WHEN old.template_id IS NULL AND r.template_id IS NOT NULL THEN 1 ELSE t.template_version END,
       template_label = CASE WHEN old.template_id IS NULL AND r.template_id IS NOT NULL THEN 'legacy' ELSE t.template_label END,
       model_id = COALESCE(old.model_id, r.model_id),
       provider_id = CASE WHEN old.model_id IS NULL AND r.model_id IS NOT NULL THEN r.provider_id ELSE t.provider_id END,
       updated_at = now()
     FROM r JOIN old ON old.id = r.id
     WHERE t.id = r.id
     RETURNING t.id, t.template_id, t.model_id, t.provider_id,
       old.template_id AS old_template_id, old.model_id AS old_model_id, old.provider_id AS old_provider_id`,
    [JSON.stringify(wanted)],
  );
  return rows.map((row) => ({
    id: row.id,
    before: { template_id: row.old_template_id, model_id: row.old_model_id, provider_id: row.old_provider_id },
    after: { template_id: row.template_id, model_id: row.model_id, provider_id: row.provider_id },
  }));
}

/** Records which task each legacy row became, so a later import of `source` creates nothing twice. */
export async function record(tx: Queryable, source: string, made: readonly { legacy_id: string; id: string }[]): Promise<void> {
  await tx.query(
    `INSERT INTO runner.legacy_ids (source, kind, legacy_id, id)
     SELECT $1, 'interaction', r.legacy_id, r.id FROM jsonb_to_recordset($2::jsonb) AS r(legacy_id text, id uuid)`,
    [source, JSON.stringify(made)],
  );
}
