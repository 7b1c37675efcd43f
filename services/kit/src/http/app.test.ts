import { createRoute, z } from '@hono/zod-openapi';
import type { MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.ts';
import { Conflict, PROBLEM_CONTENT_TYPE, Unauthorized, type Problem } from '../problem.ts';
import { createServiceApp, type AppEnv } from './app.ts';
import { mountHealth } from './health.ts';

const log = createLogger({ service: 'test', level: 'silent' });
const made = { 201: { description: 'made', content: { 'application/json': { schema: z.object({ name: z.string() }) } } } };

/** Lets a request through only with `authorization: yes`, as the gateway's guard lets only callers through. */
const needsCredentials: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.header('authorization') !== 'yes') throw new Unauthorized();
  return next();
};

function makeApp({ guard }: { guard?: MiddlewareHandler<AppEnv> } = {}) {
  const app = createServiceApp({ service: 'test', log, maxBodyBytes: 2048, ...(guard ? { guard } : {}) });
  app.openapi(
    createRoute({
      method: 'post',
      path: '/things',
      request: {
        body: {
          required: true,
          content: {
            'application/json': {
              schema: z.object({
                name: z.string().min(1),
                count: z.number().int(),
                parts: z.array(z.object({ size: z.number() })).optional(),
              }),
            },
          },
        },
        query: z.object({ limit: z.coerce.number().int().max(200).optional(), q: z.string().optional() }),
      },
      responses: made,
    }),
    (c) => c.json({ name: c.req.valid('json').name }, 201),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/things/{id}/publish',
      request: {
        params: z.object({ id: z.string() }),
        body: { content: { 'application/json': { schema: z.object({ message: z.string().default('none given') }).strict() } } },
      },
      responses: made,
    }),
    (c) => c.json({ name: c.req.valid('json').message }, 201),
  );
  app.openapi(
    createRoute({
      method: 'post',
      path: '/things/{id}/cancel',
      request: { params: z.object({ id: z.string() }) },
      responses: made,
    }),
    (c) => c.json({ name: `cancelled ${c.req.valid('param').id}` }, 201),
  );
  app.openapi(
    createRoute({
      method: 'get',
      path: '/things',
      request: { query: z.object({ q: z.string().optional(), tag: z.array(z.string()).optional() }) },
      responses: { 200: made[201] },
    }),
    (c) => c.json({ name: c.req.valid('query').q ?? '' }, 200),
  );
  app.get('/conflict', () => {
    throw new Conflict('the thing changed since you read it');
  });
  app.get('/teapot', () => {
    throw new HTTPException(409, { message: 'refused by a library' });
  });
  app.get('/boom', () => {
    throw new Error('secret internals: password=hunter2');
  });
  mountHealth(app, 'test', { database: async () => ({ ok: true }), bus: async () => ({ ok: false, detail: 'not listening' }) });
  return app;
}

const post = (body: string | Uint8Array<ArrayBuffer>, type = 'application/json', path = '/things') =>
  makeApp().request(path, { method: 'POST', body, headers: { 'content-type': type } });

/**
 * A POST as node's HTTP server hands it to the app: with `curl -X POST` there is no Content-Length and
 * no Content-Type, yet the request has a (zero-byte) body stream.
 */
const bare = (path: string, headers: Record<string, string> = {}, app = makeApp()) =>
  app.request(path, {
    method: 'POST',
    body: new ReadableStream({ start: (c) => c.close() }),
    duplex: 'half',
    headers,
  } as RequestInit);

async function problem(response: Response): Promise<Problem> {
  expect(response.headers.get('content-type')).toBe(PROBLEM_CONTENT_TYPE);
  return (await response.json()) as Problem;
}

