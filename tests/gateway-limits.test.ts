/**
 * Rate limits through the HTTP layer: a token past its quota gets 429 problem+json with Retry-After and
 * the RateLimit headers; other tokens and accounts go on. (The arithmetic is pinned in
 * services/gateway/src/rate-limit.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { startGateway, type GatewayHarness } from './gateway-support.ts';

const db = await useTestDatabase();

describe('rate limits', () => {
  let gw: GatewayHarness;
  beforeAll(async () => {
    gw = await startGateway(db, { services: [], env: { GATEWAY_RATE_LIMIT_TOKEN: '5', GATEWAY_RATE_LIMIT_ACCOUNT: '1000' } });
  });
  afterAll(() => gw?.stop());

  it('answers 429 with Retry-After once a token used its quota, and leaves other tokens alone', async () => {
    const editor = await gw.caller('editor');
    const headers = { authorization: `Bearer ${editor.token}` };
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await gw.api('/api/v1/session', { headers }));
    expect(answers.slice(0, 5).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(answers[0]?.headers.get('ratelimit-policy')).toBe('"token";q=5;w=60, "account";q=1000;w=60');
    expect(answers[4]?.headers.get('ratelimit')).toMatch(/^"token";r=0;t=\d+$/);
    const refused = answers[5] as Response;
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toBe('application/problem+json');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('ratelimit')).toMatch(/^"token";r=0;t=\d+$/);

    const other = await gw.token(editor.email, 'editor');
    expect((await gw.api('/api/v1/session', { headers: { authorization: `Bearer ${other.secret}` } })).status).toBe(200);
    // Sessions are limited per account only.
    expect((await gw.api('/api/v1/session', { headers: { cookie: editor.cookie } })).status).toBe(200);
  });
});
