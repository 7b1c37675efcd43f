import { createHash } from 'node:crypto';
import type { ProviderConnection } from './types.ts';

/**
 * An adapter's SDK clients, one per connection (base URL, key, organization, project, headers), the
 * most recently used kept: an SDK client builds every resource of its API when constructed, and the
 * runner made one per attempt. Clients are built with `Attempt.fetch`, so each request is the running
 * attempt's (its signal, its recorded wire request). The map's keys are digests, not the keys themselves;
 * a connection whose key changes gets a client of its own, and the old one ages out.
 */
export class SdkClients<T> {
  readonly #build: (connection: ProviderConnection) => T;
  readonly #max: number;
  readonly #clients = new Map<string, T>();

  constructor(build: (connection: ProviderConnection) => T, max = 32) {
    this.#build = build;
    this.#max = max;
  }

  get(connection: ProviderConnection): T {
    const id = createHash('sha256')
      .update(
        JSON.stringify([
          connection.baseUrl,
          connection.apiKey ?? null,
          connection.organization ?? null,
          connection.project ?? null,
          Object.entries(connection.headers ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        ]),
      )
      .digest('base64');
    const known = this.#clients.get(id);
    if (known !== undefined) this.#clients.delete(id);
    const client = known ?? this.#build(connection);
    this.#clients.set(id, client);
    if (this.#clients.size > this.#max) this.#clients.delete(this.#clients.keys().next().value as string);
    return client;
  }

  get size(): number {
    return this.#clients.size;
  }
}
