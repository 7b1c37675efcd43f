import { createRoute, z } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import { createServiceApp } from './http/app.ts';
import { createLogger } from './logger.ts';
import { bearerMatches, createMetrics } from './metrics.ts';

const log = createLogger({ service: 'test', level: 'silent' });
const TOKEN = 't'.repeat(40);

function appWith(token: string | undefined) {
  const metrics = createMetrics({ service: 'test', token });
  const app = createServiceApp({ service: 'test', log, metrics });
  app.openapi(
    createRoute({
      method: 'get',
      path: '/things/{id}',
      request: { params: z.object({ id: z.string() }) },
      responses: { 200: { description: 'a thing', content: { 'application/json': { schema: z.object({ id: z.string() }) } } } },
    }),
    (c) => c.json({ id: c.req.valid('param').id }, 200),
  );
  return app;
}

describe('/metrics of a service', () => {
  it('is off (403, naming the setting) without a metrics token', async () => {
    const response = await appWith(undefined).request('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { detail: string }).detail).toMatch(/LLMOPS_METRICS_TOKEN/);
  });

  it('times requests by route pattern, not by their path, and unknown paths as one series', async () => {
    const app = appWith(TOKEN);
    for (const id of ['a', 'b', 'c']) expect((await app.request(`/things/${id}`)).status).toBe(200);
    expect((await app.request('/no/such/path/123')).status).toBe(404);
    const response = await app.request('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toMatch(
      /llmops_http_request_duration_seconds_count\{service="test",method="GET",route="\/things\/:id",status="200"\} 3/,
    );
    expect(text).toMatch(
      /llmops_http_request_duration_seconds_count\{service="test",method="GET",route="unmatched",status="404"\} 1/,
    );
    expect(text).not.toMatch(/\/things\/a|\/no\/such/);
  });
});

describe('the metrics token check', () => {
  it('takes only `Bearer <the token>`', () => {
    expect(bearerMatches(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerMatches(`bearer ${TOKEN} `, TOKEN)).toBe(true);
    expect(bearerMatches(`Bearer ${TOKEN}x`, TOKEN)).toBe(false);
    expect(bearerMatches(TOKEN, TOKEN)).toBe(false);
    expect(bearerMatches(undefined, TOKEN)).toBe(false);
  });
});
