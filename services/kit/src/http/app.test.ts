import { createRoute, z } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.ts';
import { Conflict, PROBLEM_CONTENT_TYPE, type Problem } from '../problem.ts';
import { createServiceApp } from './app.ts';
import { mountHealth } from './health.ts';

const log = createLogger({ service: 'test', level: 'silent' });

function makeApp() {
  const app = createServiceApp({ service: 'test', log, maxBodyBytes: 2048 });
  app.openapi(
    createRoute({
      method: 'post',
      path: '/things',
      request: {
        body: { content: { 'application/json': { schema: z.object({ name: z.string().min(1), count: z.number().int() }) } } },
        query: z.object({ limit: z.coerce.number().int().max(200).optional() }),
      },
      responses: { 201: { description: 'made', content: { 'application/json': { schema: z.object({ name: z.string() }) } } } },
    }),
    (c) => c.json({ name: c.req.valid('json').name }, 201),
  );
  app.get('/conflict', () => {
    throw new Conflict('the thing changed since you read it');
  });
  app.get('/boom', () => {
    throw new Error('secret internals: password=hunter2');
  });
  mountHealth(app, 'test', { database: async () => ({ ok: true }), bus: async () => ({ ok: false, detail: 'not listening' }) });
  return app;
}

const post = (body: string | Uint8Array<ArrayBuffer>, type = 'application/json', path = '/things') =>
  makeApp().request(path, { method: 'POST', body, headers: { 'content-type': type } });

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

  it('hides the internals of unexpected errors behind a 500 problem with the request id', async () => {
    const body = await problem(await makeApp().request('/boom'));
    expect(body.status).toBe(500);
    expect(JSON.stringify(body)).not.toContain('hunter2');
    expect(body.detail).toContain(body.instance);
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
