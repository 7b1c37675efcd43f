import { describe, expect, it } from 'vitest';
import type { Principal } from './access.ts';
import { RateLimiter } from './rate-limit.ts';

const token = (id: string, accountId = 'a1'): Principal => ({
  accountId,
  role: 'editor',
  via: 'token',
  credentialId: id,
  scopes: ['prompts:read'],
  expiresAt: null,
});

describe('per-token and per-account rate limits', () => {
  it('lets a token make its quota of requests in a burst, then answers with Retry-After until it refills', () => {
    const limiter = new RateLimiter({ perToken: 3, perAccount: 100 });
    const t0 = 1_000_000;
    const taken = [1, 2, 3].map(() => limiter.take(token('t1'), t0));
    expect(taken.every((d) => d.allowed)).toBe(true);
    expect(taken[2]?.headers.RateLimit).toBe('"token";r=0;t=60');
    expect(taken[0]?.headers['RateLimit-Policy']).toBe('"token";q=3;w=60, "account";q=100;w=60');
    const refused = limiter.take(token('t1'), t0);
    expect(refused.allowed).toBe(false);
    expect(refused.headers['Retry-After']).toBe('20'); // one request per 20 s at 3 per minute
    expect(limiter.take(token('t1'), t0 + 19_000).allowed).toBe(false);
    expect(limiter.take(token('t1'), t0 + 20_000).allowed).toBe(true);
    // Another token of the same account has its own quota.
    expect(limiter.take(token('t2'), t0).allowed).toBe(true);
  });

  it('counts every token and session of an account against the account’s quota', () => {
    const limiter = new RateLimiter({ perToken: 100, perAccount: 4 });
    const t0 = 5_000_000;
    for (const id of ['t1', 't2', 't3', 't4']) expect(limiter.take(token(id), t0).allowed).toBe(true);
    const fifth = limiter.take(token('t5'), t0);
    expect(fifth.allowed).toBe(false);
    expect(fifth.headers.RateLimit).toMatch(/^"account";r=0;t=\d+$/);
    expect(limiter.take(token('t6', 'a2'), t0).allowed).toBe(true);
  });

  it('counts what it allowed until settled, and takes a shared level less what it allowed since', () => {
    const limiter = new RateLimiter({ perToken: 10, perAccount: 0 });
    const t0 = 9_000_000;
    for (let i = 0; i < 4; i++) limiter.take(token('t1'), t0);
    const taken = limiter.unsettled();
    expect(taken).toEqual([{ key: 't:t1', capacity: 10, spent: 4 }]);
    expect(limiter.unsettled()).toEqual([{ key: 't:t1', capacity: 10, spent: 0 }]);
    limiter.take(token('t1'), t0); // allowed while the settlement is on its way
    // The other instances took 5 as well: 1 left of the settled level, less the one allowed since.
    limiter.adopt(new Map([['t:t1', 1]]), t0);
    const refused = limiter.take(token('t1'), t0);
    expect(refused.allowed).toBe(false);
    expect(refused.headers['Retry-After']).toBe('6'); // one request per 6 s at 10 per minute
    // A debt (the instances together allowed past the quota) is paid back before the next request.
    limiter.adopt(new Map([['t:t1', -2]]), t0);
    expect(limiter.take(token('t1'), t0).headers['Retry-After']).toBe('24');
    // A settlement that failed is carried by the next one.
    limiter.unsettle([{ key: 't:t1', capacity: 10, spent: 3 }]);
    expect(limiter.unsettled()).toEqual([{ key: 't:t1', capacity: 10, spent: 4 }]);
  });

  it('sends no headers when limits are off', () => {
    const limiter = new RateLimiter({ perToken: 0, perAccount: 0 });
    expect(limiter.take(token('t1'))).toEqual({ allowed: true, headers: {}, retryAfterS: 0 });
  });
});
