import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { SESSION_COOKIE } from '@llmops/kit/contracts/document';
import { setAnswerHeader, type AppEnv } from '@llmops/kit/http/app';
import type { GatewayAccess } from '@llmops/kit/contracts/gateway';
import { Forbidden, TooManyRequests, Unauthorized } from '@llmops/kit/problem';
import { authorizePrincipal, type Principal } from './access.ts';
import type { CredentialChecker } from '../ports.ts';
import type { RateLimiter } from './rate-limit.ts';
import { isOpenPath } from '../openapi.ts';
import { NO_TRUST, requestSource, type ForwardingTrust, type RequestSource } from './forwarded.ts';

/** The session cookie, as the public document's `session` scheme names it. */
export { SESSION_COOKIE };

/** Open routes that start a session or end one: a foreign Origin is refused there too (login CSRF). */
const SESSION_PATHS = new Set(['/api/v1/setup', '/api/v1/login', '/api/v1/logout']);

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

const principals = new WeakMap<Request, Principal>();

/** The authenticated caller of this request, if any. */
export function principalOf(c: Context): Principal | undefined {
  return principals.get(c.req.raw);
}

/** The caller of a route that requires one (the guard has made sure there is one). */
export function callerOf(c: Context): Principal {
  const principal = principals.get(c.req.raw);
  if (!principal) throw new Unauthorized();
  return principal;
}

export interface GuardDeps {
  auth: CredentialChecker;
  limiter: RateLimiter;
  /** Origins whose cookie-authenticated writes are accepted besides the request's own (the dashboard's). */
  allowedOrigins: readonly string[];
  /** Whose X-Forwarded-* are believed. */
  forwarding: ForwardingTrust;
}

const sources = new WeakMap<Request, RequestSource>();

function peerAddress(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // not served by node (app.request in tests)
  }
}

/** Where the request comes from, as the guard settled it (X-Forwarded-* only from a trusted hop). */
function sourceOf(c: Context, trust: ForwardingTrust = NO_TRUST): RequestSource {
  let source = sources.get(c.req.raw);
  if (!source) {
    source = requestSource(trust, { peer: peerAddress(c), url: c.req.url, header: (name) => c.req.header(name) });
    sources.set(c.req.raw, source);
  }
  return source;
}

/** The client's address: the peer's, or the one a trusted hop forwarded (the dashboard's server, a trusted proxy). */
export function clientAddress(c: Context): string {
  return sourceOf(c).address;
}

/** The protocol the client used (a trusted hop's X-Forwarded-Proto, else this request's). */
export function clientProtocol(c: Context): 'http' | 'https' {
  return sourceOf(c).protocol;
}

function originOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  try {
    return new URL(value).origin;
  } catch {
    return undefined;
  }
}

/**
 * CSRF defence for cookie-authenticated writes (ADR 0008): cookies are SameSite=Lax, and a write must
 * come from our own origin (Origin, else Referer): the dashboard's as its server forwards it, or this
 * request's. Bearer tokens are not sent by browsers on their own, so token-authenticated requests need
 * no check.
 */
function checkOrigin(c: Context, allowed: readonly string[], required: boolean): void {
  const sent = c.req.header('origin');
  const origin = sent && sent !== 'null' ? sent : originOf(c.req.header('referer'));
  if (!origin) {
    if (required)
      throw new Forbidden('A signed-in write must say where it comes from (an Origin header); send it from the dashboard.');
    return;
  }
  if (origin === sourceOf(c).origin || allowed.includes(origin)) return;
  throw new Forbidden(`Cross-site request refused: ${origin} may not act with this session.`);
}

async function authenticate(c: Context, auth: CredentialChecker): Promise<Principal | undefined> {
  const header = c.req.header('authorization');
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new Unauthorized('Send the API token as `Authorization: Bearer <token>`.');
    return auth.fromToken(match[1] as string);
  }
  const cookie = getCookie(c, SESSION_COOKIE);
  return cookie ? auth.fromSession(cookie) : undefined;
}

/**
 * Every request passes here: the caller is authenticated from the session cookie or the bearer token
 * (401 when a route needs one and there is none or it is bad), cookie writes must be same-origin,
 * and each caller's requests are rate-limited. Which role and scope a route needs is checked by its
 * own `requireAccess` middleware.
 */
export function gatewayGuard(deps: GuardDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    sourceOf(c, deps.forwarding); // first, so a wrong web secret is refused on every route
    const path = c.req.path;
    const unsafe = !SAFE_METHODS.has(c.req.method);
    if (isOpenPath(path)) {
      if (unsafe && SESSION_PATHS.has(path)) checkOrigin(c, deps.allowedOrigins, false);
      const principal = await authenticate(c, deps.auth).catch(() => undefined);
      if (principal) principals.set(c.req.raw, principal);
      return next();
    }
    const principal = await authenticate(c, deps.auth);
    if (!principal) throw new Unauthorized();
    if (principal.via === 'session' && unsafe) checkOrigin(c, deps.allowedOrigins, true);
    const decision = deps.limiter.take(principal);
    if (!decision.allowed)
      throw new TooManyRequests(
        `Rate limit reached; retry after ${decision.retryAfterS} s.`,
        decision.retryAfterS,
        decision.headers,
      );
    principals.set(c.req.raw, principal);
    await next();
    for (const [name, value] of Object.entries(decision.headers)) setAnswerHeader(c, name, value);
  };
}

/** A route's own check: role at least `access.role`, and for a token the scope (403 otherwise). */
export function requireAccess(access: GatewayAccess): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!access.open) authorizePrincipal(callerOf(c), access.role, access.scope);
    return next();
  };
}
