/**
 * What a legacy database's providers, models and settings become in the registry (docs/migration.md,
 * "Providers, models and presets"): a pure function of the snapshot, so the dry run and `--apply` plan
 * exactly the same rows. Anything that cannot be mapped is skipped with the row id and a reason a person
 * can act on; anything a person must finish (keys, prices) is a note.
 */
import type { z } from 'zod';
import type { LegacyRegistryImportSchema } from '@llmops/kit/contracts/registry';
import { KINDS } from '@llmops/kit/adapters/kinds';
import type { ProviderKind } from '@llmops/kit/adapters/types';
import type { LegacySnapshot, Row } from './legacy-source.ts';

export type RegistryImport = z.input<typeof LegacyRegistryImportSchema>;
type ProviderIn = NonNullable<RegistryImport['providers']>[number];
type ModelIn = NonNullable<RegistryImport['models']>[number];
type PresetIn = NonNullable<RegistryImport['presets']>[number];

export type ImportKind = 'provider' | 'model' | 'preset';

/** A legacy row not imported, and why. */
export interface Skipped {
  kind: ImportKind;
  table: string;
  legacy_id: string;
  reason: string;
}

/** Something a person should know or finish about an imported row. */
export interface Note {
  kind: ImportKind;
  legacy_id: string;
  message: string;
}

export interface RegistryPlan {
  request: RegistryImport & { providers: ProviderIn[]; models: ModelIn[]; presets: PresetIn[] };
  skipped: Skipped[];
  notes: Note[];
}

const DEFAULT_OLLAMA = 'http://localhost:11434';

const text = (value: unknown): string => (typeof value === 'string' ? value.trim() : '');

/** The kind and base URL of a legacy provider type and URL, or why there is none. */
export function providerTarget(type: string, apiUrl: string): { kind: ProviderKind; base_url: string } | { reason: string } {
  const given = apiUrl.replace(/\/+$/, '');
  const lower = type.toLowerCase();
  if (lower === 'local' || lower === 'ollama') return { kind: 'ollama', base_url: given || DEFAULT_OLLAMA };
  if (lower === 'openai') return { kind: 'openai', base_url: given || KINDS.openai.defaultBaseUrl };
  if (lower === 'anthropic') return { kind: 'anthropic', base_url: given.replace(/\/v1$/, '') || KINDS.anthropic.defaultBaseUrl };
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    return {
      reason: `type "${type}" with ${given ? `base URL "${given}", which is not a URL` : 'no base URL'}: its protocol cannot be recognised; add it by hand (Providers → Add) if it speaks the OpenAI, Anthropic or Ollama protocol`,
    };
  }
  if (url.hostname.endsWith('anthropic.com')) return { kind: 'anthropic', base_url: given.replace(/\/v1$/, '') };
  if (url.hostname.endsWith('openai.com')) return { kind: 'openai', base_url: given };
  if (url.port === '11434') return { kind: 'ollama', base_url: given };
  return {
    reason: `type "${type}" at ${url.host} is not a protocol LLM Ops speaks (OpenAI, Anthropic, Ollama); add it by hand (Providers → Add) if it offers an OpenAI-compatible endpoint`,
  };
}

/** Legacy `api_params` / sampling settings → preset parameters; what does not map is listed. */
export function parametersOf(params: unknown): { parameters: Record<string, number>; unmapped: string[] } {
  const parameters: Record<string, number> = {};
  const unmapped: string[] = [];
  if (!params || typeof params !== 'object' || Array.isArray(params)) return { parameters, unmapped };
  for (const [name, value] of Object.entries(params as Record<string, unknown>)) {
    const target = name === 'max_tokens' ? 'max_output_tokens' : name === 'temperature' || name === 'top_p' ? name : undefined;
    const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
    if (target && typeof number === 'number' && Number.isFinite(number)) parameters[target] = number;
    else unmapped.push(`${name}=${JSON.stringify(value)}`);
  }
  return { parameters, unmapped };
}

