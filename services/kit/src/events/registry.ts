import { z } from 'zod';
import { defineEvent } from '../bus/contract.ts';
import { PROVIDER_KINDS } from '../adapters/types.ts';
import { ModelRulesSchema } from '../adapters/rules.ts';

/**
 * Registry changes, carrying what other services keep copies of (the runner: limits, timeouts, prices
 * with their effective-from, enabled/archived). Never a key: a provider event says only whether one is
 * set and when it last changed, so the runner drops its cached key and fetches it again.
 */
const change = z.enum(['created', 'updated', 'archived', 'deleted']);
const at = z.iso.datetime({ offset: true });
const timestamp = z.iso.datetime({ offset: true });

export const ProviderSnapshotSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  kind: z.enum(PROVIDER_KINDS),
  base_url: z.string(),
  has_api_key: z.boolean(),
  /** True when this change set, replaced or removed the key (the runner drops its cached copy). */
  credential_changed: z.boolean(),
  timeout_ms: z.number().int(),
  max_concurrency: z.number().int().nullable(),
  rpm_limit: z.number().int().nullable(),
  monthly_spend_cap_usd: z.string().nullable(),
  enabled: z.boolean(),
  archived_at: timestamp.nullable(),
  updated_at: timestamp,
});

export const providerChanged = defineEvent({
  topic: 'registry.provider.changed',
  payload: z.object({
    provider_id: z.uuid(),
    change,
    /** The provider after the change; null when deleted. */
    provider: ProviderSnapshotSchema.nullable(),
    at,
  }),
  key: (payload) => payload.provider_id,
});

export const PriceSnapshotSchema = z.object({
  input_per_mtok: z.string(),
  output_per_mtok: z.string(),
  cached_input_per_mtok: z.string().nullable(),
  per_image: z.string().nullable(),
  effective_from: timestamp,
});

export const ModelSnapshotSchema = z.object({
  id: z.uuid(),
  provider_id: z.uuid(),
  provider_kind: z.enum(PROVIDER_KINDS),
  provider_model_id: z.string(),
  display_name: z.string(),
  modality: z.enum(['chat', 'image']),
  context_window: z.number().int().nullable(),
  max_output_tokens: z.number().int().nullable(),
  /** Whether the model takes a JSON response format (its capabilities.json_output). */
  supports_json: z.boolean(),
  /** The model's rules (issue 11); absent in events written before models had them: the kind's default. */
  rules: ModelRulesSchema.nullable().optional(),
  /** Every price, newest effective_from first: the runner charges the one in force when an attempt starts. */
  prices: z.array(PriceSnapshotSchema),
  enabled: z.boolean(),
  archived_at: timestamp.nullable(),
  updated_at: timestamp,
});

export const modelChanged = defineEvent({
  topic: 'registry.model.changed',
  payload: z.object({ model_id: z.uuid(), change, model: ModelSnapshotSchema.nullable(), at }),
  key: (payload) => payload.model_id,
});

export const PresetSnapshotSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  model_id: z.uuid().nullable(),
  parameters: z.record(z.string(), z.unknown()),
  retry_policy: z.record(z.string(), z.unknown()),
  fallback_model_ids: z.array(z.uuid()),
  enabled: z.boolean(),
  archived_at: timestamp.nullable(),
  updated_at: timestamp,
});

export const presetChanged = defineEvent({
  topic: 'registry.preset.changed',
  payload: z.object({ preset_id: z.uuid(), change, preset: PresetSnapshotSchema.nullable(), at }),
  key: (payload) => payload.preset_id,
});
