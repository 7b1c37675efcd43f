import type { ServiceApp } from '@llmops/kit/http/app';
import type { Identity } from '@llmops/kit/http/identity';
import { Forbidden, NotFound } from '@llmops/kit/problem';
import { getProviderCredential, readSnapshots } from '@llmops/kit/contracts/registry';
import * as models from '../db/models.ts';
import * as presets from '../db/presets.ts';
import * as providers from '../db/providers.ts';
import { modelSnapshot, presetSnapshot, providerSnapshot } from '../json.ts';
import { openKey } from '../keys/sealing.ts';
import { iso, isoOrNull, type RouteDeps } from './common.ts';

/** These routes serve the runner alone: never an account, never the gateway. */
function onlyRunner(identity: Identity, what: string): void {
  if (identity.kind !== 'service' || identity.subject !== 'runner') throw new Forbidden(`Only the runner may ${what}.`);
}

/**
 * The runner's ways into the registry. Not in PUBLIC_ROUTES, so neither in the public document nor
 * proxied: its one way to a decrypted key (ADR 0007), and the snapshots of what it keeps a copy of
 * (ADR 0018), each preset with its models and each model with its provider, so a cold copy is one call.
 */
export function mountInternal(app: ServiceApp, { pool, keyring }: RouteDeps): void {
  app.openapi(getProviderCredential, async (c) => {
    onlyRunner(c.get('identity'), 'fetch a provider credential');
    const row = await providers.get(pool, c.req.valid('param').id);
    if (!row) throw new NotFound('No such provider.');
    c.header('Cache-Control', 'no-store');
    return c.json(
      {
        provider_id: row.id,
        kind: row.kind,
        base_url: row.base_url,
        api_key: openKey(keyring, row),
        organization: row.organization,
        project: row.project,
        extra_headers: row.extra_headers,
        timeout_ms: row.timeout_ms,
        max_tokens_field: row.max_tokens_field,
        enabled: row.enabled,
        archived_at: isoOrNull(row.archived_at),
        updated_at: iso(row.updated_at),
      },
      200,
    );
  });

  app.openapi(readSnapshots, async (c) => {
    onlyRunner(c.get('identity'), 'read registry snapshots');
    const want = c.req.valid('json');
    const presetRows = await presets.getMany(pool, want.preset_ids);
    const referenced = presetRows.flatMap((preset) => [
      ...(preset.model_id ? [preset.model_id] : []),
      ...preset.fallback_model_ids,
    ]);
    const modelViews = await models.getMany(pool, [...new Set([...want.model_ids, ...referenced])]);
    const providerRows = await providers.getMany(pool, [
      ...new Set([...want.provider_ids, ...modelViews.map((model) => model.provider_id)]),
    ]);
    return c.json(
      {
        providers: providerRows.map((row) => providerSnapshot(row, false)),
        models: modelViews.map(modelSnapshot),
        presets: presetRows.map(presetSnapshot),
      },
      200,
    );
  });
}
