import type { Bus, BroadcastReader } from '@llmops/kit/bus/index';
import type { Pool } from '@llmops/kit/db';
import { credentialsRevoked, type CredentialsRevoked } from '@llmops/kit/events/gateway';
import type { Logger } from '@llmops/kit/logger';
import { Unauthorized } from '@llmops/kit/problem';
import { scopesForRole, type Principal } from './access.ts';
import * as sessions from '../db/sessions.ts';
import * as tokens from '../db/tokens.ts';
import type { CredentialChecker } from '../ports.ts';
import { hashSecret, TOKEN_PREFIX } from './secrets.ts';

interface Cached {
  /** null: no such credential (tokens only; a made-up token cannot become valid later). */
  principal: Principal | null;
  accountId: string | null;
  /** Why a known token is refused, checked on every use. */
  refusal: string | null;
  cachedAt: number;
}

const MAX_ENTRIES = 50_000;
const NEGATIVE_TTL_MS = 10_000;

/**
 * Checks session cookies and API tokens. Answers come from memory: each credential is read from the
 * database once, then trusted for `cacheMs`, and dropped at once when a `gateway.credentials.revoked`
 * event says so (every gateway instance reads them) — so authentication costs no database round trip
 * per request. Expiry is checked on every use. Tokens' last-used times are collected and written in
 * batches.
 */
export class Authenticator implements CredentialChecker {
  readonly #pool: Pool;
  readonly #log: Logger;
  readonly #cacheMs: number;
  readonly #flushMs: number;
  readonly #cache = new Map<string, Cached>();
  #lastUsed = new Map<string, Date>();
  #timer: NodeJS.Timeout | undefined;
  #reader: BroadcastReader<typeof credentialsRevoked> | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor({ pool, log, cacheMs, flushMs }: { pool: Pool; log: Logger; cacheMs: number; flushMs: number }) {
    this.#pool = pool;
    this.#log = log;
    this.#cacheMs = cacheMs;
    this.#flushMs = flushMs;
  }

  /** Follows revocations from every instance, and starts the batched last-used writes. */
  async start(bus: Bus): Promise<void> {
    this.#reader = await bus.broadcast({
      events: [credentialsRevoked],
      handler: (events) => {
        for (const event of events) this.revoked(event.payload);
      },
      // Missed revocations cannot be replayed after retention: forget everything, read again.
      onExpired: () => this.#cache.clear(),
    });
    this.#timer = setInterval(() => void this.flush(), this.#flushMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await this.#reader?.stop();
    await this.flush();
  }

  /** An API token (`Authorization: Bearer`); throws 401 when it is unknown, revoked, expired or its account disabled. */
  async fromToken(secret: string): Promise<Principal> {
    if (!secret.startsWith(TOKEN_PREFIX) || secret.length > 200) throw new Unauthorized('This is not an LLM Ops API token.');
    const key = `t:${hashSecret(secret).toString('base64url')}`;
    let entry = this.#fresh(key);
    if (!entry) {
      const row = await tokens.bySecretHash(this.#pool, hashSecret(secret));
      entry = row
        ? {
            principal: {
              accountId: row.account_id,
              role: row.role,
              via: 'token',
              credentialId: row.token_id,
              scopes: row.scopes,
              expiresAt: row.expires_at,
            },
            accountId: row.account_id,
            refusal: row.revoked
              ? 'This API token was revoked.'
              : row.disabled
                ? 'The account of this API token is disabled.'
                : null,
            cachedAt: Date.now(),
          }
        : { principal: null, accountId: null, refusal: 'This API token is not valid.', cachedAt: Date.now() };
      this.#remember(key, entry);
    }
    if (!entry.principal || entry.refusal) throw new Unauthorized(entry.refusal ?? 'This API token is not valid.');
    if (entry.principal.expiresAt && entry.principal.expiresAt.getTime() <= Date.now()) {
      throw new Unauthorized('This API token has expired; create a new one.');
    }
    this.#lastUsed.set(entry.principal.credentialId, new Date());
    return entry.principal;
  }

  /** A session cookie's secret; undefined when it is unknown or over (the caller is then anonymous). */
  async fromSession(secret: string): Promise<Principal | undefined> {
    if (secret.length > 200) return undefined;
    const key = `s:${hashSecret(secret).toString('base64url')}`;
    let entry = this.#fresh(key);
    if (!entry) {
      const row = await sessions.bySecretHash(this.#pool, hashSecret(secret));
      if (!row || row.disabled) return undefined; // not cached: a session cannot come back to life
      entry = {
        principal: {
          accountId: row.account_id,
          role: row.role,
          via: 'session',
          credentialId: row.session_id,
          scopes: scopesForRole(row.role),
          expiresAt: row.expires_at,
        },
        accountId: row.account_id,
        refusal: null,
        cachedAt: Date.now(),
      };
      this.#remember(key, entry);
    }
    if (!entry.principal || entry.refusal) return undefined;
    if (entry.principal.expiresAt && entry.principal.expiresAt.getTime() <= Date.now()) {
      this.#cache.delete(key);
      return undefined;
    }
    return entry.principal;
  }

  /** Drops what a revocation makes stale; called for this instance's own changes at once, and for every instance's by event. */
  revoked(change: CredentialsRevoked): void {
    for (const [key, entry] of this.#cache) {
      if (change.kind === 'account' ? entry.accountId === change.account_id : entry.principal?.credentialId === change.id) {
        this.#cache.delete(key);
      }
    }
  }

  /** Writes the collected last-used times in one statement. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      if (this.#lastUsed.size === 0) return;
      const batch = this.#lastUsed;
      this.#lastUsed = new Map();
      try {
        await tokens.touch(this.#pool, batch);
      } catch (error) {
        this.#log.warn({ err: error, tokens: batch.size }, 'could not write tokens’ last-used times; trying again next time');
        for (const [id, at] of batch) if (!this.#lastUsed.has(id)) this.#lastUsed.set(id, at);
      }
    });
    return this.#flushing;
  }

  #fresh(key: string): Cached | undefined {
    const entry = this.#cache.get(key);
    if (!entry) return undefined;
    const ttl = entry.principal ? this.#cacheMs : Math.min(this.#cacheMs, NEGATIVE_TTL_MS);
    if (Date.now() - entry.cachedAt > ttl) {
      this.#cache.delete(key);
      return undefined;
    }
    return entry;
  }

  #remember(key: string, entry: Cached): void {
    if (this.#cache.size >= MAX_ENTRIES) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(key, entry);
  }
}
