import type { z } from 'zod';
import type { Queryable } from '@llmops/kit/db';
import type { ModelSnapshotSchema, PresetSnapshotSchema, ProviderSnapshotSchema } from '@llmops/kit/events/registry';

export type ProviderSnapshot = z.output<typeof ProviderSnapshotSchema>;
export type ModelSnapshot = z.output<typeof ModelSnapshotSchema>;
export type PresetSnapshot = z.output<typeof PresetSnapshotSchema>;

/**
 * The runner's own copy of what it needs from the registry (ADR 0018): provider limits
 * and spend caps, models, presets, and every model's price history. Registry events keep it current; a
 * task that names something the copy has not seen yet fetches it from the registry once. Each upsert
 * keeps the newest `updated_at`, so events applied late or twice change nothing.
 */

export async function applyProvider(db: Queryable, provider: ProviderSnapshot): Promise<void> {
  await db.query(
    `INSERT INTO runner.providers
       (id, name, kind, timeout_ms, max_concurrency, rpm_limit, monthly_spend_cap_usd, enabled, archived_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (id) DO UPDATE SET
       name = EXCLUDED.name, kind = EXCLUDED.kind, timeout_ms = EXCLUDED.timeout_ms,
       max_concurrency = EXCLUDED.max_concurrency, rpm_limit = EXCLUDED.rpm_limit,
       monthly_spend_cap_usd = EXCLUDED.monthly_spend_cap_usd, enabled = EXCLUDED.enabled,
       archived_at = EXCLUDED.archived_at, updated_at = EXCLUDED.updated_at, deleted = false
     WHERE runner.providers.updated_at <= EXCLUDED.updated_at`,
    [
      provider.id,
      provider.name,
      provider.kind,
      provider.timeout_ms,
      provider.max_concurrency,
      provider.rpm_limit,
      provider.monthly_spend_cap_usd,
      provider.enabled,
      provider.archived_at,
      provider.updated_at,
    ],
  );
}

/**
 * Upserts the model and its prices. A price already in force is never changed (attempts were charged
 * it); a scheduled one (effective_from still ahead) follows the registry, which may replace or withdraw
 * it (docs/providers.md, "Models") — but only from a snapshot at least as new as the copy, so an event applied late
 * cannot bring back a withdrawn price.
 */
export async function applyModel(db: Queryable, model: ModelSnapshot): Promise<void> {
  const { rowCount } = await db.query(
    `INSERT INTO runner.models (id, provider_id, provider_kind, provider_model_id, display_name, modality,
       context_window, max_output_tokens, supports_json, enabled, archived_at, updated_at, rules)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     ON CONFLICT (id) DO UPDATE SET
       provider_id = EXCLUDED.provider_id, provider_kind = EXCLUDED.provider_kind,
       provider_model_id = EXCLUDED.provider_model_id, display_name = EXCLUDED.display_name,
       modality = EXCLUDED.modality, context_window = EXCLUDED.context_window,
       max_output_tokens = EXCLUDED.max_output_tokens, supports_json = EXCLUDED.supports_json,
       enabled = EXCLUDED.enabled, archived_at = EXCLUDED.archived_at, updated_at = EXCLUDED.updated_at,
       rules = EXCLUDED.rules, deleted = false
     WHERE runner.models.updated_at <= EXCLUDED.updated_at`,
    [
      model.id,
      model.provider_id,
      model.provider_kind,
      model.provider_model_id,
      model.display_name,
      model.modality,
      model.context_window,
      model.max_output_tokens,
      model.supports_json,
      model.enabled,
      model.archived_at,
      model.updated_at,
      model.rules ? JSON.stringify(model.rules) : null,
    ],
  );
  if (rowCount === 0) return;
  // Scheduled prices the registry no longer has were withdrawn (or moved): gone from the copy too.
  await db.query(
    `DELETE FROM runner.model_prices
     WHERE model_id = $1 AND effective_from > now()
       AND effective_from <> ALL (SELECT (p->>'effective_from')::timestamptz FROM jsonb_array_elements($2::jsonb) AS p)`,
    [model.id, JSON.stringify(model.prices)],
  );
  await db.query(
    `INSERT INTO runner.model_prices (model_id, effective_from, input_per_mtok, output_per_mtok, cached_input_per_mtok, per_image)
     SELECT $1, p.effective_from, p.input_per_mtok, p.output_per_mtok, p.cached_input_per_mtok, p.per_image
     FROM jsonb_to_recordset($2::jsonb) AS p(effective_from timestamptz, input_per_mtok numeric, output_per_mtok numeric,
       cached_input_per_mtok numeric, per_image numeric)
     ON CONFLICT (model_id, effective_from) DO UPDATE SET
       input_per_mtok = EXCLUDED.input_per_mtok, output_per_mtok = EXCLUDED.output_per_mtok,
       cached_input_per_mtok = EXCLUDED.cached_input_per_mtok, per_image = EXCLUDED.per_image
     WHERE runner.model_prices.effective_from > now()`,
    [model.id, JSON.stringify(model.prices)],
  );
}

export async function applyPreset(db: Queryable, preset: PresetSnapshot): Promise<void> {
  await db.query(
    `INSERT INTO runner.presets (id, name, model_id, parameters, retry_policy, fallback_model_ids, enabled, archived_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (id) DO UPDATE SET
       name = EXCLUDED.name, model_id = EXCLUDED.model_id, parameters = EXCLUDED.parameters,
       retry_policy = EXCLUDED.retry_policy, fallback_model_ids = EXCLUDED.fallback_model_ids,
       enabled = EXCLUDED.enabled, archived_at = EXCLUDED.archived_at, updated_at = EXCLUDED.updated_at, deleted = false
     WHERE runner.presets.updated_at <= EXCLUDED.updated_at`,
    [
      preset.id,
      preset.name,
      preset.model_id,
      JSON.stringify(preset.parameters),
      JSON.stringify(preset.retry_policy),
      preset.fallback_model_ids,
      preset.enabled,
      preset.archived_at,
      preset.updated_at,
    ],
  );
}

const DELETE = {
  provider: 'UPDATE runner.providers SET deleted = true WHERE id = $1',
  model: 'UPDATE runner.models SET deleted = true WHERE id = $1',
  preset: 'UPDATE runner.presets SET deleted = true WHERE id = $1',
} as const;

/** The registry deleted it: kept, marked, so tasks that used it still read it. */
export async function markDeleted(db: Queryable, kind: keyof typeof DELETE, id: string): Promise<void> {
  await db.query(DELETE[kind], [id]);
}