describe('the service app', () => {
  it('accepts a valid JSON body and tags the response with a request id', async () => {
    const response = await post(JSON.stringify({ name: 'a', count: 1 }));
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ name: 'a' });
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('keeps a well-formed incoming request id and puts it in problems', async () => {
    const response = await makeApp().request('/conflict', { headers: { 'x-request-id': 'req-123' } });
    expect(response.headers.get('x-request-id')).toBe('req-123');
    expect(await problem(response)).toMatchObject({
      status: 409,
      instance: 'req-123',
      detail: 'the thing changed since you read it',
    });
  });

  it('lists every invalid field of a body at once (422)', async () => {
    const response = await post(JSON.stringify({ name: '', count: 1.5 }));
    expect(response.status).toBe(422);
    const body = await problem(response);
    expect(body.errors?.map((e) => e.field).sort()).toEqual(['body.count', 'body.name']);
  });

  it('names a field inside a list with the index in brackets, as everywhere else', async () => {
    const body = await problem(await post(JSON.stringify({ name: 'a', count: 1, parts: [{ size: 1 }, { size: 'x' }] })));
    expect(body.errors?.map((e) => e.field)).toEqual(['body.parts[1].size']);
    expect(body.detail).toContain('body.parts[1].size: ');
  });

  it('answers a bad query parameter with 400 naming it', async () => {
    const response = await post(JSON.stringify({ name: 'a', count: 1 }), 'application/json', '/things?limit=500');
    expect(response.status).toBe(400);
    expect((await problem(response)).errors?.[0]?.field).toBe('query.limit');
  });

  it('refuses malformed JSON, other content types and invalid UTF-8 with 4xx problems', async () => {
    expect((await post('{"name":')).status).toBe(400);
    expect((await post('name=a', 'application/x-www-form-urlencoded')).status).toBe(415);
    expect((await post('{}', 'application/json; charset=latin1')).status).toBe(415);
    const invalidUtf8 = new Uint8Array([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]);
    const response = await post(invalidUtf8);
    expect(response.status).toBe(400);
    expect((await problem(response)).detail).toContain('not valid UTF-8');
  });

  it('refuses NUL characters and lone surrogates in any string, naming the field', async () => {
    const nul = await problem(await post('{"name":"a\\u0000b","count":1}'));
    expect(nul).toMatchObject({ status: 400, errors: [{ field: 'body.name' }] });
    const surrogate = await problem(await post('{"name":"ok","count":1,"tags":["\\ud800"]}'));
    expect(surrogate.errors?.[0]?.field).toBe('body.tags[0]');
  });

  it('refuses deeply nested JSON and bodies over the limit', async () => {
    expect((await post('['.repeat(100) + ']'.repeat(100))).status).toBe(400);
    const large = await post(JSON.stringify({ name: 'x'.repeat(4000), count: 1 }));
    expect(large.status).toBe(413);
    expect((await problem(large)).title).toBe('Payload too large');
  });

  it('answers an empty body the route needs with a 400 naming `body`, whatever the headers say', async () => {
    for (const response of [
      await post(''),
      await bare('/things'),
      await bare('/things', { 'content-type': 'application/json' }),
      await makeApp().request('/things', {
        method: 'POST',
        headers: { 'content-length': '0', 'content-type': 'application/json' },
      }),
    ]) {
      expect(response.status).toBe(400);
      expect(await problem(response)).toMatchObject({
        detail: expect.stringContaining('needs a JSON body'),
        errors: [{ field: 'body' }],
      });
    }
  });

  it('serves a POST without a body where the route takes none or an optional one, with or without a Content-Type', async () => {
    for (const headers of [{}, { 'content-type': 'application/json' }] as Record<string, string>[]) {
      const cancelled = await bare('/things/7/cancel', headers);
      expect(cancelled.status).toBe(201);
      expect(await cancelled.json()).toEqual({ name: 'cancelled 7' });
      // A missing optional body is validated as `{}`, so the route sees the schema's defaults.
      const published = await bare('/things/7/publish', headers);
      expect(published.status).toBe(201);
      expect(await published.json()).toEqual({ name: 'none given' });
    }
    const given = await post('{"message":"v2"}', 'application/json', '/things/7/publish');
    expect(await given.json()).toEqual({ name: 'v2' });
    const wrong = await post('{"message":"v2","extra":1}', 'application/json', '/things/7/publish');
    expect((await problem(wrong)).errors).toEqual([expect.objectContaining({ field: 'body' })]);
  });

  it('refuses NUL, lone surrogates and invalid UTF-8 in query parameters with a 400 naming the parameter', async () => {
    for (const raw of ['a%00b', '%ED%A0%80', '%C3%28', '%FF', '%E2%82', '%']) {
      for (const path of [`/things?q=${raw}`, `/things?tag=ok&tag=${raw}`]) {
        const response = await makeApp().request(path);
        expect(response.status, path).toBe(400);
        expect((await problem(response)).errors?.[0]?.field, path).toBe(path.includes('tag') ? 'query.tag' : 'query.q');
      }
    }
    const fine = await makeApp().request('/things?q=caf%C3%A9%20%F0%9F%98%80+ok');
    expect(await fine.json()).toEqual({ name: 'café 😀 ok' });
    const path = await makeApp().request('/things/a%00b/cancel', { method: 'POST' });
    expect((await problem(path)).errors?.[0]?.field).toBe('path');
  });

  it('checks credentials before it reads the body, but keeps the body limit for what passes', async () => {
    const app = makeApp({ guard: needsCredentials });
    const refused = [
      await app.request('/things', { method: 'POST', body: '{"name":', headers: { 'content-type': 'application/json' } }),
      await app.request('/things', { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } }),
      await app.request('/things', { method: 'POST', body: 'x'.repeat(4000), headers: { 'content-type': 'application/json' } }),
      await app.request('/things?q=%00', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }),
      await bare('/things', {}, app),
    ];
    for (const response of refused) expect((await problem(response)).status).toBe(401);
    const large = await app.request('/things', {
      method: 'POST',
      body: 'x'.repeat(4000),
      headers: { 'content-type': 'application/json', authorization: 'yes' },
    });
    expect(large.status).toBe(413);
  });

  it('counts a chunked body against the limit without replacing the request the guard saw', async () => {
    // A guard that remembers its caller by the Request, as the gateway's does.
    const seen = new WeakSet<Request>();
    const remembering: MiddlewareHandler<AppEnv> = async (c, next) => {
      seen.add(c.req.raw);
      await next();
    };
    const app = makeApp({ guard: remembering });
    app.use('/remembered', async (c, next) => {
      if (!seen.has(c.req.raw)) throw new Conflict('the request the guard saw was replaced');
      await next();
    });
    app.post('/remembered', (c) => c.json({ name: 'same request' }, 201));
    const chunked = (text: string) =>
      app.request('/remembered', {
        method: 'POST',
        body: new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode(text));
            controller.close();
          },
        }),
        duplex: 'half',
        headers: { 'content-type': 'application/json' },
      } as RequestInit);
    const small = await chunked('{"name":"a"}');
    expect(await small.json()).toEqual({ name: 'same request' });
    expect((await chunked(JSON.stringify({ name: 'x'.repeat(4000) }))).status).toBe(413);
  });

  it('hides the internals of unexpected errors behind a 500 problem with the request id', async () => {
    const body = await problem(await makeApp().request('/boom'));
    expect(body.status).toBe(500);
    expect(JSON.stringify(body)).not.toContain('hunter2');
    expect(body.detail).toContain(body.instance);
  });

  it("answers a library's own 4xx refusal as a problem with its status, not as a 500", async () => {
    expect(await problem(await makeApp().request('/teapot'))).toMatchObject({
      status: 409,
      title: 'Conflict',
      detail: 'refused by a library',
    });
  });

  it('answers unknown routes with a 404 problem', async () => {
    const response = await makeApp().request('/nope');
    expect(response.status).toBe(404);
    expect((await problem(response)).detail).toContain('GET /nope');
  });

  it('reports readiness per check, 503 while one fails', async () => {
    const response = await makeApp().request('/readyz');
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({
      status: 'not_ready',
      service: 'test',
      checks: { database: { ok: true }, bus: { ok: false, detail: 'not listening' } },
    });
    expect((await makeApp().request('/healthz')).status).toBe(200);
  });
});

