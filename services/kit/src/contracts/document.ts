import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { createRoute, z, type RouteConfig } from '@hono/zod-openapi';
import { healthRoute, metricsRoute, readyRoute } from '../http/health.ts';
import { errors, ERROR_RESPONSES } from './common.ts';
import { GATEWAY_ROUTES, type GatewayAccess } from './gateway.ts';
import { PUBLIC_ROUTES, type PublicRoute } from './index.ts';

/**
 * The one public OpenAPI 3.1 document (ADR 0005), built from the contracts alone: the gateway's own
 * routes, every service's public routes as the gateway proxies them, each with who may call it and
 * every answer the gateway itself may give. The gateway serves it; the dashboard's code generator
 * reads it without building the gateway.
 */

export const OPENAPI_PATH = '/api/v1/openapi.json';

/** The dashboard's session cookie: the `session` security scheme. */
export const SESSION_COOKIE = 'llmops_session';

export const openApiDocumentRoute = createRoute({
  method: 'get',
  path: OPENAPI_PATH,
  operationId: 'getOpenApiDocument',
  tags: ['Operations'],
  summary: 'This OpenAPI 3.1 document',
  description: 'Open (no authentication). The interactive reference at /api/v1/docs reads it.',
  security: [],
  responses: {
    200: {
      description: 'The OpenAPI 3.1 document of the public API',
      content: { 'application/json': { schema: z.record(z.string(), z.unknown()).openapi({ type: 'object' }) } },
    },
  },
});

/** The document's fixed part. */
export const DOCUMENT_INFO = {
  openapi: '3.1.0',
  info: {
    title: 'LLM Ops API',
    version: '1.0.0',
    description:
      'The public API of LLM Ops: providers and models, prompts, tasks and the editorial workflow. ' +
      'Errors are RFC 9457 problem+json; lists take `limit` and `cursor`; JSON is snake_case.',
  },
  servers: [{ url: '/', description: 'This gateway' }],
  tags: [
    { name: 'Operations', description: 'Health, readiness, this reference, and the bus’s dead letters.' },
    { name: 'Accounts', description: 'First-run setup, signing in and out, the session, accounts (admins).' },
    { name: 'Tokens', description: 'API tokens for programs: `Authorization: Bearer <token>`.' },
    { name: 'Audit', description: 'Who changed what, when (admins).' },
    { name: 'Events', description: 'Live events over server-sent events, resumable.' },
  ],
  // Every route needs a session or a token unless it says otherwise (`security: []`).
  security: [{ session: [] }, { bearer: [] }] as Record<string, string[]>[],
};

const problem = (description: string) => ({ ...ERROR_RESPONSES[400], description });

/** Answers the gateway itself may give on a route, added to the document where its contract lacks them. */
const AUTH_ERRORS = errors(401, 403, 429);
const WRITE_ERRORS = errors(400, 413, 415);
const PROXY_ERRORS = {
  502: problem('The owning service did not answer'),
  504: problem('The owning service did not start answering in time'),
} as const;

/** The route's responses plus those the gateway itself may give, where the contract lacks them. */
function withGatewayErrors<R extends RouteConfig>(route: R, access: GatewayAccess, proxied: boolean): R {
  const write = route.method !== 'get' && route.method !== 'delete';
  const extra = {
    ...(access.open ? {} : AUTH_ERRORS),
    ...(write ? WRITE_ERRORS : {}),
    ...(proxied ? PROXY_ERRORS : {}),
  };
  return { ...route, responses: { ...extra, ...route.responses } };
}

/**
 * The route as the public document shows it: who may call it, as `security`, `x-required-role`/`-scope`
 * and prose, and every answer the gateway itself may give (401, 403, 429; 400, 413, 415 for writes;
 * 502, 504 for proxied routes).
 */
export function annotate<R extends RouteConfig>(given: R, access: GatewayAccess, { proxied = false } = {}): R {
  const route = withGatewayErrors(given, access, proxied);
  const base = route.description ? `${route.description}\n\n` : '';
  if (access.open) return { ...route, security: [], description: `${base}Open: no authentication needed.` };
  const scope =
    access.scope === 'any'
      ? 'An API token needs no particular scope.'
      : access.scope === 'admin'
        ? 'An API token needs the `admin` scope.'
        : `An API token needs the \`${access.scope}\` scope (or \`admin\`).`;
  return {
    ...route,
    security: [{ session: [] }, { bearer: [] }],
    'x-required-role': access.role,
    'x-required-scope': access.scope,
    description: `${base}**Requires** the \`${access.role}\` role or higher. ${scope}`,
  };
}

/**
 * The JSON Schema `pattern` of a contract regex. zod-to-openapi writes `/^a$/u` as `^a$/u` (it strips
 * the slashes, not the flags), a pattern that matches nothing. A regex source never has an unescaped
 * `/`, so a trailing `/flags` is that: `u` is what JSON Schema patterns assume anyway and is dropped;
 * any other flag changes what matches and cannot be written in a pattern, so it is refused.
 */
export function patternOf(rendered: string): string {
  const flags = /(?<=(?:^|[^\\])(?:\\\\)*)\/([dgimsuvy]+)$/.exec(rendered);
  if (!flags) return rendered;
  if (flags[1] !== 'u' && flags[1] !== 'v') {
    throw new Error(
      `the contract regex ${rendered} has flags (${flags[1]}) a JSON Schema pattern cannot carry; write it without`,
    );
  }
  return rendered.slice(0, flags.index);
}

/** Rewrites every `pattern` of the document in place (see `patternOf`). */
function fixPatterns(node: unknown): void {
  if (Array.isArray(node)) return node.forEach(fixPatterns);
  if (typeof node !== 'object' || node === null) return;
  const object = node as Record<string, unknown>;
  for (const [key, value] of Object.entries(object)) {
    if (key === 'pattern' && typeof value === 'string') object.pattern = patternOf(value);
    else fixPatterns(value);
  }
}

/** A route without what only its implementation uses (middleware), as the document takes it. */
function documented({ middleware: _middleware, hide: _hide, ...route }: RouteConfig): RouteConfig {
  return route;
}

export type PublicDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

/**
 * The public document. `proxied` are the services' routes the gateway mounts (every public route of
 * kit's contracts unless a test mounts its own), in the order the reference lists them.
 */
export function publicDocument({ proxied = PUBLIC_ROUTES }: { proxied?: readonly PublicRoute[] } = {}): PublicDocument {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'session', {
    type: 'apiKey',
    in: 'cookie',
    name: SESSION_COOKIE,
    description: 'The dashboard’s session cookie (httpOnly, SameSite=Lax), set by /api/v1/login and /api/v1/setup.',
  });
  registry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API token (`llmops_…`) from /api/v1/tokens or `npm run llmops -- token create`.',
  });
  registry.registerComponent('securitySchemes', 'metricsToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'The metrics token (LLMOPS_METRICS_TOKEN) a Prometheus scrape sends; it opens /metrics and nothing else.',
  });
  // The probes are open on every service, the gateway included; so is /metrics, behind its own token.
  for (const probe of [healthRoute, readyRoute]) registry.registerPath({ ...probe, security: [] });
  registry.registerPath(metricsRoute);
  registry.registerPath(openApiDocumentRoute);
  for (const { route, access } of GATEWAY_ROUTES) registry.registerPath(documented(annotate(route, access)));
  for (const { route, role, scope } of proxied)
    registry.registerPath(documented(annotate(route, { role, scope }, { proxied: true })));
  const document = new OpenApiGeneratorV31(registry.definitions).generateDocument(DOCUMENT_INFO);
  fixPatterns(document);
  return document;
}
