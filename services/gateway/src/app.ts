import { createServiceApp, type ServiceApp } from '@llmops/kit/http/app';
import { mountHealth, type ReadinessCheck } from '@llmops/kit/http/health';
import type { Logger } from '@llmops/kit/logger';
import { createRoute, z } from '@hono/zod-openapi';
import { mountDocs } from './docs.ts';
import { OPENAPI_PATH, publicDocument } from './openapi.ts';

export interface GatewayDeps {
  log: Logger;
  readiness: Record<string, ReadinessCheck>;
}

const documentRoute = createRoute({
  method: 'get',
  path: OPENAPI_PATH,
  tags: ['Operations'],
  summary: 'This OpenAPI 3.1 document',
  description: 'Open (no authentication). The interactive reference at /api/v1/docs reads it.',
  responses: {
    200: {
      description: 'The OpenAPI 3.1 document of the public API',
      content: { 'application/json': { schema: z.record(z.string(), z.unknown()).openapi({ type: 'object' }) } },
    },
  },
});

/** The gateway: the only public door (DESIGN D1, D4). No side effects; tests call `createApp(deps).request(...)`. */
export function createApp({ log, readiness }: GatewayDeps): ServiceApp {
  const app = createServiceApp({ service: 'gateway', log });
  mountHealth(app, 'gateway', readiness);
  let document: unknown;
  app.openapi(documentRoute, (c) => {
    document ??= publicDocument(app);
    return c.json(document as Record<string, unknown>, 200);
  });
  mountDocs(app);
  return app;
}
