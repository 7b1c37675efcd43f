import { readSnapshots } from '@llmops/kit/contracts/registry';
import { withTransaction, type Pool } from '@llmops/kit/db';
import type { ServiceClient } from '@llmops/kit/http/service-client';
import * as copy from '../db/registry-copy.ts';

/**
 * Fetches what the copy lacks from the registry in one call (its internal snapshots route: each preset
 * with its models, each model with its provider, in the shapes of their events) and stores it in the
 * copy. Ids the registry does not know are left out (the caller reports them).
 */
export async function fetchMissing(
  pool: Pool,
  registry: ServiceClient,
  requestId: string,
  want: { models: readonly string[]; presets: readonly string[]; providers: readonly string[] },
): Promise<void> {
  const answer = await registry.call(readSnapshots, {
    body: { model_ids: [...want.models], preset_ids: [...want.presets], provider_ids: [...want.providers] },
    requestId,
  });
  if (!answer.ok)
    throw new Error(`the registry refused the snapshots (${answer.status}): ${answer.problem.detail ?? answer.problem.title}`);
  const { providers, models, presets } = answer.body;
  await withTransaction(pool, async (tx) => {
    for (const provider of providers) await copy.applyProvider(tx, provider);
    for (const model of models) await copy.applyModel(tx, model);
    for (const preset of presets) await copy.applyPreset(tx, preset);
  });
}
