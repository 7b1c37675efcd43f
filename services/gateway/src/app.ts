import { openApiDocumentRoute, publicDocument } from '@llmops/kit/contracts/document';
import { PUBLIC_ROUTES, type PublicRoute } from '@llmops/kit/contracts/index';
import type { Pool } from '@llmops/kit/db';
import { createServiceApp, type ServiceApp } from '@llmops/kit/http/app';
import { mountHealth, type ReadinessCheck } from '@llmops/kit/http/health';
import type { Logger } from '@llmops/kit/logger';
import type { Metrics } from '@llmops/kit/metrics';
import type { GatewayConfig } from './config.ts';
import { mountDocs } from './routes/docs.ts';
import { mountAccountRoutes } from './routes/accounts.ts';
import { mountAdminRoutes } from './routes/admin.ts';
import { mountEvents } from './routes/events.ts';
import type { ForwardingTrust } from './auth/forwarded.ts';
import { gatewayGuard } from './auth/guard.ts';
import { mountProxy, type ProxyDeps } from './routes/proxy.ts';
import type { CredentialChecker, EventStreams } from './ports.ts';
import type { RateLimiter } from './auth/rate-limit.ts';

/** What the gateway serves with. */
export interface GatewayRuntime {
  pool: Pool;
  auth: CredentialChecker;
  limiter: RateLimiter;
  hub: EventStreams;
  config: GatewayConfig;
  proxy: ProxyDeps;
  /** Origins whose cookie-authenticated writes are accepted besides the request's own. */
  allowedOrigins: readonly string[];
  /** Whose X-Forwarded-* are believed: the dashboard's server (its secret) and trusted proxies. */
  forwarding: ForwardingTrust;
}

export interface GatewayDeps {
  log: Logger;
  readiness: Record<string, ReadinessCheck>;
  runtime: GatewayRuntime;
  /** The proxied routes (default: every service's, from kit's contracts); tests may add their own. */
  routes?: readonly PublicRoute[];
  /** The gateway's metrics: HTTP latency by route, and /metrics behind LLMOPS_METRICS_TOKEN (not a session or API token). */
  metrics?: Metrics;
}

/** The gateway: the only public door (ADRs 0005, 0008). No side effects; tests call `createApp(deps).request(...)`. */
export function createApp({ log, readiness, runtime, routes = PUBLIC_ROUTES, metrics }: GatewayDeps): ServiceApp {
  const app = createServiceApp({
    service: 'gateway',
    log,
    ...(metrics ? { metrics } : {}),
    guard: gatewayGuard({
      auth: runtime.auth,
      limiter: runtime.limiter,
      allowedOrigins: runtime.allowedOrigins,
      forwarding: runtime.forwarding,
    }),
  });
  mountHealth(app, 'gateway', readiness);
  // Built from the contracts alone (ADR 0005), with the routes this gateway proxies; once, when first asked.
  let document: Record<string, unknown> | undefined;
  app.openapi(openApiDocumentRoute, (c) => {
    document ??= publicDocument({ proxied: routes }) as unknown as Record<string, unknown>;
    return c.json(document, 200);
  });
  mountDocs(app);
  mountAccountRoutes(app, runtime);
  mountAdminRoutes(app, runtime);
  mountEvents(app, runtime.hub);
  mountProxy(app, routes, runtime.proxy);
  return app;
}
