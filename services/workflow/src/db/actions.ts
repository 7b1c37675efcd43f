import type { Queryable } from '@llmops/kit/db';
import type { FieldRow } from './fields.ts';

/** Where a template variable's value comes from (contracts/workflow-actions.ts InputSourceSchema). */
export type InputSource =
  | { from: 'post_field'; field: string }
  | { from: 'section_field'; field: string }
  | { from: 'post'; attribute: 'title' | 'slug' | 'status' }
  | { from: 'literal'; value: string };
export type InputMapping = Record<string, InputSource>;

export interface ActionRow {
  id: string;
  substage_id: string;
  label: string;
  position: number;
  template_id: string;
  template_version: number | null;
  template_label: string | null;
  model_id: string | null;
  preset_id: string | null;
  inputs: InputMapping;
  target_field_id: string;
  target_field_key: string;
  target_field_scope: 'post' | 'section';
  mode: 'review' | 'apply';
  retired_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const SELECT = `SELECT a.*, f.key AS target_field_key, f.scope AS target_field_scope
  FROM workflow.actions a JOIN workflow.fields f ON f.id = a.target_field_id`;

export async function list(
  db: Queryable,
  filter: { substageId?: string | undefined; includeRetired: boolean },
): Promise<ActionRow[]> {
  const { rows } = await db.query<ActionRow>(
    `${SELECT} JOIN workflow.substages ss ON ss.id = a.substage_id JOIN workflow.stages s ON s.id = ss.stage_id
     WHERE ($1::uuid IS NULL OR a.substage_id = $1) AND ($2 OR a.retired_at IS NULL)
     ORDER BY s.position, ss.position, a.position, a.id`,
    [filter.substageId ?? null, filter.includeRetired],
  );
  return rows;
}

export async function get(db: Queryable, id: string): Promise<ActionRow | undefined> {
  const { rows } = await db.query<ActionRow>(`${SELECT} WHERE a.id = $1`, [id]);
  return rows[0];
}

/** The kind of field a run of the action on the post writes (the post's choice may name another), if both exist. */
export async function targetKind(db: Queryable, id: string, postId: string): Promise<FieldRow['kind'] | undefined> {
  const { rows } = await db.query<{ kind: FieldRow['kind'] }>(
    `SELECT f.kind FROM workflow.actions a
       LEFT JOIN workflow.post_action_choices c ON c.action_id = a.id AND c.post_id = $2
       JOIN workflow.fields f ON f.id = coalesce(c.target_field_id, a.target_field_id)
      WHERE a.id = $1`,
    [id, postId],
  );
  return rows[0]?.kind;
}

export async function activeInSubstage(tx: Queryable, substageId: string): Promise<{ id: string }[]> {
  const { rows } = await tx.query<{ id: string }>(
    'SELECT id FROM workflow.actions WHERE substage_id = $1 AND retired_at IS NULL ORDER BY position, id FOR UPDATE',
    [substageId],
  );
  return rows;
}

export async function insert(
  tx: Queryable,
  row: Omit<ActionRow, 'retired_at' | 'created_at' | 'updated_at' | 'target_field_key' | 'target_field_scope'>,
): Promise<void> {
  await tx.query(
    `INSERT INTO workflow.actions (id, substage_id, label, position, template_id, template_version, template_label,
       model_id, preset_id, inputs, target_field_id, mode)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
    [
      row.id,
      row.substage_id,
      row.label,
      row.position,
      row.template_id,
      row.template_version,
      row.template_label,
      row.model_id,
      row.preset_id,
      JSON.stringify(row.inputs),
      row.target_field_id,
      row.mode,
    ],
  );
}

/** What an update changes; a key left out (undefined) keeps its column, null clears a nullable one. */
export interface ActionChanges {
  label?: string | undefined;
  inputs?: InputMapping | undefined;
  mode?: 'review' | 'apply' | undefined;
  retired?: boolean | undefined;
  template_version?: number | null | undefined;
  template_label?: string | null | undefined;
  model_id?: string | null | undefined;
  preset_id?: string | null | undefined;
}

export async function update(tx: Queryable, id: string, changes: ActionChanges): Promise<void> {
  const given = (value: unknown) => value !== undefined;
  await tx.query(
    `UPDATE workflow.actions SET label = coalesce($2, label), inputs = coalesce($3::jsonb, inputs), mode = coalesce($4, mode),
       retired_at = CASE WHEN $5::boolean IS NULL THEN retired_at WHEN $5 THEN coalesce(retired_at, now()) ELSE NULL END,
       template_version = CASE WHEN $6 THEN $7::int ELSE template_version END,
       template_label = CASE WHEN $8 THEN $9::text ELSE template_label END,
       model_id = CASE WHEN $10 THEN $11::uuid ELSE model_id END,
       preset_id = CASE WHEN $12 THEN $13::uuid ELSE preset_id END,
       updated_at = now()
     WHERE id = $1`,
    [
      id,
      changes.label ?? null,
      changes.inputs ? JSON.stringify(changes.inputs) : null,
      changes.mode ?? null,
      changes.retired ?? null,
      given(changes.template_version),
      changes.template_version ?? null,
      given(changes.template_label),
      changes.template_label ?? null,
      given(changes.model_id),
      changes.model_id ?? null,
      given(changes.preset_id),
      changes.preset_id ?? null,
    ],
  );
}

export async function renumber(tx: Queryable, orderedIds: readonly string[]): Promise<void> {
  await tx.query(
    `UPDATE workflow.actions a SET position = o.n, updated_at = now()
     FROM unnest($1::uuid[]) WITH ORDINALITY AS o(id, n) WHERE a.id = o.id AND a.position <> o.n`,
    [orderedIds],
  );
}

export interface ChoiceRow {
  post_id: string;
  action_id: string;
  hidden: boolean;
  inputs: InputMapping | null;
  target_field_id: string | null;
}

export async function choicesOf(db: Queryable, postId: string): Promise<ChoiceRow[]> {
  const { rows } = await db.query<ChoiceRow>('SELECT * FROM workflow.post_action_choices WHERE post_id = $1', [postId]);
  return rows;
}

export async function choice(db: Queryable, postId: string, actionId: string): Promise<ChoiceRow | undefined> {
  const { rows } = await db.query<ChoiceRow>('SELECT * FROM workflow.post_action_choices WHERE post_id = $1 AND action_id = $2', [
    postId,
    actionId,
  ]);
  return rows[0];
}

export async function setChoice(tx: Queryable, row: ChoiceRow): Promise<void> {
  await tx.query(
    `INSERT INTO workflow.post_action_choices (post_id, action_id, hidden, inputs, target_field_id) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (post_id, action_id) DO UPDATE SET hidden = $3, inputs = $4, target_field_id = $5, updated_at = now()`,
    [row.post_id, row.action_id, row.hidden, row.inputs === null ? null : JSON.stringify(row.inputs), row.target_field_id],
  );
}

/** Replaces `to`'s choices with `from`'s; answers how many were copied. */
export async function copyChoices(tx: Queryable, from: string, to: string): Promise<number> {
  await tx.query('DELETE FROM workflow.post_action_choices WHERE post_id = $1', [to]);
  const { rowCount } = await tx.query(
    `INSERT INTO workflow.post_action_choices (post_id, action_id, hidden, inputs, target_field_id)
     SELECT $2, action_id, hidden, inputs, target_field_id FROM workflow.post_action_choices WHERE post_id = $1`,
    [from, to],
  );
  return rowCount ?? 0;
}
