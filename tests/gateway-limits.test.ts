/**
 * Rate limits through the HTTP layer: a token past its quota gets 429 problem+json with Retry-After and
 * the RateLimit headers; other tokens and accounts go on. (The arithmetic is pinned in
 * services/gateway/src/auth/rate-limit.test.ts.) Failed sign-ins are limited per client address, and the
 * address is believed from X-Forwarded-For only when the dashboard's server (its secret) or a trusted
 * reverse proxy sends it (services/gateway/src/auth/forwarded.test.ts pins the rules).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withClient } from '@llmops/kit/db';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { createAccountAsOperator } from '@llmops/gateway/operator';
import { PASSWORD, startGateway, type GatewayHarness } from './gateway-support.ts';

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

describe('rate limits shared by two gateway instances on one database', () => {
  const QUOTA = 12;
  const SYNC_MS = 100;
  let a: GatewayHarness;
  let b: GatewayHarness;
  beforeAll(async () => {
    const env = { GATEWAY_RATE_LIMIT_TOKEN: String(QUOTA), GATEWAY_RATE_LIMIT_SYNC_MS: String(SYNC_MS) };
    [a, b] = await Promise.all([startGateway(db, { services: [], env }), startGateway(db, { services: [], env })]);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('together refuse past one quota (429 with Retry-After), past it by at most what came in during a settlement interval', async () => {
    const editor = await a.caller('editor');
    const headers = { authorization: `Bearer ${editor.token}` };
    const sent: { at: number; status: number; retryAfter: string | null }[] = [];
    // A client alternating between the instances, about 4 requests per settlement interval; alone,
    // each instance would allow its 12 of these 36.
    for (let i = 0; i < 3 * QUOTA; i++) {
      const at = performance.now();
      const answer = await (i % 2 === 0 ? a : b).api('/api/v1/session', { headers });
      sent.push({ at, status: answer.status, retryAfter: answer.headers.get('retry-after') });
      await new Promise((resolve) => setTimeout(resolve, SYNC_MS / 4));
    }
    const allowed = sent.filter((s) => s.status === 200).length;
    // What came in during the busiest two intervals: a settlement may be sent just before a request and answered a round trip later.
    const busiest = Math.max(...sent.map((s) => sent.filter((t) => t.at >= s.at && t.at < s.at + 2 * SYNC_MS).length));
    expect(allowed).toBeGreaterThanOrEqual(QUOTA);
    expect(allowed).toBeLessThanOrEqual(QUOTA + busiest);
    expect(allowed).toBeLessThan(2 * QUOTA);
    const refused = sent.filter((s) => s.status === 429);
    expect(refused.length).toBe(sent.length - allowed);
    expect(refused.every((s) => Number(s.retryAfter) >= 1)).toBe(true);
    // Once the quota is spent, both instances refuse.
    expect(sent.slice(-6).map((s) => s.status)).toEqual(Array<number>(6).fill(429));
  });
});

describe('failed sign-ins per client address', () => {
  const WEB_SECRET = 'the-dashboard-servers-own-secret-0123456789';
  const WEB = 'x-llmops-proxy-secret';
  /** GATEWAY_LOGIN_MAX_FAILURES=1: one failure per email, ten per address (a short stand-in for 10 and 100). */
  const PER_ADDRESS = 10;
  let direct: GatewayHarness;
  let behindProxy: GatewayHarness;

  const signIn = (gw: GatewayHarness, headers: Record<string, string>, email: string, password = 'not the password') =>
    gw.api('/api/v1/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ email, password }),
    });

  /** The addresses failed sign-ins were counted against. */
  const countedAddresses = () =>
    withClient(db.adminUrl, async (client) => {
      const { rows } = await client.query<{ key: string }>(
        `SELECT DISTINCT key FROM gateway.login_failures WHERE key LIKE 'ip:%' ORDER BY key`,
      );
      return rows.map((row) => row.key.slice('ip:'.length));
    });

  beforeAll(async () => {
    const env = { GATEWAY_LOGIN_MAX_FAILURES: '1', LLMOPS_WEB_PROXY_SECRET: WEB_SECRET };
    [direct, behindProxy] = await Promise.all([
      startGateway(db, { services: [], env }),
      startGateway(db, { services: [], env: { ...env, GATEWAY_TRUSTED_PROXIES: '127.0.0.0/8, ::1' } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([direct?.stop(), behindProxy?.stop()]);
  });

  it('limits a spray whose X-Forwarded-For changes every time: an untrusted client is its own address', async () => {
    const statuses: number[] = [];
    for (let i = 1; i <= PER_ADDRESS + 3; i++) {
      statuses.push((await signIn(direct, { 'x-forwarded-for': `198.51.100.${i}` }, `spray-${i}@example.com`)).status);
    }
    expect(statuses).toEqual([...Array<number>(PER_ADDRESS).fill(401), 429, 429, 429]);
    expect(await countedAddresses()).toEqual(['127.0.0.1']);
    const refused = await signIn(direct, { 'x-forwarded-for': '198.51.100.99' }, 'spray-last@example.com');
    expect(((await refused.json()) as { detail: string }).detail).toMatch(/from this address/);
  });

  it("takes the real client's address from the dashboard's server, which sends its secret", async () => {
    // The spray above used up the loopback address; people signing in through the dashboard keep their own.
    const viaWeb = (address: string) => ({ [WEB]: WEB_SECRET, 'x-forwarded-for': address, 'x-forwarded-proto': 'https' });
    expect((await signIn(direct, viaWeb('203.0.113.7'), 'typo@example.com')).status).toBe(401);
    expect(await countedAddresses()).toEqual(['127.0.0.1', '203.0.113.7']);

    const person = await createAccountAsOperator(db.adminUrl, {
      email: 'person@example.com',
      name: 'Person',
      role: 'viewer',
      password: PASSWORD,
    });
    const signedIn = await signIn(direct, viaWeb('203.0.113.8'), person.email, PASSWORD);
    expect(signedIn.status).toBe(200);
    expect(signedIn.headers.getSetCookie()[0]).toContain('Secure'); // the dashboard was reached over https
    expect((await signIn(direct, {}, person.email, PASSWORD)).status).toBe(429); // straight from loopback: spent

    const guessed = await signIn(direct, { [WEB]: 'a guess at the secret', 'x-forwarded-for': '203.0.113.9' }, person.email);
    expect(guessed.status).toBe(403);
    expect(((await guessed.json()) as { detail: string }).detail).toContain('LLMOPS_WEB_PROXY_SECRET');
  });

  it('believes a reverse proxy in GATEWAY_TRUSTED_PROXIES, and only the address it saw', async () => {
    // The client's own claim (192.0.2.99) comes first; the proxy appends the address it saw.
    const forwarded = { 'x-forwarded-for': '192.0.2.99, 203.0.113.20' };
    expect((await signIn(behindProxy, forwarded, 'proxied@example.com')).status).toBe(401);
    expect(await countedAddresses()).toEqual(['127.0.0.1', '203.0.113.20', '203.0.113.7']);
    // A gateway without that range counts the same request against its peer, which is spent.
    expect((await signIn(direct, forwarded, 'proxied-again@example.com')).status).toBe(429);
  });

  it('holds the per-email limit when wrong passwords arrive all at once', async () => {
    // Each from its own address (through the trusted proxy), so only the per-email limit (one) applies.
    const statuses = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        signIn(behindProxy, { 'x-forwarded-for': `192.0.2.${10 + i}` }, 'raced@example.com').then((r) => r.status),
      ),
    );
    expect(statuses.filter((status) => status === 401).length).toBeLessThanOrEqual(1);
    expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(7);
  });
});
