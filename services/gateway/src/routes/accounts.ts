import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { z } from '@hono/zod-openapi';
import { publish } from '@llmops/kit/bus/publish';
import {
  accountNamesRoute,
  changePasswordRoute,
  createAccountRoute,
  createTokenRoute,
  GATEWAY_ROUTES,
  getAccountRoute,
  listAccountsRoute,
  listTokensRoute,
  loginRoute,
  logoutRoute,
  revokeTokenRoute,
  sessionRoute,
  setupRoute,
  setupStatusRoute,
  updateAccountRoute,
} from '@llmops/kit/contracts/gateway';
import { decodeCursor, encodeCursor } from '@llmops/kit/contracts/common';
import { withTransaction, type Pool } from '@llmops/kit/db';
import { credentialsRevoked } from '@llmops/kit/events/gateway';
import type { ServiceApp } from '@llmops/kit/http/app';
import { checkIfMatch, etagOf } from '@llmops/kit/http/preconditions';
import { Forbidden, NotFound } from '@llmops/kit/problem';
import { accountJson, createAccount, updateAccount } from '../auth/accounts.ts';
import type { AuditActor } from '@llmops/kit/http/audit';
import type { GatewayConfig } from '../config.ts';
import type { CredentialChecker } from '../ports.ts';
import * as accounts from '../db/accounts.ts';
import * as sessions from '../db/sessions.ts';
import * as tokens from '../db/tokens.ts';
import { signIn, startSession, type SignIn } from '../auth/login.ts';
import { hashSecret } from '../auth/secrets.ts';
import { completeSetup, setupStatus } from '../auth/setup.ts';
import { createToken, revokeToken, tokenJson } from '../auth/tokens.ts';
import { changeOwnPassword } from '../auth/own-password.ts';
import { callerOf, clientAddress, clientProtocol, SESSION_COOKIE } from '../auth/guard.ts';
import { withAccess } from './access.ts';

export interface AccountRoutesDeps {
  pool: Pool;
  auth: CredentialChecker;
  config: GatewayConfig;
}

const route = <R extends Parameters<typeof withAccess>[0]>(r: R) => withAccess(r, GATEWAY_ROUTES);

function secureCookie(c: Context, config: GatewayConfig): boolean {
  if (config.GATEWAY_SECURE_COOKIES !== 'auto') return config.GATEWAY_SECURE_COOKIES === 'always';
  return clientProtocol(c) === 'https';
}

/** Sets the session cookie; the answer that carries it (sign-in, setup) is never stored by a cache. */
function setSessionCookie(c: Context, config: GatewayConfig, signedIn: SignIn): void {
  c.header('Cache-Control', 'no-store');
  setCookie(c, SESSION_COOKIE, signedIn.secret, {
    httpOnly: true,
    sameSite: 'Lax',
    path: '/',
    secure: secureCookie(c, config),
    maxAge: Math.max(1, Math.floor((signedIn.expiresAt.getTime() - Date.now()) / 1000)),
  });
}

const actorOf = (c: Context): AuditActor => ({ kind: 'account', id: callerOf(c).accountId });

