import type { OutgoingHttpHeaders } from 'node:http';
import type { Context } from 'hono';
import type { PublicRoute } from '@llmops/kit/contracts/index';
import type { AppEnv, ServiceApp } from '@llmops/kit/http/app';
import { createIdentitySigner, IDENTITY_HEADER, type IdentitySigner } from '@llmops/kit/http/identity';
import { createUpstream, markedIdempotent, toBufferedResponse, UpstreamTimeoutError } from '@llmops/kit/http/upstream';
import { HttpProblem } from '@llmops/kit/problem';
import { WEB_PROXY_SECRET_HEADER } from '../auth/forwarded.ts';
import { callerOf, clientAddress, requireAccess } from '../auth/guard.ts';

/** Connection-level headers (RFC 9110 §7.6.1) and what the gateway itself decides: never passed on. */
const DROPPED_REQUEST = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'cookie',
  'authorization',
  IDENTITY_HEADER,
  'x-request-id',
  'x-forwarded-for',
  WEB_PROXY_SECRET_HEADER,
]);
const DROPPED_RESPONSE = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'x-request-id',
  'set-cookie',
]);

export interface ProxyDeps {
  /** Signs the identity services accept (ADR 0006). */
  secret: string;
  urls: Record<PublicRoute['service'], string>;
  /** How long a service may take to start answering (plus the `wait` of a long-polling read). */
  timeoutMs: number;
}

/** The longest `wait` any route takes (GET /api/v1/tasks/{id}?wait=60): a bound on the extra time. */
const MAX_WAIT_SECONDS = 60;

/** True when the request part's schema (a zod object) declares the field. */
function declares(part: unknown, name: string): boolean {
  const shape = (part as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape !== undefined && name in shape;
}

/** True when the route's query declares `wait` (seconds): it answers only after up to that long. */
function longPolls(route: PublicRoute['route']): boolean {
  return declares(route.request?.query, 'wait');
}

/**
 * Whether repeating a request of the route is harmless by its contract (beyond safe methods): the route
 * is marked idempotent, or it takes an Idempotency-Key (the service answers a repeat from its record)
 * and the request carries one.
 */
function idempotentByContract(route: PublicRoute['route']): (headers: Headers) => boolean {
  if (markedIdempotent(route)) return () => true;
  const keyed = declares(route.request?.headers, 'idempotency-key');
  return (headers) => keyed && headers.has('idempotency-key');
}

/** The seconds a long-polling request asks to wait (the service validates the value; this only bounds the timer). */
function waitSeconds(url: URL): number {
  const seconds = Number(url.searchParams.get('wait') ?? 0);
  return Number.isFinite(seconds) ? Math.min(Math.max(seconds, 0), MAX_WAIT_SECONDS) : 0;
}

class BadGateway extends HttpProblem {
  constructor(service: string, code: string | undefined) {
    super(
      502,
      'service-unreachable',
      'Service unreachable',
      `The ${service} service did not answer${code ? ` (${code})` : ''}; it may be restarting. Try again shortly.`,
    );
  }
}
class GatewayTimeout extends HttpProblem {
  constructor(service: string, ms: number) {
    super(504, 'service-timeout', 'Service timeout', `The ${service} service did not start answering within ${ms / 1000} s.`);
  }
}

/** Connections to the services (kit's keep-alive rules and one retry on a reset reused connection). */
const upstream = createUpstream({ maxSockets: 256 });

/** Answers up to this size that say their length are read whole and sent as bytes; longer ones and streams (SSE) stream. */
const BUFFERED_BYTES = 256 * 1024;

/** `/api/v1/prompts/{id}` → `/api/v1/prompts/:id`. */
export function honoPath(openApiPath: string): string {
  return openApiPath.replace(/\{([^}]+)\}/g, ':$1');
}

/**
 * Mounts every public route of the services as an authenticated proxy (ADRs 0005, 0006; the public
 * document shows each with its role and scope): a request that passes the guard and the route's access
 * check is sent to the owning service at the same path with a signed identity, and the answer comes back
 * as it is (status, headers such as ETag, body streamed). The service validates the body.
 */
export function mountProxy(app: ServiceApp, routes: readonly PublicRoute[], deps: ProxyDeps): void {
  const signer = createIdentitySigner(deps.secret);
  for (const { route, service, role, scope } of routes) {
    const shape = { longPoll: longPolls(route), idempotent: idempotentByContract(route) };
    app.on(route.method.toUpperCase(), honoPath(route.path), requireAccess({ role, scope }), (c) =>
      forward(c, service, deps, signer, shape),
    );
  }
}

async function forward(
  c: Context<AppEnv>,
  service: PublicRoute['service'],
  deps: ProxyDeps,
  signer: IdentitySigner,
  route: { longPoll: boolean; idempotent: (headers: Headers) => boolean },
): Promise<Response> {
  const principal = callerOf(c);
  const requestId = c.get('requestId');
  const spans = c.get('spans');
  spans.mark('handler');
  // Request-less, so one assertion per account, role, scopes and service serves 30 s of requests (kit's
  // signer; the services verify it once): the request's id travels in X-Request-Id.
  const assertion = await spans.time('sign', () =>
    signer.sign({ kind: 'account', subject: principal.accountId, role: principal.role, scopes: [...principal.scopes] }, service),
  );
  const incoming = new URL(c.req.url);
  const target = new URL(incoming.pathname + incoming.search, deps.urls[service]);
  const timeoutMs = deps.timeoutMs + (route.longPoll ? waitSeconds(incoming) * 1000 : 0);
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of c.req.raw.headers) {
    if (!DROPPED_REQUEST.has(name)) headers[name] = value;
  }
  headers[IDENTITY_HEADER] = assertion;
  headers['x-request-id'] = requestId;
  headers['x-forwarded-for'] = clientAddress(c);
  const method = c.req.method;
  let body: Buffer | undefined;
  // Under node every other method has a body stream (maybe empty), already read by kit (http/body.ts);
  // asking the web Request for it would build that Request (about 20 µs of CPU per request).
  const served = (c.env as { incoming?: unknown } | undefined)?.incoming !== undefined;
  if (method !== 'GET' && method !== 'HEAD' && (served || c.req.raw.body !== null)) {
    body = Buffer.from(await c.req.arrayBuffer());
    headers['content-length'] = String(body.length);
  }

  let answer;
  spans.mark('forwarded');
  try {
    answer = await upstream.request(target, {
      method,
      headers,
      ...(body ? { body } : {}),
      idempotent: route.idempotent(c.req.raw.headers),
      // The caller went away: stop the service's work too.
      signal: c.req.raw.signal,
      headersTimeoutMs: timeoutMs,
      onRetry: (error) =>
        c.get('log').warn({ service, code: error.code }, 'a reused connection to the service was reset; sent again on a new one'),
    });
  } catch (error) {
    if (error instanceof UpstreamTimeoutError) throw new GatewayTimeout(service, timeoutMs);
    throw new BadGateway(service, (error as NodeJS.ErrnoException).code);
  }
  spans.mark('answered');
  try {
    return await toBufferedResponse(answer, method, (name) => DROPPED_RESPONSE.has(name), BUFFERED_BYTES);
  } catch (error) {
    // The answer broke off while it was read (the service stopped, or the caller went away).
    throw new BadGateway(service, (error as NodeJS.ErrnoException).code);
  }
}
