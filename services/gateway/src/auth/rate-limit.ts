import type { Principal } from './access.ts';

interface Bucket {
  tokens: number;
  at: number;
  limit: number;
  /** When a request last asked for it (a settlement moves `at`, not this). */
  usedAt: number;
  /** Requests allowed since the bucket was last settled with the other instances (rate-limit-sync.ts). */
  unsettled: number;
}

/** What this instance took of a key since it last settled: its quota, and the requests it allowed. */
export interface TakenSinceSettled {
  key: string;
  capacity: number;
  spent: number;
}

export interface RateDecision {
  allowed: boolean;
  headers: Record<string, string>;
  retryAfterS: number;
}

const WINDOW_S = 60;

/**
 * Per-token and per-account request limits (token buckets: `q` requests per 60 s, refilled continuously),
 * kept in memory per gateway instance so a request costs no database round trip; the instances settle
 * what they took in a shared bucket per key (SharedRateWindow, rate-limit-sync.ts) and adopt its level,
 * so together they hold the quota within what they allow between two settlements. Answers carry the IETF
 * RateLimit-Policy / RateLimit headers (draft-ietf-httpapi-ratelimit-headers) naming the policy closest
 * to its limit; a refusal is 429 with Retry-After.
 */
export class RateLimiter {
  readonly #perToken: number;
  readonly #perAccount: number;
  readonly #buckets = new Map<string, Bucket>();
  readonly #policy: string;
  #sweepAt = Date.now();

  constructor({ perToken, perAccount }: { perToken: number; perAccount: number }) {
    this.#perToken = perToken;
    this.#perAccount = perAccount;
    this.#policy = [
      perToken > 0 ? `"token";q=${perToken};w=${WINDOW_S}` : '',
      perAccount > 0 ? `"account";q=${perAccount};w=${WINDOW_S}` : '',
    ]
      .filter(Boolean)
      .join(', ');
  }

  take(principal: Principal, now = Date.now()): RateDecision {
    this.#sweep(now);
    const checks: { name: string; key: string; limit: number }[] = [];
    if (this.#perToken > 0 && principal.via === 'token')
      checks.push({ name: 'token', key: `t:${principal.credentialId}`, limit: this.#perToken });
    if (this.#perAccount > 0) checks.push({ name: 'account', key: `a:${principal.accountId}`, limit: this.#perAccount });
    if (checks.length === 0) return { allowed: true, headers: {}, retryAfterS: 0 };
    const states = checks.map((check) => ({ ...check, bucket: this.#refill(check.key, check.limit, now) }));
    const blocked = states.find((state) => state.bucket.tokens < 1);
    if (!blocked)
      for (const state of states) {
        state.bucket.tokens -= 1;
        state.bucket.unsettled += 1;
      }
    // The policy with the least left is the one a client should watch.
    const tightest = blocked ?? states.reduce((a, b) => (a.bucket.tokens / a.limit <= b.bucket.tokens / b.limit ? a : b));
    const perSecond = tightest.limit / WINDOW_S;
    const remaining = Math.max(0, Math.floor(tightest.bucket.tokens));
    const untilNext = blocked ? Math.max(1, Math.ceil((1 - tightest.bucket.tokens) / perSecond)) : 0;
    const untilFull = Math.ceil((tightest.limit - tightest.bucket.tokens) / perSecond);
    const headers: Record<string, string> = {
      'RateLimit-Policy': this.#policy,
      RateLimit: `"${tightest.name}";r=${remaining};t=${blocked ? untilNext : untilFull}`,
    };
    if (blocked) headers['Retry-After'] = String(untilNext);
    return { allowed: !blocked, headers, retryAfterS: untilNext };
  }

  #refill(key: string, limit: number, now: number): Bucket {
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = { tokens: limit, at: now, limit, usedAt: now, unsettled: 0 };
      this.#buckets.set(key, bucket);
      return bucket;
    }
    bucket.tokens = Math.min(limit, bucket.tokens + ((now - bucket.at) / 1000) * (limit / WINDOW_S));
    bucket.at = now;
    bucket.usedAt = now;
    return bucket;
  }

  /**
   * Every bucket's requests since it was last settled (the count starts again from 0), for the shared
   * window; a bucket without any is listed too, so its level follows what the other instances take.
   */
  unsettled(): TakenSinceSettled[] {
    return [...this.#buckets].map(([key, bucket]) => {
      const spent = bucket.unsettled;
      bucket.unsettled = 0;
      return { key, capacity: bucket.limit, spent };
    });
  }

  /** Counts again requests a settlement could not record (the database was unreachable): the next one carries them. */
  unsettle(taken: readonly TakenSinceSettled[]): void {
    for (const { key, spent } of taken) {
      const bucket = this.#buckets.get(key);
      if (bucket) bucket.unsettled += spent;
    }
  }

  /**
   * Takes the shared levels (every instance's requests counted, as of the settlement), less what this
   * instance allowed since the settlement was sent.
   */
  adopt(levels: ReadonlyMap<string, number>, now = Date.now()): void {
    for (const [key, tokens] of levels) {
      const bucket = this.#buckets.get(key);
      if (!bucket) continue;
      bucket.tokens = Math.min(bucket.limit, tokens) - bucket.unsettled;
      bucket.at = now;
    }
  }

  /** Buckets nobody asked for during a whole window are full again (here and in the shared window): forget them. */
  #sweep(now: number): void {
    if (now - this.#sweepAt < WINDOW_S * 1000) return;
    this.#sweepAt = now;
    for (const [key, bucket] of this.#buckets)
      if (now - bucket.usedAt > WINDOW_S * 1000 && bucket.unsettled === 0) this.#buckets.delete(key);
  }
}