export function planRegistry(snapshot: LegacySnapshot): RegistryPlan {
  const plan: RegistryPlan = {
    request: { source: snapshot.source, providers: [], models: [], presets: [] },
    skipped: [],
    notes: [],
  };
  const { request, skipped, notes } = plan;
  const providerOk = new Set<string>();

  const addProvider = (legacyId: string, table: string, name: string, type: string, apiUrl: string) => {
    const target = providerTarget(type, apiUrl);
    if ('reason' in target) {
      skipped.push({ kind: 'provider', table, legacy_id: legacyId, reason: target.reason });
      return;
    }
    request.providers.push({ legacy_id: legacyId, name: name.slice(0, 100) || `${target.kind} (legacy)`, ...target });
    providerOk.add(legacyId);
    if (KINDS[target.kind].needsKey(target.base_url))
      notes.push({
        kind: 'provider',
        legacy_id: legacyId,
        message: `needs an API key (the legacy data holds none): add it under Providers → "${name}" before running anything on it`,
      });
  };
  const modelIds = new Map<string, string>();
  const addModel = (legacyId: string, table: string, providerLegacyId: string, name: string) => {
    if (!providerOk.has(providerLegacyId)) {
      skipped.push({
        kind: 'model',
        table,
        legacy_id: legacyId,
        reason: `model "${name}": its provider (legacy id ${providerLegacyId}) is not imported (see the provider's reason)`,
      });
      return false;
    }
    request.models.push({ legacy_id: legacyId, provider_legacy_id: providerLegacyId, provider_model_id: name.slice(0, 200) });
    modelIds.set(name, modelIds.get(name) ?? legacyId);
    notes.push({
      kind: 'model',
      legacy_id: legacyId,
      message: `"${name}" has no price in the legacy data: add one (Models → "${name}" → price) so its costs are counted`,
    });
    return true;
  };

  const configs = snapshot.rows.llm_config;
  if (snapshot.columns.has('llm_provider')) {
    for (const row of snapshot.rows.llm_provider)
      addProvider(String(row.id), 'llm_provider', text(row.name), text(row.type), text(row.api_url));
    const byName = new Map<string, Row[]>();
    for (const row of snapshot.rows.llm_model) {
      const name = text(row.name);
      byName.set(name, [...(byName.get(name) ?? []), row]);
      if (!addModel(String(row.id), 'llm_model', String(row.provider_id), name)) continue;
      const { parameters, unmapped } = parametersOf(row.api_params);
      if (unmapped.length > 0)
        notes.push({
          kind: 'model',
          legacy_id: String(row.id),
          message: `api_params ${unmapped.join(', ')} map to no parameter and are not carried over`,
        });
      if (Object.keys(parameters).length > 0)
        request.presets.push({
          legacy_id: `model:${String(row.id)}`,
          name: `${name.slice(0, 80)} defaults (legacy)`,
          description: `The api_params of legacy model ${String(row.id)} ("${name}").`,
          model_legacy_id: String(row.id),
          parameters,
        });
    }
    for (const [name, rows] of byName)
      if (rows.length > 1)
        notes.push({
          kind: 'model',
          legacy_id: String(rows[0]?.id),
          message: `"${name}" is a model of ${rows.length} providers (legacy ids ${rows.map((r) => String(r.provider_id)).join(', ')}); the legacy app resolved names to the first, legacy id ${String(rows[0]?.id)}`,
        });
  } else {
    // Before the registry (E0, E1) the one provider and model were llm_config's; actions named models freely.
    for (const row of configs) {
      const key = `config:${text(row.provider_type)}|${text(row.api_base)}`;
      if (!providerOk.has(key) && !skipped.some((s) => s.legacy_id === key))
        addProvider(key, 'llm_config', `${text(row.provider_type)} (legacy)`, text(row.provider_type), text(row.api_base));
    }
    const home = [...providerOk][0];
    const names = new Set([
      ...configs.map((row) => text(row.model_name)),
      ...snapshot.rows.llm_action.map((row) => text(row.llm_model)),
    ]);
    for (const name of [...names].filter(Boolean)) {
      if (home) addModel(`name:${name}`, 'llm_config', home, name);
      else
        skipped.push({
          kind: 'model',
          table: 'llm_action',
          legacy_id: `name:${name}`,
          reason: `model "${name}": the legacy database names no provider it could run on (no llm_config row of a known protocol)`,
        });
    }
  }

  const newest = [...configs].filter((row) => row.is_active !== false).sort((a, b) => Number(b.id) - Number(a.id))[0];
  for (const row of configs) {
    const legacyId = `config:${String(row.id)}`;
    const modelName = text(row.model_name);
    const modelLegacyId = snapshot.columns.has('llm_provider') ? modelIds.get(modelName) : `name:${modelName}`;
    if (!modelLegacyId || !request.models.some((m) => m.legacy_id === modelLegacyId)) {
      skipped.push({
        kind: 'preset',
        table: 'llm_config',
        legacy_id: String(row.id),
        reason: `configuration of model "${modelName}", which is not imported (no llm_model row of that name, or its provider is skipped)`,
      });
      continue;
    }
    const active = row === newest;
    request.presets.push({
      legacy_id: legacyId,
      name: `Legacy configuration ${String(row.id)}: ${modelName}`.slice(0, 100),
      description: `llm_config row ${String(row.id)} (${text(row.provider_type)} at ${text(row.api_base)})${active ? ': the active configuration of the legacy app' : ''}.`,
      model_legacy_id: modelLegacyId,
      parameters: {},
    });
    if (active) notes.push({ kind: 'preset', legacy_id: legacyId, message: 'was the active configuration of the legacy app' });
    if (text(row.auth_token))
      notes.push({
        kind: 'provider',
        legacy_id: legacyId,
        message: 'this llm_config row holds an auth_token: it is not carried over; add the key to the provider yourself',
      });
  }
  return plan;
}
