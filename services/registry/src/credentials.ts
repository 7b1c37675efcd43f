import { EnvelopeError, maskHint, open, seal, type Keyring } from '@llmops/kit/crypto/keyring';
import { HttpProblem } from '@llmops/kit/problem';
import type { ProviderConnection } from '@llmops/kit/adapters/types';
import type { ProviderRow } from './db/providers.ts';

/** A sealed key and its hint, for a provider row. */
export function sealKey(keyring: Keyring, providerId: string, apiKey: string) {
  return { api_key_envelope: seal(keyring, apiKey, providerId), api_key_hint: maskHint(apiKey), api_key_previous_envelope: null };
}

/**
 * The plaintext key of a provider. The current envelope first; when it names a master key this process
 * does not hold (a rotation happened after it started), the previous envelope, which `key rotate` keeps
 * for exactly that (docs/providers.md).
 */
export function openKey(keyring: Keyring, row: ProviderRow): string | null {
  if (!row.api_key_envelope) return null;
  try {
    return open(keyring, row.api_key_envelope, row.id);
  } catch (error) {
    if (!(error instanceof EnvelopeError)) throw error;
    if (row.api_key_previous_envelope) {
      try {
        return open(keyring, row.api_key_previous_envelope, row.id);
      } catch {
        // falls through to the error about the current envelope
      }
    }
    throw new HttpProblem(
      500,
      'keyring',
      'Cannot decrypt the provider key',
      `The registry cannot decrypt this provider's API key: ${error.message}. Give the registry a LLMOPS_MASTER_KEYS that holds that master key (docs/providers.md, "Keys").`,
    );
  }
}

/** How an adapter reaches the provider, key decrypted; kept in memory for one call only. */
export function connectionOf(keyring: Keyring, row: ProviderRow): ProviderConnection {
  return {
    kind: row.kind,
    baseUrl: row.base_url,
    apiKey: openKey(keyring, row),
    organization: row.organization,
    project: row.project,
    headers: row.extra_headers,
  };
}
