import type { Queryable } from '@llmops/kit/db';
import type { SortCursor } from '@llmops/kit/contracts/common';
import type { PROVIDER_SORT_KEYS } from '@llmops/kit/contracts/registry';
import { updateColumns } from './columns.ts';
import { keyset, type SortColumn, type Sorted } from './sorting.ts';

export type ProviderSortKey = (typeof PROVIDER_SORT_KEYS)[number];

export interface ProviderRow {
  id: string;
  name: string;
  kind: 'openai' | 'anthropic' | 'ollama';
  base_url: string;
  api_key_envelope: string | null;
  api_key_previous_envelope: string | null;
  api_key_hint: string | null;
  organization: string | null;
  project: string | null;
  extra_headers: Record<string, string>;
  timeout_ms: number;
  max_concurrency: number | null;
  rpm_limit: number | null;
  monthly_spend_cap_usd: string | null;
  /** OpenAI-compatible servers: the body field of the output cap; null: the kind's default. */
  max_tokens_field: 'max_tokens' | 'max_completion_tokens' | null;
  enabled: boolean;
  last_used_at: Date | null;
  archived_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export const UPDATABLE = [
  'name',
  'base_url',
  'api_key_envelope',
  'api_key_previous_envelope',
  'api_key_hint',
  'organization',
  'project',
  'extra_headers',
  'timeout_ms',
  'max_concurrency',
  'rpm_limit',
  'monthly_spend_cap_usd',
  'max_tokens_field',
  'enabled',
] as const;

export type ProviderInsert = Omit<
  ProviderRow,
  'last_used_at' | 'archived_at' | 'created_at' | 'updated_at' | 'api_key_previous_envelope'
>;

export async function insert(tx: Queryable, row: ProviderInsert): Promise<ProviderRow> {
  const { rows } = await tx.query<ProviderRow>(
    `INSERT INTO registry.providers (id, name, kind, base_url, api_key_envelope, api_key_hint, organization, project,
       extra_headers, timeout_ms, max_concurrency, rpm_limit, monthly_spend_cap_usd, enabled, max_tokens_field)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING *`,
    [
      row.id,
      row.name,
      row.kind,
      row.base_url,
      row.api_key_envelope,
      row.api_key_hint,
      row.organization,
      row.project,
      JSON.stringify(row.extra_headers),
      row.timeout_ms,
      row.max_concurrency,
      row.rpm_limit,
      row.monthly_spend_cap_usd,
      row.enabled,
      row.max_tokens_field,
    ],
  );
  return rows[0] as ProviderRow;
}

export async function get(db: Queryable, id: string, { lock = false } = {}): Promise<ProviderRow | undefined> {
  const { rows } = await db.query<ProviderRow>(`SELECT * FROM registry.providers WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [
    id,
  ]);
  return rows[0];
}

export async function getMany(db: Queryable, ids: readonly string[]): Promise<ProviderRow[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<ProviderRow>('SELECT * FROM registry.providers WHERE id = ANY($1::uuid[]) ORDER BY id', [ids]);
  return rows;
}

/** The providers list's orders (contract `PROVIDER_SORT_KEYS`); names case-insensitively. */
const SORTS: Record<ProviderSortKey, SortColumn> = {
  name: { expression: 'lower(name)', type: 'text' },
  kind: { expression: 'kind', type: 'text' },
  created_at: { expression: 'created_at', type: 'timestamptz' },
};

export async function list(
  db: Queryable,
  filter: { limit: number; sort: ProviderSortKey; descending: boolean; after?: SortCursor | undefined; includeArchived: boolean },
): Promise<(ProviderRow & Sorted)[]> {
  const order = keyset(SORTS[filter.sort], 'id', filter.descending, 3);
  const { rows } = await db.query<ProviderRow & Sorted>(
    `SELECT *, ${order.select} FROM registry.providers
     WHERE ($1 OR archived_at IS NULL) AND ${order.where}
     ORDER BY ${order.orderBy} LIMIT $2`,
    [filter.includeArchived, filter.limit, ...order.params(filter.after)],
  );
  return rows;
}

export async function update(tx: Queryable, id: string, changes: Partial<ProviderRow>): Promise<ProviderRow> {
  const values: Record<string, unknown> = { ...changes };
  if (changes.extra_headers !== undefined) values.extra_headers = JSON.stringify(changes.extra_headers);
  return (await updateColumns<ProviderRow>(tx, 'registry.providers', id, values, UPDATABLE)) as ProviderRow;
}

/** Archiving drops the key: nothing runs on an archived provider, and history needs only its name. */
export async function archive(tx: Queryable, id: string): Promise<ProviderRow> {
  const { rows } = await tx.query<ProviderRow>(
    `UPDATE registry.providers SET archived_at = now(), enabled = false, api_key_envelope = NULL,
       api_key_previous_envelope = NULL, api_key_hint = NULL, updated_at = now()
     WHERE id = $1 RETURNING *`,
    [id],
  );
  return rows[0] as ProviderRow;
}

export async function remove(tx: Queryable, id: string): Promise<void> {
  await tx.query('DELETE FROM registry.providers WHERE id = $1', [id]);
}

/** Whether tasks have used the provider or any of its models. */
export async function used(db: Queryable, id: string): Promise<boolean> {
  const { rows } = await db.query<{ used: boolean }>(
    `SELECT (SELECT last_used_at IS NOT NULL FROM registry.providers WHERE id = $1)
         OR EXISTS (SELECT 1 FROM registry.models WHERE provider_id = $1 AND last_used_at IS NOT NULL) AS used`,
    [id],
  );
  return rows[0]?.used === true;
}

export async function markUsed(db: Queryable, id: string, at: string): Promise<void> {
  await db.query(`UPDATE registry.providers SET last_used_at = greatest(last_used_at, $2::timestamptz) WHERE id = $1`, [id, at]);
}

/** Every provider with a sealed key, locked, for `key rotate`. */
/**
 * Every provider with a key, locked; the table is locked against new rows too, so no key is sealed
 * (by a registry process still on an older keyring) while a rotation re-seals them all.
 */
export async function withKeysForUpdate(
  tx: Queryable,
): Promise<Pick<ProviderRow, 'id' | 'name' | 'api_key_envelope' | 'api_key_previous_envelope'>[]> {
  await tx.query('LOCK TABLE registry.providers IN SHARE ROW EXCLUSIVE MODE');
  const { rows } = await tx.query<ProviderRow>(
    `SELECT id, name, api_key_envelope, api_key_previous_envelope FROM registry.providers
     WHERE api_key_envelope IS NOT NULL ORDER BY id FOR UPDATE`,
  );
  return rows;
}

export async function setEnvelopes(tx: Queryable, id: string, current: string, previous: string | null): Promise<void> {
  await tx.query(`UPDATE registry.providers SET api_key_envelope = $2, api_key_previous_envelope = $3 WHERE id = $1`, [
    id,
    current,
    previous,
  ]);
}
