import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startExpiringServer, type ExpiringServer } from '@llmops/kit/testing/expiring-server';
import { createServiceClient, type ServiceClient } from './service-client.ts';

/** The runner's calls to the registry and the prompt service when the service closes an idle connection as a call arrives. */
describe("the runner's service client", () => {
  let server: ExpiringServer;
  let client: ServiceClient;

  beforeAll(async () => {
    server = await startExpiringServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ answered: `${req.method} ${req.url}` }));
    });
    client = createServiceClient({ url: server.url, audience: 'prompt', secret: 's'.repeat(40) });
  });
  afterAll(() => server?.close());

  async function expiredConnection(): Promise<void> {
    expect((await client.get('/warm', 'r-1')).status).toBe(200);
    await server.lastConnectionExpired();
  }

  it('sends a read and a render its contract marks idempotent again on a new connection', async () => {
    await expiredConnection();
    expect(await client.get('/api/v1/templates/t', 'r-2')).toEqual({
      status: 200,
      body: { answered: 'GET /api/v1/templates/t' },
    });
    await expiredConnection();
    const rendered = await client.post('/internal/render', { template_id: 't' }, 'r-3', { idempotent: true });
    expect(rendered.status).toBe(200);
    expect(server.seen.filter((line) => line === 'POST /internal/render')).toHaveLength(2);
  });

  it('answers 503 for any other write, sent once', async () => {
    await expiredConnection();
    await expect(client.post('/api/v1/things', {}, 'r-4')).rejects.toMatchObject({ status: 503 });
    expect(server.seen.filter((line) => line === 'POST /api/v1/things')).toHaveLength(1);
  });

  it('takes a busy service (429) as no answer: a 503 with its Retry-After, so nothing is created on a guess', async () => {
    const busy = () =>
      Promise.resolve(
        new Response(JSON.stringify({ status: 429, detail: 'You already have 33 render(s) running or waiting' }), {
          status: 429,
          headers: { 'content-type': 'application/problem+json', 'retry-after': '2' },
        }),
      );
    const prompt = createServiceClient({ url: 'http://prompt.invalid', audience: 'prompt', secret: 'x'.repeat(32), fetch: busy });
    await expect(prompt.post('/internal/render', {}, 'req-1')).rejects.toMatchObject({
      status: 503,
      headers: { 'Retry-After': '2' },
    });
  });
});
