import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { matchedRoutes } from 'hono/route';
import type { PublicRoute } from '../contracts/index.ts';
import type { Logger } from '../logger.ts';
import { bearerMatches, METRICS_PATH, type Metrics } from '../metrics.ts';
import {
  BadRequest,
  fieldPath,
  Forbidden,
  HttpProblem,
  NotFound,
  PROBLEM_CONTENT_TYPE,
  Unauthorized,
  Unprocessable,
  type FieldProblem,
  type Problem,
} from '../problem.ts';
import type { ServiceName } from '../services.ts';
import { requireRole } from './access.ts';
import { bindAudit, type Audit } from './audit.ts';
import { routeWithJsonBody, strictJsonBody, type ValidationHook } from './body.ts';
import { mountHealth, type ReadinessCheck } from './health.ts';
import { bindIdempotency, type Idempotent } from './idempotency.ts';
import { requireIdentity, type Identity } from './identity.ts';
import { Spans } from './spans.ts';
import { findUrlProblem } from './strings.ts';

export const MAX_BODY_BYTES = 1024 * 1024;

/** What every request carries through the middleware of a service. */
export interface AppEnv {
  Variables: {
    requestId: string;
    log: Logger;
    identity: Identity;
    /**
     * Bound by `createInternalApp` to the service: records a change by the request's identity
     * (./audit.ts), and honours `Idempotency-Key` on the service's own table (./idempotency.ts). The
     * gateway's callers are principals, not identities: it records its changes with `recordAudit`.
     */
    audit: Audit;
    idempotent: Idempotent;
    /** Named parts of the request's time, logged with its request line (./spans.ts). */
    spans: Spans;
  };
}

export type ServiceApp = OpenAPIHono<AppEnv>;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Sets a header on the answer a handler already made. `c.header` after the handler rebuilds the answer as
 * a full web Response whose body @hono/node-server then streams, about 20 µs of CPU per request (issue 14,
 * docs/bench.md); the answer's own headers are changed in place instead, unless they cannot be (a
 * `fetch` Response's), where `c.header` still does it.
 */
export function setAnswerHeader(c: Context, name: string, value: string): void {
  const headers = c.res.headers;
  if (headers.get(name) === value) return;
  try {
    headers.set(name, value);
  } catch {
    c.header(name, value);
  }
}

/** A problem+json response; the one place error bodies are made. */
export function problemResponse(c: Context, problem: Problem, headers: Record<string, string> = {}): Response {
  return c.newResponse(JSON.stringify(problem), problem.status as 400, { ...headers, 'Content-Type': PROBLEM_CONTENT_TYPE });
}

/**
 * The zod-openapi hook: a request that fails its route's schema gets every problem at once, by field.
 * A body that does not fit is 422; a bad path, query or header is 400.
 */
export function validationHook(
  result: { target: string; success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } },
  c: Context<AppEnv>,
): Response | undefined {
  if (result.success || !result.error) return undefined;
  const place = result.target === 'json' ? 'body' : result.target;
  const errors: FieldProblem[] = result.error.issues.map((issue) => ({
    field: fieldPath(place, ...issue.path),
    message: issue.message,
  }));
  const detail = errors.map((e) => `${e.field}: ${e.message}`).join('; ');
  const problem = result.target === 'json' ? new Unprocessable(detail, errors) : new BadRequest(detail, errors);
  return problemResponse(c, problem.toProblem(c.get('requestId')));
}

export interface ServiceAppOptions {
  service: string;
  log: Logger;
  /** Authentication (e.g. identity): runs before the request's URL and body are looked at. */
  guard?: MiddlewareHandler<AppEnv>;
  maxBodyBytes?: number;
  /** The service's contract entries: each route mounted with `app.openapi` checks its least role first. */
  routes?: readonly PublicRoute[];
  /** The service's metrics: HTTP latency by route is recorded, and `/metrics` served (../metrics.ts). */
  metrics?: Metrics;
}

/**
 * The route pattern that answered (`/api/v1/tasks/:id`), never the raw path, so the series stay few:
 * the last matched route of a method (middleware is `ALL`), even when a guard refused before it ran;
 * `unmatched` for a path no route has.
 */
function routeOf(c: Context): string {
  return matchedRoutes(c).findLast((route) => route.method !== 'ALL')?.path ?? 'unmatched';
}

/** GET /metrics: the Prometheus text, to a caller with the metrics token only (docs/operations.md#metrics). */
function serveMetrics(service: string, metrics: Metrics): MiddlewareHandler<AppEnv> {
  return async (c) => {
    if (metrics.token === undefined)
      throw new Forbidden(
        `Metrics are off on the ${service} service: set LLMOPS_METRICS_TOKEN and scrape with \`Authorization: Bearer <token>\`.`,
      );
    if (!bearerMatches(c.req.header('authorization'), metrics.token))
      throw new Unauthorized('Send the metrics token (LLMOPS_METRICS_TOKEN) as `Authorization: Bearer <token>`.');
    const { body, contentType } = await metrics.scrape();
    return c.body(body, 200, { 'Content-Type': contentType, 'Cache-Control': 'no-store' });
  };
}

