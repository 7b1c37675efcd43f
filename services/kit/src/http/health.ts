import { createRoute, z } from '@hono/zod-openapi';
import type { ServiceApp } from './app.ts';

export const HealthSchema = z.object({ status: z.literal('ok'), service: z.string() }).openapi('Health');

export const ReadinessSchema = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    service: z.string(),
    checks: z.record(z.string(), z.object({ ok: z.boolean(), detail: z.string().optional() })),
  })
  .openapi('Readiness');

export type ReadinessCheck = () => Promise<{ ok: boolean; detail?: string }>;

export const healthRoute = createRoute({
  method: 'get',
  path: '/healthz',
  operationId: 'getHealth',
  tags: ['Operations'],
  summary: 'Liveness: the process is up',
  description: 'Open (no authentication). Answers as long as the process serves HTTP.',
  responses: { 200: { description: 'The process is up', content: { 'application/json': { schema: HealthSchema } } } },
});

export const readyRoute = createRoute({
  method: 'get',
  path: '/readyz',
  operationId: 'getReadiness',
  tags: ['Operations'],
  summary: 'Readiness: database reachable, schema current, bus listening',
  description: 'Open (no authentication). 503 while any check fails, e.g. while PostgreSQL restarts.',
  responses: {
    200: { description: 'Ready', content: { 'application/json': { schema: ReadinessSchema } } },
    503: {
      description: 'Not ready; `checks` says which check failed',
      content: { 'application/json': { schema: ReadinessSchema } },
    },
  },
});

export const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  operationId: 'getMetrics',
  tags: ['Operations'],
  summary: 'Prometheus metrics of this process',
  description:
    'Every service serves it on its own port. Only with `Authorization: Bearer <LLMOPS_METRICS_TOKEN>` (not a session or API token); 403 while that setting is unset. Series and alerts: docs/operations.md.',
  security: [{ metricsToken: [] }],
  responses: {
    200: {
      description: 'The Prometheus text format (version 0.0.4)',
      content: { 'text/plain': { schema: z.string() } },
    },
    401: { description: 'No metrics token, or another one' },
    403: { description: 'Metrics are off: LLMOPS_METRICS_TOKEN is not set' },
  },
});

/** Mounts /healthz and /readyz. Each readiness check is bounded so a hung database answers 503, not never. */
export function mountHealth(app: ServiceApp, service: string, checks: Record<string, ReadinessCheck>): void {
  app.openapi(healthRoute, (c) => c.json({ status: 'ok' as const, service }, 200));
  app.openapi(readyRoute, async (c) => {
    const results = Object.fromEntries(
      await Promise.all(
        Object.entries(checks).map(async ([name, check]) => [name, await withTimeout(check(), 2_000).catch(failed)] as const),
      ),
    );
    const ready = Object.values(results).every((result) => result.ok);
    return c.json({ status: ready ? ('ready' as const) : ('not_ready' as const), service, checks: results }, ready ? 200 : 503);
  });
}

function failed(error: unknown): { ok: false; detail: string } {
  return { ok: false, detail: error instanceof Error ? error.message : String(error) };
}

/** `promise`, or a rejection when it has not settled within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
