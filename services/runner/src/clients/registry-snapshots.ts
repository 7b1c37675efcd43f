import { withTransaction, type Pool } from '@llmops/kit/db';
import * as copy from '../db/registry-copy.ts';
import type { ModelSnapshot, PresetSnapshot, ProviderSnapshot } from '../db/registry-copy.ts';
import type { ServiceClient } from './service-client.ts';

interface PublicProvider extends Omit<ProviderSnapshot, 'credential_changed'> {
  api_key_hint: string | null;
}
interface PublicModel extends Omit<ModelSnapshot, 'supports_json'> {
  capabilities: { json_output: boolean };
}

/**
 * Fetches models (with their providers) and a preset the copy lacks from the registry's API and stores
 * them in the copy. Ids the registry does not know are left out (the caller reports them).
 */
export async function fetchMissing(
  pool: Pool,
  registry: ServiceClient,
  requestId: string,
  want: { models: readonly string[]; presets: readonly string[]; providers: readonly string[] },
): Promise<void> {
  const presets = await Promise.all(want.presets.map((id) => registry.get<PresetSnapshot>(`/api/v1/presets/${id}`, requestId)));
  const models = await Promise.all(want.models.map((id) => registry.get<PublicModel>(`/api/v1/models/${id}`, requestId)));
  const providerIds = new Set(want.providers);
  for (const answer of models) if (answer.status === 200) providerIds.add(answer.body.provider_id);
  const providers = await Promise.all(
    [...providerIds].map((id) => registry.get<PublicProvider>(`/api/v1/providers/${id}`, requestId)),
  );
  await withTransaction(pool, async (tx) => {
    for (const answer of providers)
      if (answer.status === 200) await copy.applyProvider(tx, { ...answer.body, credential_changed: false });
    for (const answer of models)
      if (answer.status === 200)
        await copy.applyModel(tx, { ...answer.body, supports_json: answer.body.capabilities.json_output });
    for (const answer of presets) if (answer.status === 200) await copy.applyPreset(tx, answer.body);
  });
}