/** The ADR 0013 string rules for the URL: a NUL, a lone surrogate or invalid UTF-8 in the path or query is a 400. */
function strictUrl(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const problem = findUrlProblem(new URL(c.req.url));
    if (problem) throw new BadRequest(`${problem.field}: ${problem.message}`, [problem]);
    return next();
  };
}

/**
 * A Hono app with what every service shares: request ids, request logs, the guard, strict URLs, body
 * limit, strict JSON, problem+json for every error, the validation hook. Credentials come first: a
 * caller the guard refuses gets 401 whatever its body, and its body is never read. Every contract route
 * mounted with `app.openapi` has its JSON body checked by kit (./body.ts). No side effects: tests call
 * `app.request('/x')` without a port.
 */
export function createServiceApp({
  service,
  log,
  guard,
  maxBodyBytes = MAX_BODY_BYTES,
  routes = [],
  metrics,
}: ServiceAppOptions): ServiceApp {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const mount = app.openapi;
  const leastRole = new Map(routes.map(({ route, role }) => [route.operationId, role]));
  app.openapi = ((route, handler, hook) => {
    const role = route.operationId === undefined ? undefined : leastRole.get(route.operationId);
    const guarded = role ? { ...route, middleware: [requireRole(role), ...[route.middleware ?? []].flat()] } : route;
    return mount(
      routeWithJsonBody(guarded, (hook as ValidationHook | undefined) ?? validationHook, (documented) =>
        app.openAPIRegistry.registerPath(documented),
      ),
      handler,
      hook,
    );
  }) as ServiceApp['openapi'];

  app.use(async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const reqLog = log.child({ reqId: requestId });
    const started = performance.now();
    const spans = new Spans(started);
    c.set('requestId', requestId);
    c.set('log', reqLog);
    c.set('spans', spans);
    await next();
    setAnswerHeader(c, 'X-Request-Id', requestId);
    const path = c.req.path;
    const quiet = path === '/healthz' || path === '/readyz' || path === METRICS_PATH;
    const ms = performance.now() - started;
    reqLog[quiet ? 'debug' : 'info'](
      { method: c.req.method, path, status: c.res.status, ms: Math.round(ms * 10) / 10, spans: spans.recorded() },
      'request',
    );
    metrics?.observeRequest({ method: c.req.method, route: routeOf(c), status: c.res.status, seconds: ms / 1000 });
  });

  // Before the guard: a scraper holds the metrics token, not an identity, a session or an API token.
  if (metrics) app.get(METRICS_PATH, serveMetrics(service, metrics));
  if (guard) app.use(guard);
  app.use(strictUrl());
  app.use(strictJsonBody(maxBodyBytes));

  app.notFound((c) =>
    problemResponse(
      c,
      new NotFound(`No route ${c.req.method} ${c.req.path} on the ${service} service.`).toProblem(c.get('requestId')),
    ),
  );

  app.onError((error, c) => {
    const requestId = c.get('requestId');
    if (error instanceof HttpProblem) return problemResponse(c, error.toProblem(requestId), error.headers);
    // Hono's own refusals (a validator's, a media-type gate's) keep their 4xx status, as a problem.
    if (error instanceof HTTPException && error.status < 500) {
      const title = STATUS_CODES[error.status] ?? 'Bad Request';
      const slug = title.toLowerCase().replaceAll(/[^a-z]+/g, '-');
      return problemResponse(c, new HttpProblem(error.status, slug, title, error.message).toProblem(requestId));
    }
    (c.get('log') ?? log).error({ err: error }, 'unhandled error');
    return problemResponse(c, {
      type: 'https://llmops.dev/problems/internal',
      title: 'Internal error',
      status: 500,
      detail: `Something went wrong on the ${service} service. Quote request id ${requestId} when you report it.`,
      instance: requestId,
    });
  });

  return app;
}

export interface InternalAppOptions extends InternalDeps {
  service: Exclude<ServiceName, 'gateway'>;
  /** The service's public routes (its contract's list): their least roles are checked here (ADR 0006). */
  routes: readonly PublicRoute[];
}

/** What an internal service's app is built from. */
export interface InternalDeps {
  log: Logger;
  /** Verifies the identity the gateway and other services send (ADR 0006). */
  internalSecret: string;
  readiness: Record<string, ReadinessCheck>;
  /** The service's metrics (the runtime's); without them no /metrics and no HTTP latency (unit tests). */
  metrics?: Metrics;
}

/**
 * The app of an internal service: the common middleware, the identity guard, /healthz and /readyz, and
 * what every handler is given bound to this service: its routes' least roles, `c.var.audit` and
 * `c.var.idempotent` on `<service>.idempotency_keys`.
 */
export function createInternalApp({ service, log, internalSecret, readiness, routes, metrics }: InternalAppOptions): ServiceApp {
  const app = createServiceApp({
    service,
    log,
    guard: requireIdentity(internalSecret, service),
    routes,
    ...(metrics ? { metrics } : {}),
  });
  app.use(bindAudit(service), bindIdempotency(`${service}.idempotency_keys`));
  mountHealth(app, service, readiness);
  return app;
}
