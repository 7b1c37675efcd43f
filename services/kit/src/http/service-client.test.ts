import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRoute, z } from '@hono/zod-openapi';
import { errors, IdParamSchema, json } from '../contracts/common.ts';
import { internalRender } from '../contracts/prompt.ts';
import { getModel } from '../contracts/registry.ts';
import { startExpiringServer, type ExpiringServer } from '../testing/expiring-server.ts';
import { IDENTITY_HEADER, ON_BEHALF_OF_HEADER, verifyIdentity } from './identity.ts';
import { createServiceClient, type ServiceClient } from './service-client.ts';

const SECRET = 's'.repeat(40);
const MODEL = '01936f6e-7c1a-7b2e-9f3c-2b6d1e8a4c5d';
const seenHeaders: Record<string, string | string[] | undefined>[] = [];

const listThings = createRoute({
  method: 'get',
  path: '/api/v1/things',
  operationId: 'listThings',
  request: { query: z.object({ limit: z.coerce.number().optional(), tag: z.array(z.string()).optional() }) },
  responses: { 200: json(z.object({ answered: z.string() }), 'ok'), ...errors(400) },
});
const createThing = createRoute({
  method: 'post',
  path: '/api/v1/things/{id}',
  operationId: 'createThing',
  request: { params: IdParamSchema, body: { content: { 'application/json': { schema: z.object({ name: z.string() }) } } } },
  responses: { 201: json(z.object({ answered: z.string() }), 'ok'), ...errors(404, 422) },
});

