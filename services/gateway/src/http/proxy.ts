import { Agent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { Context } from 'hono';
import type { PublicRoute } from '@llmops/kit/contracts/index';
import type { AppEnv, ServiceApp } from '@llmops/kit/http/app';
import { IDENTITY_HEADER, signIdentity } from '@llmops/kit/http/identity';
import { HttpProblem } from '@llmops/kit/problem';
import { WEB_PROXY_SECRET_HEADER } from './forwarded.ts';
import { annotate, callerOf, clientAddress, requireAccess } from './guard.ts';

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
const NULL_BODY = new Set([204, 205, 304]);

export interface ProxyDeps {
  /** Signs the identity services accept (ADR 0006). */
  secret: string;
  urls: Record<PublicRoute['service'], string>;
  /** How long a service may take to start answering (plus the `wait` of a long-polling read). */
  timeoutMs: number;
}

/** The longest `wait` any route takes (GET /api/v1/tasks/{id}?wait=60): a bound on the extra time. */
const MAX_WAIT_SECONDS = 60;

/** True when the route's query declares `wait` (seconds): it answers only after up to that long. */
function longPolls(route: PublicRoute['route']): boolean {
  const query = route.request?.query as { shape?: Record<string, unknown> } | undefined;
  return query?.shape !== undefined && 'wait' in query.shape;
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

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

/** `/api/v1/prompts/{id}` → `/api/v1/prompts/:id`. */
export function honoPath(openApiPath: string): string {
  return openApiPath.replace(/\{([^}]+)\}/g, ':$1');
}

/**
 * Mounts every public route of the services as an authenticated proxy (ADRs 0005, 0006): the route goes
 * into the public document with its role and scope; a request that passes the guard and the route's
 * access check is sent to the owning service at the same path with a signed identity, and the answer
 * comes back as it is (status, headers such as ETag, body streamed). The service validates the body.
 */
export function mountProxy(app: ServiceApp, routes: readonly PublicRoute[], deps: ProxyDeps | undefined): void {
  for (const { route, service, role, scope } of routes) {
    const access = { role, scope } as const;
    const longPoll = longPolls(route);
    app.openAPIRegistry.registerPath(annotate(route, access, { proxied: true }));
    app.on(route.method.toUpperCase(), honoPath(route.path), requireAccess(access), (c) => {
      if (!deps) throw new BadGateway(service, 'not configured');
      return forward(c, service, deps, longPoll);
    });
  }
}

async function forward(
  c: Context<AppEnv>,
  service: PublicRoute['service'],
  deps: ProxyDeps,
  longPoll: boolean,
): Promise<Response> {
  const principal = callerOf(c);
  const requestId = c.get('requestId');
  const assertion = await signIdentity(
    deps.secret,
    { kind: 'account', subject: principal.accountId, role: principal.role, scopes: [...principal.scopes], requestId },
    service,
  );
  const incoming = new URL(c.req.url);
  const target = new URL(incoming.pathname + incoming.search, deps.urls[service]);
  const timeoutMs = deps.timeoutMs + (longPoll ? waitSeconds(incoming) * 1000 : 0);
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of c.req.raw.headers) {
    if (!DROPPED_REQUEST.has(name)) headers[name] = value;
  }
  headers[IDENTITY_HEADER] = assertion;
  headers['x-request-id'] = requestId;
  headers['x-forwarded-for'] = clientAddress(c);
  const method = c.req.method;
  let body: Buffer | undefined;
  if (method !== 'GET' && method !== 'HEAD' && c.req.raw.body !== null) {
    body = Buffer.from(await c.req.arrayBuffer());
    headers['content-length'] = String(body.length);
  }

  return new Promise<Response>((resolve, reject) => {
    let settled = false;
    const outgoing = httpRequest(target, { method, headers, agent });
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      outgoing.destroy();
      reject(new GatewayTimeout(service, timeoutMs));
    }, timeoutMs);
    const abort = () => outgoing.destroy();
    c.req.raw.signal.addEventListener('abort', abort, { once: true });
    outgoing.on('response', (upstream: IncomingMessage) => {
      clearTimeout(timer);
      if (settled) return upstream.resume();
      settled = true;
      const status = upstream.statusCode ?? 502;
      const responseHeaders = new Headers();
      const raw = upstream.rawHeaders;
      for (let i = 0; i + 1 < raw.length; i += 2) {
        const name = (raw[i] as string).toLowerCase();
        if (!DROPPED_RESPONSE.has(name)) responseHeaders.append(name, raw[i + 1] as string);
      }
      const empty = method === 'HEAD' || NULL_BODY.has(status);
      if (empty) upstream.resume();
      upstream.once('close', () => c.req.raw.signal.removeEventListener('abort', abort));
      resolve(
        new Response(empty ? null : (Readable.toWeb(upstream) as ReadableStream<Uint8Array>), {
          status,
          headers: responseHeaders,
        }),
      );
    });
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      c.req.raw.signal.removeEventListener('abort', abort);
      if (settled) return;
      settled = true;
      reject(new BadGateway(service, error.code));
    });
    outgoing.end(body);
  });
}