describe('a service app served by node', () => {
  /** POSTs `chunks` (written one by one: chunked, no Content-Length) or one string on a kept-alive connection. */
  function post(
    agent: Agent,
    url: string,
    body: string | string[],
  ): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
    return new Promise((resolve, reject) => {
      const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      });
      req.on('error', reject);
      if (typeof body === 'string') req.end(body);
      else {
        for (const chunk of body) req.write(chunk);
        req.end();
      }
    });
  }

  it('reads bodies from the node request with the same limit, checks and answers as the web Request', async () => {
    const app = makeApp();
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
    await new Promise((resolve) => server.once('listening', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/things`;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const made = await post(agent, url, ['{"name":', '"a","count":1}']);
      expect(made.status).toBe(201);
      expect(JSON.parse(made.text)).toEqual({ name: 'a' });
      expect(made.headers['x-request-id']).toEqual(expect.any(String));
      expect(made.headers['content-length']).toBe(String(Buffer.byteLength(made.text)));
      const invalid = await post(agent, url, '{"name":"a\\u0000b","count":1}');
      expect(JSON.parse(invalid.text)).toMatchObject({ status: 400, errors: [{ field: 'body.name' }] });
      expect((await post(agent, url, '{"name":"a"}')).status).toBe(422);
      // Over the limit (2048 bytes) with a Content-Length, and chunked without one: 413 either way.
      const declared = await post(agent, url, JSON.stringify({ name: 'x'.repeat(4000), count: 1 }));
      expect(JSON.parse(declared.text)).toMatchObject({ status: 413, title: 'Payload too large' });
      const chunked = await post(
        agent,
        url,
        Array.from({ length: 10 }, () => 'x'.repeat(500)),
      );
      expect(JSON.parse(chunked.text)).toMatchObject({ status: 413, instance: chunked.headers['x-request-id'] });
      expect((await post(agent, url, '{"name":"after","count":2}')).text).toBe('{"name":"after"}');
    } finally {
      agent.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
