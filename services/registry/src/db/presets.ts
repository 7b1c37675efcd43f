import type { Queryable } from '@llmops/kit/db';
import { updateColumns } from './columns.ts';

export interface PresetRow {
  id: string;
  name: string;
  description: string;
  model_id: string | null;
  parameters: Record<string, unknown>;
  retry_policy: Record<string, unknown>;
  enabled: boolean;
  archived_at: Date | null;
  created_at: Date;
  updated_at: Date;
  fallback_model_ids: string[];
}

export const UPDATABLE = ['name', 'description', 'model_id', 'parameters', 'retry_policy', 'enabled'] as const;

const SELECT = `
  SELECT p.*, coalesce((SELECT array_agg(f.model_id ORDER BY f.position) FROM registry.preset_fallbacks f
    WHERE f.preset_id = p.id), '{}') AS fallback_model_ids
  FROM registry.presets p`;

export async function insert(tx: Queryable, row: Omit<PresetRow, 'archived_at' | 'created_at' | 'updated_at'>): Promise<void> {
  await tx.query(
    `INSERT INTO registry.presets (id, name, description, model_id, parameters, retry_policy, enabled)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [
      row.id,
      row.name,
      row.description,
      row.model_id,
      JSON.stringify(row.parameters),
      JSON.stringify(row.retry_policy),
      row.enabled,
    ],
  );
  await setFallbacks(tx, row.id, row.fallback_model_ids);
}

export async function setFallbacks(tx: Queryable, presetId: string, modelIds: readonly string[]): Promise<void> {
  await tx.query('DELETE FROM registry.preset_fallbacks WHERE preset_id = $1', [presetId]);
  await tx.query(
    `INSERT INTO registry.preset_fallbacks (preset_id, position, model_id)
     SELECT $1, f.n - 1, f.model_id FROM unnest($2::uuid[]) WITH ORDINALITY AS f(model_id, n)`,
    [presetId, modelIds],
  );
}

export async function get(db: Queryable, id: string, { lock = false } = {}): Promise<PresetRow | undefined> {
  if (lock) await db.query('SELECT 1 FROM registry.presets WHERE id = $1 FOR UPDATE', [id]);
  const { rows } = await db.query<PresetRow>(`${SELECT} WHERE p.id = $1`, [id]);
  return rows[0];
}

export async function getMany(db: Queryable, ids: readonly string[]): Promise<PresetRow[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<PresetRow>(`${SELECT} WHERE p.id = ANY($1::uuid[]) ORDER BY p.id`, [ids]);
  return rows;
}

export async function list(
  db: Queryable,
  filter: { limit: number; after?: string | undefined; modelId?: string | undefined; includeArchived: boolean },
): Promise<PresetRow[]> {
  const { rows } = await db.query<PresetRow>(
    `${SELECT}
     WHERE ($1::uuid IS NULL OR p.id > $1) AND ($2::uuid IS NULL OR p.model_id = $2) AND ($3 OR p.archived_at IS NULL)
     ORDER BY p.id LIMIT $4`,
    [filter.after ?? null, filter.modelId ?? null, filter.includeArchived, filter.limit],
  );
  return rows;
}

export async function update(tx: Queryable, id: string, changes: Partial<PresetRow>): Promise<void> {
  const values: Record<string, unknown> = { ...changes };
  if (changes.parameters !== undefined) values.parameters = JSON.stringify(changes.parameters);
  if (changes.retry_policy !== undefined) values.retry_policy = JSON.stringify(changes.retry_policy);
  await updateColumns(tx, 'registry.presets', id, values, UPDATABLE);
  if (changes.fallback_model_ids !== undefined) await setFallbacks(tx, id, changes.fallback_model_ids);
}

export async function archive(tx: Queryable, id: string): Promise<void> {
  await tx.query('UPDATE registry.presets SET archived_at = now(), enabled = false, updated_at = now() WHERE id = $1', [id]);
}
