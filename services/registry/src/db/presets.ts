import type { Queryable } from '@llmops/kit/db';
import type { SortCursor } from '@llmops/kit/contracts/common';
import type { PRESET_SORT_KEYS } from '@llmops/kit/contracts/registry';
import { updateColumns } from './columns.ts';
import { keyset, type SortColumn, type Sorted } from './sorting.ts';

export type PresetSortKey = (typeof PRESET_SORT_KEYS)[number];

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

const COLUMNS = `
  SELECT p.*, coalesce((SELECT array_agg(f.model_id ORDER BY f.position) FROM registry.preset_fallbacks f
    WHERE f.preset_id = p.id), '{}') AS fallback_model_ids`;
const FROM = 'FROM registry.presets p';
const SELECT = `${COLUMNS}\n  ${FROM}`;

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

/** The presets list's orders (contract `PRESET_SORT_KEYS`); names case-insensitively, a preset with no model last. */
const SORTS: Record<PresetSortKey, SortColumn> = {
  name: { expression: 'lower(p.name)', type: 'text' },
  model: {
    expression: '(SELECT lower(m.display_name) FROM registry.models m WHERE m.id = p.model_id)',
    type: 'text',
  },
  created_at: { expression: 'p.created_at', type: 'timestamptz' },
};

export async function list(
  db: Queryable,
  filter: {
    limit: number;
    sort: PresetSortKey;
    descending: boolean;
    after?: SortCursor | undefined;
    modelId?: string | undefined;
    includeArchived: boolean;
  },
): Promise<(PresetRow & Sorted)[]> {
  const order = keyset(SORTS[filter.sort], 'p.id', filter.descending, 4);
  const { rows } = await db.query<PresetRow & Sorted>(
    `${COLUMNS}, ${order.select}
     ${FROM}
     WHERE ($1::uuid IS NULL OR p.model_id = $1) AND ($2 OR p.archived_at IS NULL) AND ${order.where}
     ORDER BY ${order.orderBy} LIMIT $3`,
    [filter.modelId ?? null, filter.includeArchived, filter.limit, ...order.params(filter.after)],
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
