import type { RouteConfig } from '@hono/zod-openapi';
import { annotate } from '@llmops/kit/contracts/document';
import type { GatewayRoute } from '@llmops/kit/contracts/gateway';
import { requireAccess } from '../auth/guard.ts';

/** A gateway route as `app.openapi` takes it: annotated for the document, its access checked before validation. */
export function withAccess<R extends RouteConfig>(route: R, gatewayRoutes: readonly GatewayRoute[]): R {
  const entry = gatewayRoutes.find((candidate) => candidate.route === route);
  if (!entry) throw new Error(`${route.method.toUpperCase()} ${route.path} is not in GATEWAY_ROUTES`);
  return { ...annotate(route, entry.access), middleware: [requireAccess(entry.access)] };
}
