/**
 * The authenticated proxy (ADRs 0005, 0006): a request that passes the gateway reaches the owning service
 * at the same path with a signed identity and the request id, its answer comes back as it is (status,
 * ETag, body, streamed), preconditions pass both ways, and credentials never leave the gateway. A stub
 * service of the test's own stands in for a real one, mounted through a contract like theirs. A second
 * stub closes idle connections after 100 ms just as the next request arrives: a repeatable request is
 * sent again (never a 502), any other gets its 502.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoute, z } from '@hono/zod-openapi';
import { errors, IdParamSchema } from '@llmops/kit/contracts/common';
import type { PublicRoute } from '@llmops/kit/contracts/index';
import { IDENTITY_HEADER, verifyIdentity, type Identity } from '@llmops/kit/http/identity';
import { revokeTokenAsOperator } from '@llmops/gateway/operator';
import { startExpiringServer, type ExpiringServer } from '@llmops/kit/testing/expiring-server';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { startGateway, type Caller, type GatewayHarness } from './gateway-support.ts';

const db = await useTestDatabase();
const SECRET = `proxy-test-secret-${'s'.repeat(32)}`;
const WEB_SECRET = `web-proxy-secret-${'w'.repeat(32)}`;

const Item = z.object({ id: z.string(), name: z.string(), seen: z.record(z.string(), z.unknown()) }).openapi('StubItem');

const Flaky = z.object({ answered: z.string() }).openapi('StubFlaky');

const routes: PublicRoute[] = [
  {
    service: 'prompt',
    role: 'viewer',
    scope: 'prompts:read',
    route: createRoute({
      method: 'get',
      path: '/api/v1/stub-items/{id}',
      operationId: 'getStubItem',
      summary: 'A stub read',
      request: { params: IdParamSchema },
      responses: {
        200: { description: 'ok', content: { 'application/json': { schema: Item } } },
        ...errors(400, 401, 403, 404, 429),
      },
    }),
  },
  {
    service: 'prompt',
    role: 'editor',
    scope: 'prompts:write',
    route: createRoute({
      method: 'patch',
      path: '/api/v1/stub-items/{id}',
      operationId: 'updateStubItem',
      summary: 'A stub write',
      request: {
        params: IdParamSchema,
        body: { content: { 'application/json': { schema: z.object({ name: z.string() }) } } },
      },
      responses: {
        200: { description: 'ok', content: { 'application/json': { schema: Item } } },
        ...errors(400, 401, 403, 404, 412, 413, 415, 422, 429),
      },
    }),
  },
  {
    service: 'registry',
    role: 'viewer',
    scope: 'prompts:read',
    route: createRoute({
      method: 'get',
      path: '/api/v1/stub-flaky/{id}',
      operationId: 'getStubFlaky',
      summary: 'A stub read from a service whose idle connections expire',
      request: { params: IdParamSchema },
      responses: {
        200: { description: 'ok', content: { 'application/json': { schema: Flaky } } },
        ...errors(400, 401, 403),
      },
    }),
  },
  {
    service: 'registry',
    role: 'editor',
    scope: 'prompts:write',
    route: createRoute({
      method: 'post',
      path: '/api/v1/stub-flaky',
      operationId: 'createStubFlaky',
      summary: 'A stub create that takes an Idempotency-Key',
      request: {
        headers: z.object({ 'idempotency-key': z.string().optional() }),
        body: { content: { 'application/json': { schema: z.object({ name: z.string() }) } } },
      },
      responses: {
        201: { description: 'made', content: { 'application/json': { schema: Flaky } } },
        ...errors(400, 401, 403),
      },
    }),
  },
];

interface Seen {
  identity: Identity;
  headers: IncomingMessage['headers'];
  body: string;
  url: string;
}

function startStub(): Promise<{ server: Server; url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', async () => {
      const identity = await verifyIdentity(SECRET, String(req.headers[IDENTITY_HEADER]), 'prompt').catch(() => undefined);
      if (!identity) {
        res.writeHead(401, { 'content-type': 'application/problem+json' });
        res.end(JSON.stringify({ type: 'x', title: 'Unauthorized', status: 401 }));
        return;
      }
      seen.push({ identity, headers: req.headers, body, url: req.url ?? '' });
      const id = (req.url ?? '').split('/')[4]?.split('?')[0] ?? '';
      if (req.method === 'PATCH' && req.headers['if-match'] !== '"v1"') {
        res.writeHead(412, { 'content-type': 'application/problem+json', 'x-request-id': 'the-service-must-not-override' });
        res.end(
          JSON.stringify({
            type: 'https://llmops.dev/problems/precondition-failed',
            title: 'Precondition failed',
            status: 412,
            detail: 'changed',
          }),
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', etag: '"v1"', 'set-cookie': 'leak=1' });
      // Two chunks: the gateway streams rather than waits for the whole body.
      res.write(`{"id":${JSON.stringify(id)},"name":"stub",`);
      setTimeout(() => res.end(`"seen":${JSON.stringify({ method: req.method })}}`), 20);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      resolve({ server, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, seen });
    }),
  );
}

const ID = '01936f6e-7c1a-7b2e-9f3c-2b6d1e8a4c5d';

describe('the authenticated proxy', () => {
  let gw: GatewayHarness;
  let stub: Awaited<ReturnType<typeof startStub>>;
  let expiring: ExpiringServer;
  let editor: Caller;
  let viewer: Caller;

  beforeAll(async () => {
    [stub, expiring] = await Promise.all([
      startStub(),
      startExpiringServer((req, res) => {
        req.resume();
        res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ answered: `${req.method} ${req.url}` }));
      }),
    ]);
    gw = await startGateway(db, {
      services: [],
      routes,
      urls: { prompt: stub.url, registry: expiring.url },
      env: { LLMOPS_INTERNAL_SECRET: SECRET, LLMOPS_WEB_PROXY_SECRET: WEB_SECRET },
    });
    [editor, viewer] = [await gw.caller('editor'), await gw.caller('viewer')];
  });
  afterAll(async () => {
    await gw?.stop();
    await new Promise((resolve) => stub?.server.close(resolve));
    await expiring?.close();
  });

  it('documents the proxied routes with their role and scope', () => {
    const operation = gw.api.checker.document.paths['/api/v1/stub-items/{id}']?.patch as Record<string, unknown>;
    expect(operation['x-required-role']).toBe('editor');
    expect(operation['x-required-scope']).toBe('prompts:write');
    expect(operation.security).toEqual([{ session: [] }, { bearer: [] }]);
    expect(String(operation.description)).toContain('Requires');
  });

  it('forwards the signed identity and the request id, never the caller’s credentials, and streams the answer back', async () => {
    const response = await gw.api(`/api/v1/stub-items/${ID}?x=1`, {
      headers: {
        authorization: `Bearer ${viewer.token}`,
        'x-request-id': 'trace-abc.123',
        accept: 'application/json',
        // As the dashboard's server sends it: the client's address, believed for its secret, which goes no further.
        'x-forwarded-for': '203.0.113.5',
        'x-llmops-proxy-secret': WEB_SECRET,
      },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('etag')).toBe('"v1"');
    expect(response.headers.get('x-request-id')).toBe('trace-abc.123');
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(response.headers.get('ratelimit')).toMatch(/^"token";r=\d+;t=\d+$/);
    expect(await response.json()).toEqual({ id: ID, name: 'stub', seen: { method: 'GET' } });
    const last = stub.seen.at(-1) as Seen;
    expect(last.url).toBe(`/api/v1/stub-items/${ID}?x=1`);
    expect(last.identity).toEqual({ kind: 'account', subject: viewer.accountId, role: 'viewer', scopes: expect.any(Array) });
    expect(last.headers['x-request-id']).toBe('trace-abc.123');
    expect(last.headers.authorization).toBeUndefined();
    expect(last.headers.cookie).toBeUndefined();
    expect(last.headers['x-llmops-proxy-secret']).toBeUndefined();
    expect(last.headers['x-forwarded-for']).toBe('203.0.113.5');
    expect(last.headers.accept).toBe('application/json');
  });

  it("reuses an account's assertion only for the same role and scopes, and never for a revoked token", async () => {
    const caller = await gw.caller('editor');
    const admin = await gw.caller('admin');
    const read = (secret: string) => gw.api(`/api/v1/stub-items/${ID}`, { headers: { authorization: `Bearer ${secret}` } });
    const assertion = () => String(stub.seen.at(-1)?.headers[IDENTITY_HEADER]);
    expect((await read(caller.token)).status).toBe(200);
    const first = assertion();
    expect((await read(caller.token)).status).toBe(200);
    expect(assertion()).toBe(first);

    // Another token of the account with fewer scopes: another assertion, carrying those scopes.
    const narrow = await gw.token(caller.email, 'editor', ['prompts:read']);
    expect((await read(narrow.secret)).status).toBe(200);
    expect(assertion()).not.toBe(first);
    expect(stub.seen.at(-1)?.identity).toMatchObject({ role: 'editor', scopes: ['prompts:read'] });

    // A demoted account: the next request carries the new role, not the kept assertion.
    const demote = await gw.api(`/api/v1/accounts/${caller.accountId}`, {
      method: 'PATCH',
      headers: { ...gw.browser(admin), 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'viewer' }),
    });
    expect(demote.status).toBe(200);
    expect((await read(caller.token)).status).toBe(200);
    expect(assertion()).not.toBe(first);
    expect(stub.seen.at(-1)?.identity).toMatchObject({ subject: caller.accountId, role: 'viewer' });

    // A revoked token is refused by the gateway: the kept assertion of its account is never sent.
    const seen = stub.seen.length;
    await revokeTokenAsOperator(db.adminUrl, narrow.id);
    expect((await read(narrow.secret)).status).toBe(401);
    expect(stub.seen.length).toBe(seen);
  });

  it('passes If-Match to the service and its 412 back; the body goes through as it came', async () => {
    const stale = await gw.api(`/api/v1/stub-items/${ID}`, {
      method: 'PATCH',
      headers: { ...gw.browser(editor), 'content-type': 'application/json', 'if-match': '"v0"' },
      body: '{"name":"new"}',
    });
    expect(stale.status).toBe(412);
    expect(stale.headers.get('content-type')).toBe('application/problem+json');
    expect(stale.headers.get('x-request-id')).not.toBe('the-service-must-not-override');
    expect(stub.seen.at(-1)?.headers['if-match']).toBe('"v0"');
    const fresh = await gw.api(`/api/v1/stub-items/${ID}`, {
      method: 'PATCH',
      headers: { ...gw.browser(editor), 'content-type': 'application/json', 'if-match': '"v1"' },
      body: '{"name":"new"}',
    });
    expect(fresh.status).toBe(200);
    expect(stub.seen.at(-1)?.body).toBe('{"name":"new"}');
    expect(stub.seen.at(-1)?.identity).toMatchObject({ subject: editor.accountId, role: 'editor' });
  });

  it('answers 502 problem+json when the service is down', async () => {
    await new Promise((resolve) => stub.server.close(resolve));
    stub.server.closeAllConnections();
    const response = await gw.api(`/api/v1/stub-items/${ID}`, { headers: { authorization: `Bearer ${viewer.token}` } });
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(((await response.json()) as { detail: string }).detail).toMatch(/prompt service did not answer/);
  });

  describe('when a service closes an idle connection just as the gateway sends on it', () => {
    /** A request through the gateway, then the connection it used expires on the service (100 ms idle). */
    async function warmThenExpire(): Promise<void> {
      const warm = await gw.api(`/api/v1/stub-flaky/${ID}`, { headers: { authorization: `Bearer ${viewer.token}` } });
      expect(warm.status).toBe(200);
      await warm.body?.cancel();
      await expiring.lastConnectionExpired();
    }

    it('sends a read again on a new connection: the caller never sees a 502', async () => {
      const statuses: number[] = [];
      for (let round = 0; round < 3; round++) {
        await warmThenExpire();
        const path = `/api/v1/stub-flaky/${ID}?round=${round}`;
        const response = await gw.api(path, { headers: { authorization: `Bearer ${viewer.token}` } });
        statuses.push(response.status);
        expect(await response.json()).toEqual({ answered: `GET ${path}` });
        // It met the closing connection once, then went through on a new one.
        expect(expiring.seen.filter((line) => line === `GET ${path}`)).toHaveLength(2);
      }
      expect(statuses).toEqual([200, 200, 200]);
    });

    it('sends a create with an Idempotency-Key again, and gives a create without one its 502', async () => {
      const create = (key?: string) =>
        gw.api('/api/v1/stub-flaky', {
          method: 'POST',
          headers: {
            authorization: `Bearer ${editor.token}`,
            'content-type': 'application/json',
            ...(key ? { 'idempotency-key': key } : {}),
          },
          body: '{"name":"x"}',
        });
      await warmThenExpire();
      const keyed = await create('k-1');
      expect(keyed.status).toBe(201);
      expect(expiring.seen.filter((line) => line === 'POST /api/v1/stub-flaky')).toHaveLength(2);

      await warmThenExpire();
      const plain = await create();
      expect(plain.status).toBe(502);
      expect(((await plain.json()) as { detail: string }).detail).toMatch(/registry service did not answer \(ECONNRESET\)/);
      // Sent once: the service may have acted on it, so the gateway does not guess.
      expect(expiring.seen.filter((line) => line === 'POST /api/v1/stub-flaky')).toHaveLength(3);
    });
  });
});
