import { EnvelopeError, KEYRING_VARIABLE, maskHint, open, seal, type Keyring } from '@llmops/kit/crypto/keyring';
import { CREDENTIAL_UNREADABLE } from '@llmops/kit/contracts/registry';
import { HttpProblem } from '@llmops/kit/problem';
import type { ProviderConnection } from '@llmops/kit/adapters/types';
import type { ProviderRow } from '../db/providers.ts';

/** A sealed key and its hint, for a provider row. */
export function sealKey(keyring: Keyring, providerId: string, apiKey: string) {
  return { api_key_envelope: seal(keyring, apiKey, providerId), api_key_hint: maskHint(apiKey), api_key_previous_envelope: null };
}

/** A provider key this registry cannot decrypt: a 409 saying which master key it needs and what to do. */
export class CredentialUnreadable extends HttpProblem {
  constructor(row: ProviderRow, why: string) {
    super(
      409,
      CREDENTIAL_UNREADABLE,
      'The provider key cannot be decrypted',
      `The registry cannot decrypt the API key of provider "${row.name}": ${why}. ` +
        `Give the registry an ${KEYRING_VARIABLE} that holds that master key (the keyring the last \`key rotate\` printed or wrote), ` +
        `or set the provider's key again (PATCH /api/v1/providers/${row.id} with api_key) to re-seal it under the current master key ` +
        '(docs/providers.md, "Keys").',
    );
  }
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
    throw new CredentialUnreadable(row, error.message);
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
    ...(row.max_tokens_field ? { maxTokensField: row.max_tokens_field } : {}),
  };
}
