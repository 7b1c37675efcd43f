import { usdOrNull } from '@llmops/kit/money';
import type { ProviderRow } from './db/providers.ts';
import type { ModelView, PriceRow } from './db/models.ts';
import type { PresetRow } from './db/presets.ts';
import { iso, isoOrNull } from './routes/common.ts';
import { defaultRules } from '@llmops/kit/adapters/rules';

/** A model's rules: its own, or the kind's default for a row made before models had them. */
const rulesOf = (view: ModelView) => view.rules ?? defaultRules(view.provider_kind, view.modality);

/** Money in the one format (kit's money.ts): numeric at any scale → twelve places, "2.500000000000". */
const money = usdOrNull;

/** A provider as the API shows it: the key only as a hint, never the envelope. */
export function providerJson(row: ProviderRow) {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    base_url: row.base_url,
    has_api_key: row.api_key_envelope !== null,
    api_key_hint: row.api_key_hint,
    organization: row.organization,
    project: row.project,
    extra_headers: row.extra_headers,
    timeout_ms: row.timeout_ms,
    max_concurrency: row.max_concurrency,
    rpm_limit: row.rpm_limit,
    monthly_spend_cap_usd: money(row.monthly_spend_cap_usd),
    max_tokens_field: row.max_tokens_field,
    enabled: row.enabled,
    last_used_at: isoOrNull(row.last_used_at),
    archived_at: isoOrNull(row.archived_at),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

/** What registry.provider.changed carries: limits and state, never the key. */
export function providerSnapshot(row: ProviderRow, credentialChanged: boolean) {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    base_url: row.base_url,
    has_api_key: row.api_key_envelope !== null,
    credential_changed: credentialChanged,
    timeout_ms: row.timeout_ms,
    max_concurrency: row.max_concurrency,
    rpm_limit: row.rpm_limit,
    monthly_spend_cap_usd: money(row.monthly_spend_cap_usd),
    enabled: row.enabled,
    archived_at: isoOrNull(row.archived_at),
    updated_at: iso(row.updated_at),
  };
}

export function priceJson(price: PriceRow) {
  return {
    input_per_mtok: money(price.input_per_mtok) as string,
    output_per_mtok: money(price.output_per_mtok) as string,
    cached_input_per_mtok: money(price.cached_input_per_mtok),
    per_image: money(price.per_image),
    effective_from: iso(price.effective_from),
  };
}

export function modelJson(view: ModelView) {
  const current = view.current_effective_from
    ? view.prices.find((price) => price.effective_from.getTime() === new Date(view.current_effective_from as Date).getTime())
    : undefined;
  return {
    id: view.id,
    provider_id: view.provider_id,
    provider_kind: view.provider_kind,
    provider_model_id: view.provider_model_id,
    display_name: view.display_name,
    modality: view.modality,
    context_window: view.context_window,
    max_output_tokens: view.max_output_tokens,
    capabilities: {
      streaming: view.supports_streaming,
      json_output: view.supports_json,
      vision: view.supports_vision,
      tools: view.supports_tools,
    },
    rules: rulesOf(view),
    rules_family: view.rules_family,
    price: current ? priceJson(current) : null,
    prices: view.prices.map(priceJson),
    enabled: view.enabled,
    last_used_at: isoOrNull(view.last_used_at),
    archived_at: isoOrNull(view.archived_at),
    created_at: iso(view.created_at),
    updated_at: iso(view.updated_at),
  };
}

export function modelSnapshot(view: ModelView) {
  return {
    id: view.id,
    provider_id: view.provider_id,
    provider_kind: view.provider_kind,
    provider_model_id: view.provider_model_id,
    display_name: view.display_name,
    modality: view.modality,
    context_window: view.context_window,
    max_output_tokens: view.max_output_tokens,
    supports_json: view.supports_json,
    rules: rulesOf(view),
    prices: view.prices.map(priceJson),
    enabled: view.enabled,
    archived_at: isoOrNull(view.archived_at),
    updated_at: iso(view.updated_at),
  };
}

export function presetJson(row: PresetRow) {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    model_id: row.model_id,
    parameters: row.parameters,
    retry_policy: row.retry_policy as {
      max_attempts: number;
      initial_backoff_ms: number;
      max_backoff_ms: number;
      backoff_multiplier: number;
    },
    fallback_model_ids: row.fallback_model_ids,
    enabled: row.enabled,
    archived_at: isoOrNull(row.archived_at),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

export function presetSnapshot(row: PresetRow) {
  const { description: _description, created_at: _created, ...rest } = presetJson(row);
  return rest;
}
