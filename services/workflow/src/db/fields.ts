import type { Queryable } from '@llmops/kit/db';

export type FieldKind = 'text' | 'markdown' | 'list' | 'json' | 'image';

export interface FieldRow {
  id: string;
  key: string;
  label: string;
  description: string;
  kind: FieldKind;
  json_schema: Record<string, unknown> | null;
  scope: 'post' | 'section';
  substage_id: string;
  position: number;
  required: boolean;
  retired_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export async function list(
  db: Queryable,
  filter: { substageId?: string | undefined; includeRetired: boolean },
): Promise<FieldRow[]> {
  const { rows } = await db.query<FieldRow>(
    `SELECT f.* FROM workflow.fields f
       JOIN workflow.substages ss ON ss.id = f.substage_id JOIN workflow.stages s ON s.id = ss.stage_id
     WHERE ($1::uuid IS NULL OR f.substage_id = $1) AND ($2 OR f.retired_at IS NULL)
     ORDER BY s.position, ss.position, f.position, f.key`,
    [filter.substageId ?? null, filter.includeRetired],
  );
  return rows;
}

export async function get(db: Queryable, id: string, { lock = false } = {}): Promise<FieldRow | undefined> {
  const { rows } = await db.query<FieldRow>(`SELECT * FROM workflow.fields WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0];
}

export async function getByKey(db: Queryable, key: string): Promise<FieldRow | undefined> {
  const { rows } = await db.query<FieldRow>('SELECT * FROM workflow.fields WHERE key = $1', [key]);
  return rows[0];
}

/** The fields of a substage still in use, in order, locked: a move renumbers them. */
export async function activeInSubstage(tx: Queryable, substageId: string): Promise<FieldRow[]> {
  const { rows } = await tx.query<FieldRow>(
    'SELECT * FROM workflow.fields WHERE substage_id = $1 AND retired_at IS NULL ORDER BY position, key FOR UPDATE',
    [substageId],
  );
  return rows;
}

export async function insert(tx: Queryable, row: Omit<FieldRow, 'retired_at' | 'created_at' | 'updated_at'>): Promise<void> {
  await tx.query(
    `INSERT INTO workflow.fields (id, key, label, description, kind, json_schema, scope, substage_id, position, required)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      row.id,
      row.key,
      row.label,
      row.description,
      row.kind,
      row.json_schema === null ? null : JSON.stringify(row.json_schema),
      row.scope,
      row.substage_id,
      row.position,
      row.required,
    ],
  );
}

export async function update(
  tx: Queryable,
  id: string,
  changes: {
    label?: string | undefined;
    description?: string | undefined;
    json_schema?: Record<string, unknown> | null | undefined;
    substage_id?: string | undefined;
    required?: boolean | undefined;
    retired?: boolean | undefined;
  },
): Promise<void> {
  await tx.query(
    `UPDATE workflow.fields SET label = coalesce($2, label), description = coalesce($3, description),
       json_schema = CASE WHEN $4 THEN $5::jsonb ELSE json_schema END,
       substage_id = coalesce($6, substage_id), required = coalesce($7, required),
       retired_at = CASE WHEN $8::boolean IS NULL THEN retired_at WHEN $8 THEN coalesce(retired_at, now()) ELSE NULL END,
       updated_at = now()
     WHERE id = $1`,
    [
      id,
      changes.label ?? null,
      changes.description ?? null,
      changes.json_schema !== undefined,
      changes.json_schema == null ? null : JSON.stringify(changes.json_schema),
      changes.substage_id ?? null,
      changes.required ?? null,
      changes.retired ?? null,
    ],
  );
}

/** Numbers the given fields 1, 2, … in the given order. */
export async function renumber(tx: Queryable, orderedIds: readonly string[]): Promise<void> {
  await tx.query(
    `UPDATE workflow.fields f SET position = o.n, updated_at = now()
     FROM unnest($1::uuid[]) WITH ORDINALITY AS o(id, n) WHERE f.id = o.id AND f.position <> o.n`,
    [orderedIds],
  );
}
