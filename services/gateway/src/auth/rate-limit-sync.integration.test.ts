import { afterAll, describe, expect, it } from 'vitest';
import { createPool, withClient } from '@llmops/kit/db';
import { createLogger } from '@llmops/kit/logger';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import type { Principal } from './access.ts';
import { RateLimiter } from './rate-limit.ts';
import { SharedRateWindow } from './rate-limit-sync.ts';

const db = await useTestDatabase();
const pool = createPool({ connectionString: db.urlFor('gateway'), applicationName: 'test-rate-window', max: 2 });
afterAll(() => pool.end());

const log = createLogger({ service: 'test', level: 'silent' });
const caller = (credentialId: string): Principal => ({
  accountId: '00000000-0000-4000-8000-00000000000a',
  role: 'editor',
  via: 'token',
  credentialId,
  scopes: [],
  expiresAt: null,
});

/** One gateway instance's limiter and its shared window (settled only when the test says). */
function instance(perToken: number) {
  const limiter = new RateLimiter({ perToken, perAccount: 0 });
  const window = new SharedRateWindow({ limiter, pool, log, syncMs: 60_000 });
  const allowed = (who: Principal, n: number) =>
    Array.from({ length: n }, () => limiter.take(who)).filter((d) => d.allowed).length;
  return { limiter, window, allowed };
}

describe('rate limits shared by gateway instances on one database', () => {
  it('holds one quota across instances, past it by at most what they allowed between two settlements, and pays that back', async () => {
    const a = instance(10);
    const b = instance(10);
    const who = caller('shared-1');
    // Before anyone settled, each instance spends from a full bucket: 6 + 6 of a quota of 10.
    expect(a.allowed(who, 6)).toBe(6);
    expect(b.allowed(who, 6)).toBe(6);
    await a.window.settle();
    await b.window.settle();
    // B learnt A's 6 (and A's next settlement learns B's): 2 past the quota, owed by both.
    await a.window.settle();
    expect(a.allowed(who, 5)).toBe(0);
    expect(b.allowed(who, 5)).toBe(0);
    const refused = a.limiter.take(who);
    expect(refused.allowed).toBe(false);
    // The debt of 2 and then the next request's own refill: 3 × 6 s at 10 per minute, less the time since.
    expect(Number(refused.headers['Retry-After'])).toBeGreaterThan(12);
    expect(Number(refused.headers['Retry-After'])).toBeLessThanOrEqual(18);
    const { rows } = await withClient(db.adminUrl, (client) =>
      client.query<{ tokens: number }>(`SELECT tokens FROM gateway.rate_buckets WHERE key = 't:shared-1'`),
    );
    expect(rows[0]?.tokens).toBeGreaterThan(-2.1);
    expect(rows[0]?.tokens).toBeLessThan(-1.5);
  });

  it('keeps instances that settle every request within the quota exactly, and keys apart', async () => {
    const a = instance(4);
    const b = instance(4);
    const who = caller('shared-2');
    let allowed = 0;
    for (let i = 0; i < 8; i++) {
      const side = i % 2 === 0 ? a : b;
      allowed += side.allowed(who, 1);
      await side.window.settle();
      await (side === a ? b : a).window.settle();
    }
    expect(allowed).toBe(4);
    expect(a.allowed(caller('shared-3'), 1)).toBe(1);
  });

  it('limits alone while the database is unreachable, and settles the count when it is back', async () => {
    const broken = createPool({
      connectionString: db.urlFor('gateway').replace(/:\d+\//, ':1/'),
      applicationName: 'test-down',
      max: 1,
    });
    const limiter = new RateLimiter({ perToken: 5, perAccount: 0 });
    const down = new SharedRateWindow({ limiter, pool: broken, log, syncMs: 60_000 });
    const who = caller('shared-4');
    for (let i = 0; i < 3; i++) limiter.take(who);
    await down.settle();
    await broken.end();
    await new SharedRateWindow({ limiter, pool, log, syncMs: 60_000 }).settle();
    const { rows } = await withClient(db.adminUrl, (client) =>
      client.query<{ tokens: number }>(`SELECT tokens FROM gateway.rate_buckets WHERE key = 't:shared-4'`),
    );
    expect(rows[0]?.tokens).toBe(2);
  });
});
