/**
 * Every route of the public document, as every kind of caller: without credentials 401, with a role
 * below the route's 403, with the route's role (session or token) it works; tokens need the route's
 * scope; revoked and expired tokens are refused; a token never exceeds its account's role. The open
 * routes are exactly the ones issue 6 names.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCOPES, type Scope } from '@llmops/kit/http/access';
import type { Role } from '@llmops/kit/http/identity';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { revokeTokenAsOperator } from '@llmops/gateway/operator';
import { startGateway, type Caller, type GatewayHarness } from './gateway-support.ts';

// A test that goes over every route of the public document grows with it (the workflow added dozens);
// a loaded 2-core machine needs more than the default 30 s for the longest of them.
const EVERY_ROUTE_MS = 120_000;

const db = await useTestDatabase();
const WEB_SECRET = 'the-dashboard-servers-own-secret-0123456789';

interface Operation {
  method: string;
  template: string;
  role: Role | undefined;
  scope: Scope | 'any' | undefined;
  open: boolean;
  hasBody: boolean;
}

const LOWER: Record<Role, Role[]> = { admin: ['editor', 'viewer'], editor: ['viewer'], viewer: [] };

function operations(document: GatewayHarness['api']['checker']['document']): Operation[] {
  const found: Operation[] = [];
  for (const [template, item] of Object.entries(document.paths)) {
    for (const [method, raw] of Object.entries(item)) {
      const operation = raw as Record<string, unknown>;
      if (typeof operation !== 'object' || !('responses' in operation)) continue;
      found.push({
        method: method.toUpperCase(),
        template,
        role: operation['x-required-role'] as Role | undefined,
        scope: operation['x-required-scope'] as Scope | 'any' | undefined,
        open: Array.isArray(operation.security) && operation.security.length === 0,
        hasBody: 'requestBody' in operation,
      });
    }
  }
  return found;
}

function concrete(template: string): string {
  return template.replace(/\{([^}]+)\}/g, (_, name: string) =>
    name === 'group' ? 'test.group' : '01936f6e-7c1a-7b2e-9f3c-2b6d1e8a4c5d',
  );
}

describe('access to every route of the public document', () => {
  let gw: GatewayHarness;
  let ops: Operation[];
  const callers = {} as Record<Role, Caller>;

  beforeAll(async () => {
    gw = await startGateway(db, {
      env: { GATEWAY_RATE_LIMIT_TOKEN: '0', GATEWAY_RATE_LIMIT_ACCOUNT: '0', LLMOPS_WEB_PROXY_SECRET: WEB_SECRET },
    });
    // /metrics takes its own token, never a session or an API token (tests/observability.test.ts).
    ops = operations(gw.api.checker.document).filter((op) => op.template !== '/metrics');
    for (const role of ['admin', 'editor', 'viewer'] as const) callers[role] = await gw.caller(role);
  });
  afterAll(() => gw?.stop());

  /** Calls an operation; for the event stream only the headers are awaited. */
  async function call(op: Operation, headers: Record<string, string>): Promise<Response> {
    const controller = new AbortController();
    const init: RequestInit = { method: op.method, headers: { ...headers }, signal: controller.signal };
    if (op.hasBody) {
      init.body = '{}';
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
    const response = await gw.api(concrete(op.template), init);
    if ((response.headers.get('content-type') ?? '').startsWith('text/event-stream')) controller.abort();
    else await response.arrayBuffer();
    return response;
  }

  const describeOp = (op: Operation) => `${op.method} ${op.template}`;

  it('documents a role and a scope for every route but the open ones, which are exactly the issue’s list', () => {
    const open = ops.filter((op) => op.open).map(describeOp);
    expect(open.sort()).toEqual(
      [
        'GET /healthz',
        'GET /readyz',
        'GET /api/v1/openapi.json',
        'GET /api/v1/setup',
        'POST /api/v1/setup',
        'POST /api/v1/login',
        'POST /api/v1/logout',
      ].sort(),
    );
    for (const op of ops.filter((o) => !o.open)) {
      expect(op.role, describeOp(op)).toMatch(/^(admin|editor|viewer)$/);
      expect(op.scope, describeOp(op)).toBeDefined();
    }
    expect(ops.length).toBeGreaterThan(15);
    const metrics = gw.api.checker.document.paths['/metrics']?.get as Record<string, unknown> | undefined;
    expect(metrics?.security).toEqual([{ metricsToken: [] }]);
    expect(metrics?.['x-required-role']).toBeUndefined();
  });

  it('answers 401 problem+json to every protected route without credentials, or with a bad, revoked or expired token', async () => {
    const revoked = await gw.token(callers.admin.email, 'admin');
    await revokeTokenAsOperator(db.adminUrl, revoked.id);
    const expired = await gw.token(callers.admin.email, 'admin', undefined, new Date(Date.now() + 1500));
    // The expired token works while it lasts (and is cached): expiry is checked on every use.
    expect((await gw.api('/api/v1/session', { headers: { authorization: `Bearer ${expired.secret}` } })).status).toBe(200);
    await expect.poll(() => Date.now(), { timeout: 5_000 }).toBeGreaterThan(Date.now() + 1600);

    const bad: Record<string, string>[] = [
      {},
      { authorization: 'Bearer llmops_not-a-real-token' },
      { authorization: 'Basic YWRtaW46YWRtaW4=' },
      { authorization: `Bearer ${revoked.secret}` },
      { authorization: `Bearer ${expired.secret}` },
      { cookie: 'llmops_session=forged' },
    ];
    for (const op of ops.filter((o) => !o.open)) {
      for (const headers of bad) {
        const response = await call(op, headers);
        expect(response.status, `${describeOp(op)} with ${JSON.stringify(headers)}`).toBe(401);
        expect(response.headers.get('content-type')).toBe('application/problem+json');
        expect(response.headers.get('x-request-id')).toBeTruthy();
      }
    }
  });

  it(
    'answers 403 to a role below the route’s, and lets the route’s role through (session and token)',
    async () => {
      for (const op of ops.filter((o) => !o.open)) {
        const role = op.role as Role;
        for (const lower of LOWER[role]) {
          const bySession = await call(op, gw.browser(callers[lower]));
          expect(bySession.status, `${describeOp(op)} as ${lower} (session)`).toBe(403);
          const byToken = await call(op, { authorization: `Bearer ${callers[lower].token}` });
          expect(byToken.status, `${describeOp(op)} as ${lower} (token)`).toBe(403);
        }
        for (const allowed of (['admin', 'editor', 'viewer'] as const).filter((r) => r === role || LOWER[r].includes(role))) {
          const bySession = await call(op, gw.browser(callers[allowed]));
          expect([401, 403], `${describeOp(op)} as ${allowed} (session): ${bySession.status}`).not.toContain(bySession.status);
          expect(bySession.status, describeOp(op)).toBeLessThan(500);
          const byToken = await call(op, { authorization: `Bearer ${callers[allowed].token}` });
          if (op.scope === 'admin' && allowed !== 'admin') {
            // Only admins hold the `admin` scope: others manage their tokens from the dashboard.
            expect(byToken.status, `${describeOp(op)} as ${allowed} (token)`).toBe(403);
          } else {
            expect([401, 403], `${describeOp(op)} as ${allowed} (token): ${byToken.status}`).not.toContain(byToken.status);
          }
        }
      }
    },
    EVERY_ROUTE_MS,
  );

  it('needs the route’s scope on a token (or `admin`), even for an admin account', async () => {
    for (const op of ops.filter((o) => !o.open && o.scope !== 'any')) {
      const scope = op.scope as Scope;
      const without = SCOPES.filter((s) => s !== scope && s !== 'admin');
      const lacking = await gw.token(callers.admin.email, 'admin', without);
      const refused = await call(op, { authorization: `Bearer ${lacking.secret}` });
      expect(refused.status, `${describeOp(op)} without ${scope}`).toBe(403);
      const only = await gw.token(callers.admin.email, 'admin', [scope]);
      const passed = await call(op, { authorization: `Bearer ${only.secret}` });
      expect([401, 403], `${describeOp(op)} with only ${scope}: ${passed.status}`).not.toContain(passed.status);
    }
    // Two tokens and two calls for every route of the document: it grows with the API.
  }, 180_000);

  it(
    'never lets a token exceed its account’s role, even after the role is lowered',
    async () => {
      const admin = await gw.caller('admin');
      const adminToken = admin.token;
      const accounts = await gw.api('/api/v1/accounts', { headers: { authorization: `Bearer ${adminToken}` } });
      expect(accounts.status).toBe(200);
      const demote = await gw.api(`/api/v1/accounts/${admin.accountId}`, {
        method: 'PATCH',
        headers: { ...gw.browser(callers.admin), 'content-type': 'application/json' },
        body: JSON.stringify({ role: 'viewer' }),
      });
      expect(demote.status).toBe(200);
      // The same gateway dropped the cached token at once; every other instance does on the event.
      const after = await gw.api('/api/v1/accounts', { headers: { authorization: `Bearer ${adminToken}` } });
      expect(after.status).toBe(403);
      // A viewer cannot mint a token beyond viewer either.
      const mint = await gw.api('/api/v1/tokens', {
        method: 'POST',
        headers: { ...gw.browser(callers.viewer), 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'too much', scopes: ['prompts:write'] }),
      });
      expect(mint.status).toBe(422);
      expect(((await mint.json()) as { errors: { field: string }[] }).errors[0]?.field).toBe('body.scopes');
    },
    EVERY_ROUTE_MS,
  );

  it('refuses cookie-authenticated writes from another origin (CSRF), and takes them from its own or the dashboard’s', async () => {
    const body = JSON.stringify({ name: 'csrf probe', scopes: ['prompts:read'] });
    const headers = { cookie: callers.editor.cookie, 'content-type': 'application/json' };
    const foreign = await gw.api('/api/v1/tokens', {
      method: 'POST',
      headers: { ...headers, origin: 'https://evil.example' },
      body,
    });
    expect(foreign.status).toBe(403);
    const none = await gw.api('/api/v1/tokens', { method: 'POST', headers, body });
    expect(none.status).toBe(403);
    // The dashboard's origin, as its server forwards it: believed only with the server's own secret.
    const dashboard = { origin: 'https://blog.example', 'x-forwarded-host': 'blog.example', 'x-forwarded-proto': 'https' };
    const claimed = await gw.api('/api/v1/tokens', { method: 'POST', headers: { ...headers, ...dashboard }, body });
    expect(claimed.status).toBe(403);
    const viaDashboard = await gw.api('/api/v1/tokens', {
      method: 'POST',
      headers: { ...headers, ...dashboard, 'x-llmops-proxy-secret': WEB_SECRET },
      body,
    });
    expect(viaDashboard.status).toBe(201);
    // A bearer token is never sent by a browser on its own: no Origin needed.
    const byToken = await gw.api('/api/v1/tokens', {
      method: 'GET',
      headers: { authorization: `Bearer ${callers.editor.token}` },
    });
    expect(byToken.status).toBe(403); // token routes need the admin scope on a token; an editor has none
  });
});