/** Another service's calls when that service closes an idle connection as a call arrives, refuses, or is busy. */
describe('the service client', () => {
  let server: ExpiringServer;
  let client: ServiceClient;

  beforeAll(async () => {
    server = await startExpiringServer((req, res) => {
      seenHeaders.push(req.headers);
      req.resume();
      if (req.url?.startsWith('/api/v1/models/')) {
        res.writeHead(404, { 'content-type': 'application/problem+json' });
        res.end(
          JSON.stringify({
            type: 'https://llmops.dev/problems/not-found',
            title: 'Not found',
            status: 404,
            detail: 'No such model.',
          }),
        );
        return;
      }
      res.writeHead(req.method === 'POST' && req.url !== '/internal/render' ? 201 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ answered: `${req.method} ${req.url}` }));
    });
    client = createServiceClient({ caller: 'runner', service: 'prompt', url: server.url, secret: SECRET });
  });
  afterAll(() => server?.close());

  async function expiredConnection(): Promise<void> {
    expect((await client.call(listThings, { requestId: 'warm' })).ok).toBe(true);
    await server.lastConnectionExpired();
  }

  it("fills the route's path, query and body, and types its answer", async () => {
    const listed = await client.call(listThings, { query: { limit: 5, tag: ['a', 'b c'] }, requestId: 'r-1' });
    expect(listed).toEqual({ ok: true, status: 200, body: { answered: 'GET /api/v1/things?limit=5&tag=a&tag=b+c' } });
    const created = await client.call(createThing, { params: { id: MODEL }, body: { name: 'x' }, requestId: 'r-2' });
    expect(created.ok && created.body.answered).toBe(`POST /api/v1/things/${MODEL}`);
  });

  it('signs as the calling service for the called one, with the request id and for whom it calls', async () => {
    await client.call(internalRender, {
      body: { template_id: MODEL, inputs: {} },
      requestId: 'r-3',
      onBehalfOf: 'account:acc-1',
    });
    const headers = seenHeaders.at(-1) ?? {};
    expect(await verifyIdentity(SECRET, String(headers[IDENTITY_HEADER]), 'prompt')).toEqual({
      kind: 'service',
      subject: 'runner',
    });
    expect(headers['x-request-id']).toBe('r-3');
    expect(headers[ON_BEHALF_OF_HEADER]).toBe('account:acc-1');
  });

  it("gives a refusal as the service's problem", async () => {
    const registry = createServiceClient({ caller: 'prompt', service: 'registry', url: server.url, secret: SECRET });
    expect(await registry.call(getModel, { params: { id: MODEL }, requestId: 'r-4' })).toEqual({
      ok: false,
      status: 404,
      problem: { type: 'https://llmops.dev/problems/not-found', title: 'Not found', status: 404, detail: 'No such model.' },
    });
  });

  it('sends a read and a route its contract marks idempotent again on a new connection', async () => {
    await expiredConnection();
    expect((await client.call(listThings, { requestId: 'r-5' })).ok).toBe(true);
    await expiredConnection();
    const rendered = await client.call(internalRender, { body: { template_id: MODEL, inputs: {} }, requestId: 'r-6' });
    expect(rendered.ok).toBe(true);
    expect(server.seen.filter((line) => line === 'POST /internal/render')).toHaveLength(3);
  });

  it('answers 503 for any other write met by a reset, sent once', async () => {
    await expiredConnection();
    const before = server.seen.length;
    await expect(
      client.call(createThing, { params: { id: MODEL }, body: { name: 'x' }, requestId: 'r-7' }),
    ).rejects.toMatchObject({
      status: 503,
    });
    expect(server.seen.slice(before)).toEqual([`POST /api/v1/things/${MODEL}`]);
  });

  it('takes a busy service (429) or a failing one (5xx) as no answer: a 503 with its Retry-After', async () => {
    const answering = (status: number, headers: Record<string, string>) =>
      createServiceClient({
        caller: 'runner',
        service: 'prompt',
        url: 'http://prompt.invalid',
        secret: SECRET,
        fetch: () => Promise.resolve(new Response(JSON.stringify({ status, detail: 'busy' }), { status, headers })),
      });
    await expect(
      answering(429, { 'retry-after': '2' }).call(internalRender, { body: { template_id: MODEL }, requestId: 'r' }),
    ).rejects.toMatchObject({
      status: 503,
      headers: { 'Retry-After': '2' },
    });
    await expect(answering(502, {}).call(listThings, { requestId: 'r' })).rejects.toMatchObject({
      status: 503,
      headers: { 'Retry-After': '5' },
      message: expect.stringContaining('The prompt service answered 502'),
    });
  });

  it('takes a service that does not answer in time as no answer', async () => {
    const silent = createServiceClient({
      caller: 'runner',
      service: 'registry',
      url: 'http://registry.invalid',
      secret: SECRET,
      timeoutMs: 50,
      fetch: (_url, init) =>
        new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason as Error))),
    });
    await expect(silent.call(getModel, { params: { id: MODEL }, requestId: 'r' })).rejects.toMatchObject({
      status: 503,
      message: expect.stringContaining('The registry service did not answer'),
    });
  });
});

/** The same rules over the client's own transport (node:http, no fetch in between), against a real server. */
describe('the service client over its own transport', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      if (req.url === '/api/v1/things?limit=1') {
        res.writeHead(429, { 'content-type': 'application/problem+json', 'retry-after': '3' });
        res.end(JSON.stringify({ type: 'about:blank', title: 'Too many', status: 429 }));
      } else if (req.url?.startsWith('/api/v1/models/')) {
        // Never answers: the call's own deadline ends it.
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ answered: `${req.method} ${req.url}`, identity: req.headers[IDENTITY_HEADER] !== undefined }));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('answers, refuses a busy service with its Retry-After, and gives up on a silent one at its deadline', async () => {
    const client = createServiceClient({ caller: 'runner', service: 'registry', url, secret: SECRET, timeoutMs: 200 });
    expect(await client.call(listThings, { query: { tag: ['é'] }, requestId: 'r' })).toEqual({
      ok: true,
      status: 200,
      body: { answered: 'GET /api/v1/things?tag=%C3%A9', identity: true },
    });
    await expect(client.call(listThings, { query: { limit: 1 }, requestId: 'r' })).rejects.toMatchObject({
      status: 503,
      headers: { 'Retry-After': '3' },
    });
    await expect(client.call(getModel, { params: { id: MODEL }, requestId: 'r' })).rejects.toMatchObject({
      status: 503,
      message: expect.stringContaining('The registry service did not answer'),
    });
  });
});
