import type { ServiceApp } from '@llmops/kit/http/app';
import { Forbidden, NotFound } from '@llmops/kit/problem';
import { getProviderCredential } from '@llmops/kit/contracts/registry';
import * as providers from '../db/providers.ts';
import { openKey } from '../keys/sealing.ts';
import { iso, isoOrNull, type RouteDeps } from './common.ts';

/**
 * The runner's one way to a decrypted key (ADR 0007): only the `runner` service identity, never an
 * account, never the gateway. Not in PUBLIC_ROUTES, so not in the public document nor proxied.
 */
export function mountInternal(app: ServiceApp, { pool, keyring }: RouteDeps): void {
  app.openapi(getProviderCredential, async (c) => {
    const identity = c.get('identity');
    if (identity.kind !== 'service' || identity.subject !== 'runner')
      throw new Forbidden('Only the runner may fetch a provider credential.');
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
        enabled: row.enabled,
        archived_at: isoOrNull(row.archived_at),
        updated_at: iso(row.updated_at),
      },
      200,
    );
  });
}
