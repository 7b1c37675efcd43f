import { createHash } from 'node:crypto';
import type { ProviderConnection } from './types.ts';

/**
 * An adapter's SDK clients, one per connection (base URL, key, organization, project, headers), the
 * most recently used kept: an SDK client builds every resource of its API when constructed, and the
 * runner made one per attempt. Clients are built with `Attempt.fetch`, so each request is the running
 * attempt's (its signal, its recorded wire request). The map's keys are digests, not the keys themselves;
 * a connection whose key changes gets a client of its own, and the old one (which holds the old key) is
 * dropped once unused for `idleMs`, or sooner when more than `max` connections are in use.
 */
export class SdkClients<T> {
  readonly #build: (connection: ProviderConnection) => T;
  readonly #max: number;
  readonly #idleMs: number;
  readonly #now: () => number;
  /** Least recently used first. */
  readonly #clients = new Map<string, { client: T; usedAt: number }>();

  constructor(
    build: (connection: ProviderConnection) => T,
    { max = 32, idleMs = 5 * 60_000, now = () => performance.now() }: { max?: number; idleMs?: number; now?: () => number } = {},
  ) {
    this.#build = build;
    this.#max = max;
    this.#idleMs = idleMs;
    this.#now = now;
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
    const now = this.#now();
    const known = this.#clients.get(id);
    if (known !== undefined) this.#clients.delete(id);
    const client = known?.client ?? this.#build(connection);
    for (const [oldest, entry] of this.#clients) {
      if (this.#clients.size < this.#max && now - entry.usedAt < this.#idleMs) break;
      this.#clients.delete(oldest);
    }
    this.#clients.set(id, { client, usedAt: now });
    return client;
  }

  get size(): number {
    return this.#clients.size;
  }
}
