import type { Queryable } from '@llmops/kit/db';
import type { ModelRules } from '@llmops/kit/adapters/rules';
import type { SortCursor } from '@llmops/kit/contracts/common';
import type { MODEL_SORT_KEYS } from '@llmops/kit/contracts/registry';
import { updateColumns } from './columns.ts';
import { keyset, type SortColumn, type Sorted } from './sorting.ts';

export type ModelSortKey = (typeof MODEL_SORT_KEYS)[number];

export interface ModelRow {
  id: string;
  provider_id: string;
  provider_model_id: string;
  display_name: string;
  modality: 'chat' | 'image';
  context_window: number | null;
  max_output_tokens: number | null;
  supports_streaming: boolean;
  supports_json: boolean;
  supports_vision: boolean;
  supports_tools: boolean;
  /** The model's own rules (null only for a row made before it had them: the kind's default applies). */
  rules: ModelRules | null;
  /** The family its rules were copied from; null once edited, or when none matched. */
  rules_family: string | null;
  enabled: boolean;
  last_used_at: Date | null;
  archived_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface PriceRow {
  model_id: string;
  effective_from: Date;
  input_per_mtok: string;
  output_per_mtok: string;
  cached_input_per_mtok: string | null;
  per_image: string | null;
}

/** A model with its provider's kind and its prices (newest first), as the API shows it. */
export interface ModelView extends ModelRow {
  provider_kind: 'openai' | 'anthropic' | 'ollama';
  prices: PriceRow[];
  /** The price in force now (computed by the database's clock). */
  current_effective_from: Date | null;
}

export const UPDATABLE = [
  'display_name',
  'context_window',
  'max_output_tokens',
  'supports_streaming',
  'supports_json',
  'supports_vision',
  'supports_tools',
  'rules',
  'rules_family',
  'enabled',
] as const;

export type ModelInsert = Omit<ModelRow, 'last_used_at' | 'archived_at' | 'created_at' | 'updated_at'>;

export async function insert(tx: Queryable, row: ModelInsert): Promise<void> {
  await tx.query(
    `INSERT INTO registry.models (id, provider_id, provider_model_id, display_name, modality, context_window,
       max_output_tokens, supports_streaming, supports_json, supports_vision, supports_tools, enabled, rules, rules_family)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
    [
      row.id,
      row.provider_id,
      row.provider_model_id,
      row.display_name,
      row.modality,
      row.context_window,
      row.max_output_tokens,
      row.supports_streaming,
      row.supports_json,
      row.supports_vision,
      row.supports_tools,
      row.enabled,
      row.rules === null ? null : JSON.stringify(row.rules),
      row.rules_family,
    ],
  );
}

export interface PriceInsert {
  input_per_mtok: string;
  output_per_mtok: string;
  cached_input_per_mtok: string | null;
  per_image: string | null;
  /** RFC 3339, or undefined for the database's now(). */
  effective_from: string | undefined;
}

/**
 * Adds a price from its effective time. Returns 'past' when that time is before now (a minute of clock
 * skew allowed), 'not-after-latest' when a price already starts at or after it: history is append-only.
 */
export async function addPrice(tx: Queryable, modelId: string, price: PriceInsert): Promise<'ok' | 'past' | 'not-after-latest'> {
  const { rows } = await tx.query<{ outcome: 'ok' | 'past' | 'not-after-latest' }>(
    `WITH at AS (SELECT coalesce($2::timestamptz, now()) AS t),
     check_ AS (
       SELECT CASE
         WHEN (SELECT t FROM at) < now() - interval '1 minute' THEN 'past'
         WHEN EXISTS (SELECT 1 FROM registry.model_prices WHERE model_id = $1 AND effective_from >= (SELECT t FROM at)) THEN 'not-after-latest'
         ELSE 'ok' END AS outcome
     ),
     ins AS (
       INSERT INTO registry.model_prices (model_id, effective_from, input_per_mtok, output_per_mtok, cached_input_per_mtok, per_image)
       SELECT $1, (SELECT t FROM at), $3, $4, $5, $6 WHERE (SELECT outcome FROM check_) = 'ok'
       RETURNING 1
     )
     SELECT outcome FROM check_`,
    [
      modelId,
      price.effective_from ?? null,
      price.input_per_mtok,
      price.output_per_mtok,
      price.cached_input_per_mtok,
      price.per_image,
    ],
  );
  return rows[0]?.outcome ?? 'ok';
}

/**
 * The price of a model starting at `at` (to the millisecond, as the API shows it), locked, with whether
 * it is in effect by the database's clock; undefined when the model has none starting then.
 */
export async function lockPrice(
  tx: Queryable,
  modelId: string,
  at: string,
): Promise<{ effective_from: Date; in_effect: boolean } | undefined> {
  const { rows } = await tx.query<{ effective_from: Date; in_effect: boolean }>(
    `SELECT effective_from, effective_from <= now() AS in_effect FROM registry.model_prices
     WHERE model_id = $1 AND date_trunc('milliseconds', effective_from) = date_trunc('milliseconds', $2::timestamptz)
     FOR UPDATE`,
    [modelId, at],
  );
  return rows[0];
}

/** Removes a scheduled price (the caller checked it is not in effect). */
export async function removePrice(tx: Queryable, modelId: string, effectiveFrom: Date): Promise<void> {
  await tx.query('DELETE FROM registry.model_prices WHERE model_id = $1 AND effective_from = $2 AND effective_from > now()', [
    modelId,
    effectiveFrom,
  ]);
}

const COLUMNS = `
  SELECT m.*, p.kind AS provider_kind,
    coalesce((SELECT json_agg(json_build_object(
        'model_id', mp.model_id, 'effective_from', mp.effective_from,
        'input_per_mtok', mp.input_per_mtok::text, 'output_per_mtok', mp.output_per_mtok::text,
        'cached_input_per_mtok', mp.cached_input_per_mtok::text, 'per_image', mp.per_image::text)
        ORDER BY mp.effective_from DESC)
      FROM registry.model_prices mp WHERE mp.model_id = m.id), '[]') AS prices,
    (SELECT max(effective_from) FROM registry.model_prices mp WHERE mp.model_id = m.id AND mp.effective_from <= now())
      AS current_effective_from`;
const FROM = 'FROM registry.models m JOIN registry.providers p ON p.id = m.provider_id';
const VIEW = `${COLUMNS}\n  ${FROM}`;

function view(row: ModelView & { prices: (Omit<PriceRow, 'effective_from'> & { effective_from: string })[] }): ModelView {
  return { ...row, prices: row.prices.map((price) => ({ ...price, effective_from: new Date(price.effective_from) })) };
}

export async function get(db: Queryable, id: string): Promise<ModelView | undefined> {
  const { rows } = await db.query(`${VIEW} WHERE m.id = $1`, [id]);
  return rows[0] ? view(rows[0] as never) : undefined;
}

export async function getMany(db: Queryable, ids: readonly string[]): Promise<ModelView[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query(`${VIEW} WHERE m.id = ANY($1::uuid[])`, [ids]);
  const byId = new Map(rows.map((row) => [(row as ModelRow).id, view(row as never)]));
  return ids.flatMap((id) => byId.get(id) ?? []);
}

export async function lock(tx: Queryable, id: string): Promise<ModelRow | undefined> {
  const { rows } = await tx.query<ModelRow>('SELECT * FROM registry.models WHERE id = $1 FOR UPDATE', [id]);
  return rows[0];
}

export interface ModelFilter {
  limit: number;
  sort: ModelSortKey;
  descending: boolean;
  after?: SortCursor | undefined;
  providerId?: string | undefined;
  modality?: string | undefined;
  enabled?: boolean | undefined;
  includeArchived: boolean;
}

/** The price in force now of a model row `m`, one column of it. */
const priceInForce = (column: 'input_per_mtok' | 'output_per_mtok') =>
  `(SELECT mp.${column} FROM registry.model_prices mp WHERE mp.model_id = m.id AND mp.effective_from <= now()
     ORDER BY mp.effective_from DESC LIMIT 1)`;

/** The models list's orders (contract `MODEL_SORT_KEYS`); names case-insensitively, a model with no price last. */
const SORTS: Record<ModelSortKey, SortColumn> = {
  name: { expression: 'lower(m.display_name)', type: 'text' },
  provider: { expression: 'lower(p.name)', type: 'text' },
  input_price: { expression: priceInForce('input_per_mtok'), type: 'numeric' },
  output_price: { expression: priceInForce('output_per_mtok'), type: 'numeric' },
  created_at: { expression: 'm.created_at', type: 'timestamptz' },
};

export async function list(db: Queryable, filter: ModelFilter): Promise<(ModelView & Sorted)[]> {
  const order = keyset(SORTS[filter.sort], 'm.id', filter.descending, 6);
  const { rows } = await db.query(
    `${COLUMNS}, ${order.select}
     ${FROM}
     WHERE ($1::uuid IS NULL OR m.provider_id = $1) AND ($2::text IS NULL OR m.modality = $2)
       AND ($3::boolean IS NULL OR m.enabled = $3) AND ($4 OR m.archived_at IS NULL)
       AND ${order.where}
     ORDER BY ${order.orderBy} LIMIT $5`,
    [
      filter.providerId ?? null,
      filter.modality ?? null,
      filter.enabled ?? null,
      filter.includeArchived,
      filter.limit,
      ...order.params(filter.after),
    ],
  );
  return rows.map((row) => ({ ...view(row as never), sort_value: (row as Sorted).sort_value }));
}

export async function ofProvider(db: Queryable, providerId: string): Promise<ModelRow[]> {
  const { rows } = await db.query<ModelRow>('SELECT * FROM registry.models WHERE provider_id = $1 ORDER BY id', [providerId]);
  return rows;
}

/** Changes the given columns (undefined: unchanged; null: set to null). */
export async function update(tx: Queryable, id: string, changes: Partial<ModelRow>): Promise<void> {
  const values: Record<string, unknown> = { ...changes };
  if (changes.rules) values.rules = JSON.stringify(changes.rules);
  await updateColumns(tx, 'registry.models', id, values, UPDATABLE);
}

export async function archive(tx: Queryable, ids: readonly string[]): Promise<void> {
  await tx.query(
    `UPDATE registry.models SET archived_at = now(), enabled = false, updated_at = now()
     WHERE id = ANY($1::uuid[]) AND archived_at IS NULL`,
    [ids],
  );
}

export async function remove(tx: Queryable, id: string): Promise<void> {
  await tx.query('DELETE FROM registry.models WHERE id = $1', [id]);
}

/** Names of presets (not archived) that use any of the models, as their model or a fallback. */
export async function presetsUsing(db: Queryable, modelIds: readonly string[]): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT DISTINCT p.name FROM registry.presets p
     WHERE p.archived_at IS NULL AND (p.model_id = ANY($1::uuid[])
       OR EXISTS (SELECT 1 FROM registry.preset_fallbacks f WHERE f.preset_id = p.id AND f.model_id = ANY($1::uuid[])))
     ORDER BY p.name`,
    [modelIds],
  );
  return rows.map((row) => row.name);
}

/** Whether any preset, archived ones included, names one of the models (then they are archived, not deleted). */
export async function referencedByPresets(db: Queryable, modelIds: readonly string[]): Promise<boolean> {
  const { rows } = await db.query<{ found: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM registry.presets WHERE model_id = ANY($1::uuid[]))
         OR EXISTS (SELECT 1 FROM registry.preset_fallbacks WHERE model_id = ANY($1::uuid[])) AS found`,
    [modelIds],
  );
  return rows[0]?.found === true;
}

/** Records a use (idempotent: the latest time wins); false when the model is not (or no longer) here. */
export async function markUsed(db: Queryable, id: string, at: string): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE registry.models SET last_used_at = greatest(last_used_at, $2::timestamptz) WHERE id = $1`,
    [id, at],
  );
  return rowCount === 1;
}
