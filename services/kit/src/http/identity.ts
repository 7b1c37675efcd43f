import { jwtVerify, SignJWT, errors as joseErrors } from 'jose';
import type { MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { Unauthorized } from '../problem.ts';
import type { AppEnv } from './app.ts';

/**
 * The internal identity (ADR 0006): the gateway authenticates the caller and forwards a short-lived
 * HMAC-signed assertion; services accept only requests that carry a valid one. Services calling each
 * other sign a service identity the same way.
 */
export const IDENTITY_HEADER = 'x-llmops-identity';
/**
 * Set by a service calling another on behalf of someone (`account:<id>`, `service:<name>`): the runner
 * rendering a task's prompt for whoever asked for the task. Only heeded with a service identity.
 */
export const ON_BEHALF_OF_HEADER = 'x-llmops-on-behalf-of';
export const ROLES = ['admin', 'editor', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

const ISSUER = 'llmops';
const ALGORITHM = 'HS256';
const LIFETIME_SECONDS = 60;

export const IdentitySchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('account'),
    /** The account id. */
    subject: z.string().min(1),
    role: z.enum(ROLES),
    scopes: z.array(z.string()),
    /** Absent when the assertion serves many requests of the account (the gateway's); each request's id is in X-Request-Id. */
    requestId: z.string().min(1).optional(),
  }),
  z.object({
    kind: z.literal('service'),
    /** The calling service's name. */
    subject: z.string().min(1),
    /** Absent when the assertion serves many calls (see createIdentitySigner); each call's id is in X-Request-Id. */
    requestId: z.string().min(1).optional(),
  }),
]);
export type Identity = z.infer<typeof IdentitySchema>;

// The secret imported once per process as a WebCrypto key: given the raw bytes, jose imports them
// again on every sign and verify (a round trip through libuv's thread pool each time, measured in the
// gateway's and the prompt service's CPU profiles in docs/bench.md).
const keys = new Map<string, Promise<CryptoKey>>();

function keyOf(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, [
      'sign',
      'verify',
    ]);
    keys.set(secret, key);
  }
  return key;
}

/** Signs an identity for one target service (the audience); valid for a minute. */
export async function signIdentity(secret: string, identity: Identity, audience: string): Promise<string> {
  return new SignJWT({ identity })
    .setProtectedHeader({ alg: ALGORITHM })
    .setIssuer(ISSUER)
    .setAudience(audience)
    .setIssuedAt()
    .setExpirationTime(`${LIFETIME_SECONDS}s`)
    .sign(await keyOf(secret));
}

/** How long an assertion is reused: while at least half of its life is left, so it never expires in flight. */
const REUSE_MS = (LIFETIME_SECONDS * 1000) / 2;
/** Request-less assertions a signer keeps (one per identity and audience); the oldest goes first past it. */
const MAX_SIGNED = 1024;

export interface IdentitySigner {
  /** The assertion of `identity` for `audience` (see createIdentitySigner). */
  sign(identity: Identity, audience: string): Promise<string>;
}

/** Everything an assertion says but its times: two identities with the same key sign the same claims. */
function claimsKey(identity: Identity, audience: string): string {
  return identity.kind === 'service'
    ? `${audience}\nservice\n${identity.subject}`
    : `${audience}\naccount\n${identity.subject}\n${identity.role}\n${identity.scopes.join(' ')}`;
}

/**
 * The one way our processes sign identities: the gateway per request, a service calling another, the
 * test stack. An identity that names a request is signed for that request; one that names none (a
 * service's own, or the gateway's for an account's role and scopes) is signed once and reused for 30 s,
 * so a busy caller signs twice a minute per identity and audience, not per call. Reuse never widens what
 * an assertion grants: the key is every claim (audience, subject, role, scopes), so an account whose role
 * or token scopes changed gets a new assertion on its next request, and one whose credential was revoked
 * is refused by the gateway before anything is signed. What is kept is bounded (MAX_SIGNED).
 */
export function createIdentitySigner(secret: string): IdentitySigner {
  const fresh = new Map<string, { token: Promise<string>; until: number }>();
  return {
    sign(identity, audience) {
      if (identity.requestId !== undefined) return signIdentity(secret, identity, audience);
      const key = claimsKey(identity, audience);
      const now = Date.now();
      const kept = fresh.get(key);
      if (kept && kept.until > now) return kept.token;
      const token = signIdentity(secret, identity, audience);
      fresh.delete(key);
      if (fresh.size >= MAX_SIGNED) fresh.delete(fresh.keys().next().value as string);
      fresh.set(key, { token, until: now + REUSE_MS });
      token.catch(() => fresh.delete(key));
      return token;
    },
  };
}

/**
 * Request-less assertions verified before, by secret, audience and token, until they expire: such an
 * assertion serves all its caller's calls for 30 s (createIdentitySigner), so its signature is checked
 * once, not on every call. Its expiry is checked on every use; a secret rotated (a restart with another
 * secret) finds nothing kept under the old one. Assertions that name a request are used once and not kept.
 */
const verified = new Map<string, { identity: Identity; expiresAt: number }>();
const MAX_VERIFIED = 1024;

/** Verifies an assertion meant for `audience`; throws Unauthorized with what was wrong. */
export async function verifyIdentity(secret: string, token: string, audience: string): Promise<Identity> {
  const cacheKey = `${secret}\n${audience}\n${token}`;
  const known = verified.get(cacheKey);
  if (known) {
    if (known.expiresAt > Date.now()) return known.identity;
    verified.delete(cacheKey);
  }
  try {
    const { payload } = await jwtVerify(token, await keyOf(secret), { issuer: ISSUER, audience, algorithms: [ALGORITHM] });
    const parsed = IdentitySchema.safeParse(payload.identity);
    if (!parsed.success) throw new Unauthorized('The internal identity assertion is malformed.');
    if (parsed.data.requestId === undefined && typeof payload.exp === 'number') {
      if (verified.size >= MAX_VERIFIED) verified.delete(verified.keys().next().value as string);
      verified.set(cacheKey, { identity: parsed.data, expiresAt: payload.exp * 1000 });
    }
    return parsed.data;
  } catch (error) {
    if (error instanceof Unauthorized) throw error;
    if (error instanceof joseErrors.JWTExpired) throw new Unauthorized('The internal identity assertion has expired.');
    if (error instanceof joseErrors.JWTClaimValidationFailed)
      throw new Unauthorized(`The internal identity assertion is not for ${audience}.`);
    throw new Unauthorized('The internal identity assertion is not valid.');
  }
}

/** Paths every service answers without an identity: liveness and readiness probes. */
export const OPEN_PATHS = new Set(['/healthz', '/readyz']);

/** Services take only requests with a valid assertion addressed to them (except the probes). */
export function requireIdentity(secret: string, audience: string): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (OPEN_PATHS.has(c.req.path)) return next();
    const token = c.req.header(IDENTITY_HEADER);
    if (!token)
      throw new Unauthorized(`The ${audience} service takes requests only through the gateway or from another service.`);
    c.set('identity', await verifyIdentity(secret, token, audience));
    return next();
  };
}