/** Setup, sign-in and sign-out, the caller's session, accounts (admins) and API tokens. */
export function mountAccountRoutes(app: ServiceApp, { pool, auth, config }: AccountRoutesDeps): void {
  const sessionTtlMs = () => config.GATEWAY_SESSION_TTL_HOURS * 3_600_000;

  app.openapi(route(setupStatusRoute), async (c) => c.json(await setupStatus(pool, c.req.valid('query').code), 200));

  app.openapi(route(setupRoute), async (c) => {
    const body = c.req.valid('json');
    const account = await completeSetup(pool, body, {
      requestId: c.get('requestId'),
      passwordCost: config.GATEWAY_PASSWORD_COST,
    });
    const signedIn = await startSession(pool, account, { ttlMs: sessionTtlMs(), userAgent: c.req.header('user-agent') });
    setSessionCookie(c, config, signedIn);
    return c.json({ account: accountJson(account), expires_at: signedIn.expiresAt.toISOString() }, 201);
  });

  app.openapi(route(loginRoute), async (c) => {
    const { email, password } = c.req.valid('json');
    const signedIn = await signIn(
      pool,
      { email, password, client: clientAddress(c), userAgent: c.req.header('user-agent') },
      { maxFailures: config.GATEWAY_LOGIN_MAX_FAILURES, ttlMs: sessionTtlMs(), passwordCost: config.GATEWAY_PASSWORD_COST },
    );
    setSessionCookie(c, config, signedIn);
    return c.json({ account: accountJson(signedIn.account), expires_at: signedIn.expiresAt.toISOString() }, 200);
  });

  app.openapi(route(logoutRoute), async (c) => {
    const cookie = getCookie(c, SESSION_COOKIE);
    if (cookie) {
      await withTransaction(pool, async (tx) => {
        const ended = await sessions.deleteBySecretHash(tx, hashSecret(cookie));
        if (ended) {
          await publish(tx, credentialsRevoked, { kind: 'session', id: ended.id, account_id: ended.account_id });
          auth.revoked({ kind: 'session', id: ended.id, account_id: ended.account_id });
        }
      });
      deleteCookie(c, SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'Lax', secure: secureCookie(c, config) });
    }
    return c.body(null, 204);
  });

  app.openapi(route(sessionRoute), async (c) => {
    const principal = callerOf(c);
    const account = await accounts.byId(pool, principal.accountId);
    if (!account) throw new NotFound('Your account no longer exists.');
    return c.json(
      {
        account: accountJson(account),
        via: principal.via,
        scopes: [...principal.scopes],
        expires_at: principal.expiresAt?.toISOString() ?? null,
      },
      200,
    );
  });

  app.openapi(route(changePasswordRoute), async (c) => {
    const principal = callerOf(c);
    const { current_password, new_password } = c.req.valid('json');
    await changeOwnPassword(
      pool,
      principal,
      { current: current_password, next: new_password },
      {
        maxFailures: config.GATEWAY_LOGIN_MAX_FAILURES,
        requestId: c.get('requestId'),
        passwordCost: config.GATEWAY_PASSWORD_COST,
      },
    );
    // This session was kept; the other instances learn of the change from the bus.
    auth.revoked({ kind: 'account', id: principal.accountId, account_id: principal.accountId });
    return c.body(null, 204);
  });

  app.openapi(route(listAccountsRoute), async (c) => {
    const { limit, cursor } = c.req.valid('query');
    const rows = await accounts.page(pool, { after: decodeCursor(cursor, z.uuid()), limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return c.json({ items: page.map(accountJson), next_cursor: rows.length > limit && last ? encodeCursor(last.id) : null }, 200);
  });

  app.openapi(route(accountNamesRoute), async (c) => {
    const { id } = c.req.valid('query');
    return c.json({ items: await accounts.namesOf(pool, [...new Set(id)]) }, 200);
  });

  app.openapi(route(createAccountRoute), async (c) => {
    const body = c.req.valid('json');
    const row = await withTransaction(pool, (tx) =>
      createAccount(tx, body, { actor: actorOf(c), requestId: c.get('requestId'), passwordCost: config.GATEWAY_PASSWORD_COST }),
    );
    c.header('ETag', etagOf(row.updated_at));
    c.header('Location', `/api/v1/accounts/${row.id}`);
    return c.json(accountJson(row), 201);
  });

  app.openapi(route(getAccountRoute), async (c) => {
    const { id } = c.req.valid('param');
    const row = await accounts.byId(pool, id);
    if (!row) throw new NotFound(`No account ${id}.`);
    c.header('ETag', etagOf(row.updated_at));
    return c.json(accountJson(row), 200);
  });

  app.openapi(route(updateAccountRoute), async (c) => {
    const { id } = c.req.valid('param');
    const changes = c.req.valid('json');
    const row = await updateAccount(pool, id, changes, {
      actor: actorOf(c),
      requestId: c.get('requestId'),
      passwordCost: config.GATEWAY_PASSWORD_COST,
      precondition: (current) => checkIfMatch(c, current.updated_at, 'The account'),
    });
    auth.revoked({ kind: 'account', id, account_id: id });
    c.header('ETag', etagOf(row.updated_at));
    return c.json(accountJson(row), 200);
  });

  app.openapi(route(listTokensRoute), async (c) => {
    const principal = callerOf(c);
    const { limit, cursor, account_id } = c.req.valid('query');
    const accountId = account_id ?? principal.accountId;
    if (accountId !== principal.accountId && principal.role !== 'admin')
      throw new Forbidden('Only admins may list the tokens of other accounts.');
    const rows = await tokens.page(pool, { accountId, after: decodeCursor(cursor, z.uuid()), limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return c.json({ items: page.map(tokenJson), next_cursor: rows.length > limit && last ? encodeCursor(last.id) : null }, 200);
  });

  app.openapi(route(createTokenRoute), async (c) => {
    const principal = callerOf(c);
    const body = c.req.valid('json');
    const { row, secret } = await withTransaction(pool, (tx) =>
      createToken(
        tx,
        { id: principal.accountId, role: principal.role },
        { name: body.name, scopes: body.scopes, expiresAt: body.expires_at ? new Date(body.expires_at) : undefined },
        { actor: actorOf(c), requestId: c.get('requestId') },
      ),
    );
    c.header('Location', `/api/v1/tokens/${row.id}`);
    c.header('Cache-Control', 'no-store');
    return c.json({ token: tokenJson(row), secret }, 201);
  });

  app.openapi(route(revokeTokenRoute), async (c) => {
    const principal = callerOf(c);
    const { id } = c.req.valid('param');
    const row = await revokeToken(pool, id, {
      actor: actorOf(c),
      requestId: c.get('requestId'),
      mayRevoke: (token) => token.account_id === principal.accountId || principal.role === 'admin',
    });
    auth.revoked({ kind: 'token', id, account_id: row.account_id });
    return c.body(null, 204);
  });
}
