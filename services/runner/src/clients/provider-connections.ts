import type { ProviderConnection } from '@llmops/kit/adapters/types';
import { CREDENTIAL_UNREADABLE, getProviderCredential } from '@llmops/kit/contracts/registry';
import type { ServiceClient } from '@llmops/kit/http/service-client';

/** Why a provider cannot be called: gone, disabled or archived since the task was created. */
export class ProviderUnavailableError extends Error {
  override name = 'ProviderUnavailableError';
}

/**
 * The registry cannot decrypt the provider's key (sealed with a master key its keyring lacks): no retry
 * fixes that, an operator does; the message is the registry's, which says how.
 */
export class CredentialUnreadableError extends Error {
  override name = 'CredentialUnreadableError';
}

/**
 * Decrypted provider connections (ADR 0007): fetched from the registry's one internal route that
 * answers only the runner, kept in memory only, dropped on `registry.provider.changed` and after a TTL.
 * Concurrent tasks of one provider share one fetch.
 */
export class Credentials {
  readonly #registry: ServiceClient;
  readonly #ttlMs: number;
  readonly #cache = new Map<string, { connection: Promise<ProviderConnection>; until: number }>();

  constructor(registry: ServiceClient, ttlMs: number) {
    this.#registry = registry;
    this.#ttlMs = ttlMs;
  }

  get(providerId: string, requestId: string): Promise<ProviderConnection> {
    const cached = this.#cache.get(providerId);
    if (cached && cached.until > Date.now()) return cached.connection;
    const connection = this.#fetch(providerId, requestId);
    this.#cache.set(providerId, { connection, until: Date.now() + this.#ttlMs });
    connection.catch(() => this.#cache.delete(providerId));
    return connection;
  }

  drop(providerId: string): void {
    this.#cache.delete(providerId);
  }

  clear(): void {
    this.#cache.clear();
  }

  async #fetch(providerId: string, requestId: string): Promise<ProviderConnection> {
    const answer = await this.#registry.call(getProviderCredential, { params: { id: providerId }, requestId });
    if (!answer.ok) {
      const { status, problem } = answer;
      if (status === 404) throw new ProviderUnavailableError(`provider ${providerId} no longer exists in the registry`);
      if (status === 409 && problem.type.endsWith(`/${CREDENTIAL_UNREADABLE}`))
        throw new CredentialUnreadableError(problem.detail ?? `the registry cannot decrypt the key of provider ${providerId}`);
      throw new Error(`the registry answered ${status} for the provider's credential`);
    }
    const body = answer.body;
    if (body.archived_at) throw new ProviderUnavailableError(`provider ${providerId} is archived`);
    if (!body.enabled) throw new ProviderUnavailableError(`provider ${providerId} is disabled`);
    return {
      kind: body.kind,
      baseUrl: body.base_url,
      apiKey: body.api_key,
      organization: body.organization,
      project: body.project,
      headers: body.extra_headers,
      ...(body.max_tokens_field ? { maxTokensField: body.max_tokens_field } : {}),
    };
  }
}
