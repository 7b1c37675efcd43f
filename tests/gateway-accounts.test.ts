/**
 * Accounts and access through the API: first-run setup (single use, expiring, refused once an account
 * exists), sign-in (rate-limited, disabled accounts refused), sessions and sign-out, API tokens (shown
 * once, last-used written in batches, revocation at once), accounts with ETag preconditions, and the
 * audit log of all of it (never a secret). Every response is checked against the OpenAPI document.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publish } from '@llmops/kit/bus/publish';
import { createPool, withClient } from '@llmops/kit/db';
import { auditRecorded } from '@llmops/kit/events/audit';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { setupLink } from '@llmops/gateway/operator';
import { PASSWORD, startGateway, type Caller, type GatewayHarness } from './gateway-support.ts';

const db = await useTestDatabase();

const json = (body: unknown, headers: Record<string, string> = {}) => ({
  headers: { 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
});

function codeOf(url: string): string {
  return new URL(url).searchParams.get('code') as string;
}

async function count(sql: string): Promise<number> {
  return withClient(db.adminUrl, async (client) => Number((await client.query<{ n: string }>(sql)).rows[0]?.n));
}

describe('accounts and access', () => {
  let gw: GatewayHarness;
  let origin: Record<string, string>;

  beforeAll(async () => {
    gw = await startGateway(db, { services: [], env: { GATEWAY_LOGIN_MAX_FAILURES: '3' } });
    origin = { origin: gw.url };
  });
  afterAll(() => gw?.stop());

  describe('first-run setup', () => {
    it('needs a code that is current, and says whether one is', async () => {
      const status = await gw.api('/api/v1/setup');
      expect(await status.json()).toEqual({ setup_needed: true, code_valid: false });

      const expired = await setupLink(db.adminUrl, gw.url);
      await withClient(db.adminUrl, (client) =>
        client.query(
          `UPDATE gateway.setup_codes SET created_at = now() - interval '2 days', expires_at = now() - interval '1 day'`,
        ),
      );
      expect(await (await gw.api(`/api/v1/setup?code=${codeOf(expired?.url as string)}`)).json()).toEqual({
        setup_needed: true,
        code_valid: false,
      });
      const late = await gw.api('/api/v1/setup', {
        method: 'POST',
        ...json({ code: codeOf(expired?.url as string), name: 'Ada', email: 'ada@example.com', password: PASSWORD }, origin),
      });
      expect(late.status).toBe(403);

      // A newer link replaces the older one.
      const first = await setupLink(db.adminUrl, gw.url);
      const second = await setupLink(db.adminUrl, gw.url);
      expect(await (await gw.api(`/api/v1/setup?code=${codeOf(first?.url as string)}`)).json()).toMatchObject({
        code_valid: false,
      });
      expect(await (await gw.api(`/api/v1/setup?code=${codeOf(second?.url as string)}`)).json()).toMatchObject({
        code_valid: true,
      });
      expect(await count('SELECT count(*) AS n FROM gateway.accounts')).toBe(0);
    });

    it('lists every problem of a bad request at once and creates nothing', async () => {
      const link = await setupLink(db.adminUrl, gw.url);
      const response = await gw.api('/api/v1/setup', {
        method: 'POST',
        ...json({ code: codeOf(link?.url as string), name: '', email: 'nope', password: 'short' }, origin),
      });
      expect(response.status).toBe(422);
      const problem = (await response.json()) as { errors: { field: string }[] };
      expect(problem.errors.map((e) => e.field).sort()).toEqual(['body.email', 'body.name', 'body.password']);
      expect(await count('SELECT count(*) AS n FROM gateway.accounts')).toBe(0);
    });

    it('creates the first admin once, signed in (uncached), even when two try at the same time; then refuses', async () => {
      const link = await setupLink(db.adminUrl, gw.url);
      const code = codeOf(link?.url as string);
      const attempt = (email: string) =>
        gw.api('/api/v1/setup', { method: 'POST', ...json({ code, name: 'Ada', email, password: PASSWORD }, origin) });
      const [a, b] = await Promise.all([attempt('ada@example.com'), attempt('eve@example.com')]);
      const statuses = [a.status, b.status].sort();
      expect(statuses).toEqual([201, 409]);
      const winner = a.status === 201 ? a : b;
      expect(winner.headers.get('cache-control')).toBe('no-store'); // it carries the session: never kept by a cache
      const cookie = winner.headers.getSetCookie()[0] ?? '';
      expect(cookie).toMatch(/^llmops_session=[A-Za-z0-9_-]{40,};/);
      expect(cookie).toContain('HttpOnly');
      expect(cookie).toContain('SameSite=Lax');
      expect(cookie).toContain('Path=/');
      expect(cookie).not.toContain('Secure'); // plain http here; behind https (X-Forwarded-Proto) it is Secure
      const session = await gw.api('/api/v1/session', { headers: { cookie: cookie.split(';')[0] as string } });
      expect(await session.json()).toMatchObject({ via: 'session', account: { role: 'admin', name: 'Ada' } });

      expect(await setupLink(db.adminUrl, gw.url)).toBeUndefined();
      expect(await (await gw.api('/api/v1/setup')).json()).toEqual({ setup_needed: false, code_valid: false });
      const again = await attempt('mallory@example.com');
      expect(again.status).toBe(409);
      expect(await count('SELECT count(*) AS n FROM gateway.accounts')).toBe(1);
    });
  });

  describe('signing in and out', () => {
    let editor: Caller;
    beforeAll(async () => {
      editor = await gw.caller('editor');
    });

    it('refuses a wrong password or an unknown email alike, then rate-limits the email with Retry-After', async () => {
      const victim = await gw.caller('viewer');
      const wrong = await gw.api('/api/v1/login', {
        method: 'POST',
        ...json({ email: victim.email, password: 'wrong password' }),
      });
      expect(wrong.status).toBe(401);
      const unknown = await gw.api('/api/v1/login', {
        method: 'POST',
        ...json({ email: 'nobody@example.com', password: 'wrong password' }),
      });
      expect(unknown.status).toBe(401);
      expect(((await unknown.json()) as { detail: string }).detail).toBe(((await wrong.json()) as { detail: string }).detail);
      for (let i = 0; i < 2; i++) {
        await gw.api('/api/v1/login', {
          method: 'POST',
          ...json({ email: victim.email.toUpperCase(), password: 'wrong password' }),
        });
      }
      // Three failures: now even the right password waits.
      const limited = await gw.api('/api/v1/login', { method: 'POST', ...json({ email: victim.email, password: PASSWORD }) });
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(limited.headers.get('content-type')).toBe('application/problem+json');
    });

    it('refuses a login from another site (login CSRF)', async () => {
      const response = await gw.api('/api/v1/login', {
        method: 'POST',
        ...json({ email: editor.email, password: PASSWORD }, { origin: 'https://evil.example' }),
      });
      expect(response.status).toBe(403);
    });

    it('signs in uncached and ends the session on sign-out: the cookie is cleared and the old value no longer works', async () => {
      const login = await gw.api('/api/v1/login', {
        method: 'POST',
        ...json({ email: editor.email, password: PASSWORD }, origin),
      });
      expect(login.headers.get('cache-control')).toBe('no-store');
      const cookie = (login.headers.getSetCookie()[0] ?? '').split(';')[0] as string;
      expect((await gw.api('/api/v1/session', { headers: { cookie } })).status).toBe(200);
      const out = await gw.api('/api/v1/logout', { method: 'POST', headers: { cookie, origin: gw.url } });
      expect(out.status).toBe(204);
      expect(out.headers.getSetCookie()[0]).toMatch(/^llmops_session=; Max-Age=0/);
      expect((await gw.api('/api/v1/session', { headers: { cookie } })).status).toBe(401);
      // The editor's other session is untouched.
      expect((await gw.api('/api/v1/session', { headers: { cookie: editor.cookie } })).status).toBe(200);
    });

    it('changes your own password with the current one: other sessions end, this one and the tokens stay', async () => {
      const me = await gw.caller('viewer');
      const login = await gw.api('/api/v1/login', { method: 'POST', ...json({ email: me.email, password: PASSWORD }, origin) });
      const other = (login.headers.getSetCookie()[0] ?? '').split(';')[0] as string;
      const change = (body: unknown, headers: Record<string, string> = gw.browser(me)) =>
        gw.api('/api/v1/session/password', { method: 'POST', ...json(body, headers) });

      const wrong = await change({ current_password: 'not my password', new_password: 'a brand new password' });
      expect(wrong.status).toBe(422);
      expect(((await wrong.json()) as { errors: unknown[] }).errors).toEqual([
        { field: 'body.current_password', message: 'This is not your current password.' },
      ]);
      const short = await change({ current_password: PASSWORD, new_password: 'short' });
      expect(short.status).toBe(422);
      expect(JSON.stringify(await short.json())).toContain('body.new_password');
      // Not with a token, not from another site.
      const withToken = await change(
        { current_password: PASSWORD, new_password: 'a brand new password' },
        { authorization: `Bearer ${me.token}` },
      );
      expect(withToken.status).toBe(403);
      expect(
        (
          await change(
            { current_password: PASSWORD, new_password: 'x'.repeat(20) },
            { cookie: me.cookie, origin: 'http://evil.example' },
          )
        ).status,
      ).toBe(403);
      expect((await gw.api('/api/v1/session', { headers: { cookie: other } })).status).toBe(200);

      expect((await change({ current_password: PASSWORD, new_password: 'a brand new password' })).status).toBe(204);
      expect((await gw.api('/api/v1/session', { headers: { cookie: me.cookie } })).status).toBe(200);
      expect((await gw.api('/api/v1/session', { headers: { cookie: other } })).status).toBe(401);
      expect((await gw.api('/api/v1/session', { headers: { authorization: `Bearer ${me.token}` } })).status).toBe(200);
      const oldPassword = await gw.api('/api/v1/login', {
        method: 'POST',
        ...json({ email: me.email, password: PASSWORD }, origin),
      });
      expect(oldPassword.status).toBe(401);
      const newPassword = await gw.api('/api/v1/login', {
        method: 'POST',
        ...json({ email: me.email, password: 'a brand new password' }, origin),
      });
      expect(newPassword.status).toBe(200);
      expect(
        await count(
          `SELECT count(*) AS n FROM gateway.audit_log WHERE action = 'account.password_changed' AND resource_id = '${me.accountId}'`,
        ),
      ).toBe(1);
    });

    it('ends sessions when they expire', async () => {
      const short = await startGateway(db, { services: [], env: { GATEWAY_SESSION_TTL_HOURS: '0.0005' } });
      try {
        const login = await short.api('/api/v1/login', { method: 'POST', ...json({ email: editor.email, password: PASSWORD }) });
        const cookie = (login.headers.getSetCookie()[0] ?? '').split(';')[0] as string;
        expect((await short.api('/api/v1/session', { headers: { cookie } })).status).toBe(200);
        await expect
          .poll(async () => (await short.api('/api/v1/session', { headers: { cookie } })).status, {
            timeout: 10_000,
            interval: 250,
          })
          .toBe(401);
      } finally {
        await short.stop();
      }
    });
  });

  describe('API tokens', () => {
    let editor: Caller;
    let admin: Caller;
    beforeAll(async () => {
      [editor, admin] = [await gw.caller('editor'), await gw.caller('admin')];
    });

    it('shows a new token once, lists it by prefix, records its use in batches, and revokes it at once', async () => {
      const created = await gw.api('/api/v1/tokens', {
        method: 'POST',
        ...json({ name: 'publishing script', scopes: ['prompts:read', 'tasks:read'] }, gw.browser(editor)),
      });
      expect(created.status).toBe(201);
      expect(created.headers.get('cache-control')).toBe('no-store');
      const { token, secret } = (await created.json()) as { token: { id: string; prefix: string }; secret: string };
      expect(secret.startsWith(token.prefix)).toBe(true);
      expect(await count(`SELECT count(*) AS n FROM gateway.api_tokens WHERE secret_hash = sha256('${secret}'::bytea)`)).toBe(1);

      const use = await gw.api('/api/v1/session', { headers: { authorization: `Bearer ${secret}` } });
      expect(await use.json()).toMatchObject({ via: 'token', scopes: ['prompts:read', 'tasks:read'] });

      const list = async () =>
        ((await (await gw.api('/api/v1/tokens', { headers: gw.browser(editor) })).json()) as { items: Record<string, unknown>[] })
          .items;
      const listed = (await list()).find((item) => item.id === token.id);
      expect(listed).toMatchObject({ name: 'publishing script', prefix: token.prefix, revoked_at: null });
      expect(JSON.stringify(await list())).not.toContain(secret);
      await expect
        .poll(async () => (await list()).find((item) => item.id === token.id)?.last_used_at, { timeout: 10_000 })
        .not.toBeNull();

      const revoke = await gw.api(`/api/v1/tokens/${token.id}`, { method: 'DELETE', headers: gw.browser(editor) });
      expect(revoke.status).toBe(204);
      expect((await gw.api('/api/v1/session', { headers: { authorization: `Bearer ${secret}` } })).status).toBe(401);
    });

    it('keeps tokens to their owner: others’ are not found, only admins list another account’s', async () => {
      const viewer = await gw.caller('viewer');
      const mine = await gw.token(editor.email, 'editor', ['prompts:read']);
      expect((await gw.api(`/api/v1/tokens/${mine.id}`, { method: 'DELETE', headers: gw.browser(viewer) })).status).toBe(404);
      expect((await gw.api(`/api/v1/tokens?account_id=${editor.accountId}`, { headers: gw.browser(viewer) })).status).toBe(403);
      const asAdmin = await gw.api(`/api/v1/tokens?account_id=${editor.accountId}`, { headers: gw.browser(admin) });
      expect(((await asAdmin.json()) as { items: { id: string }[] }).items.map((t) => t.id)).toContain(mine.id);
      expect((await gw.api(`/api/v1/tokens/${mine.id}`, { method: 'DELETE', headers: gw.browser(admin) })).status).toBe(204);
    });

    it('refuses an expiry in the past and unknown scopes, naming the field', async () => {
      const past = await gw.api('/api/v1/tokens', {
        method: 'POST',
        ...json({ name: 'x', scopes: ['prompts:read'], expires_at: '2000-01-01T00:00:00Z' }, gw.browser(editor)),
      });
      expect(past.status).toBe(422);
      expect(((await past.json()) as { errors: { field: string }[] }).errors[0]?.field).toBe('body.expires_at');
      const unknown = await gw.api('/api/v1/tokens', {
        method: 'POST',
        ...json({ name: 'x', scopes: ['root'] }, gw.browser(editor)),
      });
      expect(unknown.status).toBe(422);
    });
  });

  describe('accounts (admins)', () => {
    let admin: Caller;
    beforeAll(async () => {
      admin = await gw.caller('admin');
    });

    it('creates accounts with an ETag, refuses a duplicate email, and pages through them', async () => {
      const created = await gw.api('/api/v1/accounts', {
        method: 'POST',
        ...json({ email: 'New.Editor@Example.com', name: 'New Editor', role: 'editor', password: PASSWORD }, gw.browser(admin)),
      });
      expect(created.status).toBe(201);
      expect(created.headers.get('etag')).toMatch(/^".+"$/);
      expect(await created.json()).toMatchObject({ email: 'new.editor@example.com', role: 'editor', disabled: false });
      const duplicate = await gw.api('/api/v1/accounts', {
        method: 'POST',
        ...json({ email: 'new.editor@example.com', name: 'Again', role: 'viewer', password: PASSWORD }, gw.browser(admin)),
      });
      expect(duplicate.status).toBe(409);

      const seen = new Set<string>();
      let cursor: string | null = null;
      for (let page = 0; page < 50; page++) {
        const response = await gw.api(`/api/v1/accounts?limit=2${cursor ? `&cursor=${cursor}` : ''}`, {
          headers: gw.browser(admin),
        });
        const body = (await response.json()) as { items: { id: string }[]; next_cursor: string | null };
        for (const item of body.items) seen.add(item.id);
        cursor = body.next_cursor;
        if (!cursor) break;
      }
      expect(seen.size).toBe(await count('SELECT count(*) AS n FROM gateway.accounts'));
      expect((await gw.api('/api/v1/accounts?cursor=garbage', { headers: gw.browser(admin) })).status).toBe(400);
    });

    it('honours If-Match: a stale version is a 412 that changes nothing', async () => {
      const target = await gw.caller('viewer');
      const read = await gw.api(`/api/v1/accounts/${target.accountId}`, { headers: gw.browser(admin) });
      const etag = read.headers.get('etag') as string;
      const first = await gw.api(`/api/v1/accounts/${target.accountId}`, {
        method: 'PATCH',
        ...json({ name: 'Renamed once' }, { ...gw.browser(admin), 'if-match': etag }),
      });
      expect(first.status).toBe(200);
      expect(first.headers.get('etag')).not.toBe(etag);
      const stale = await gw.api(`/api/v1/accounts/${target.accountId}`, {
        method: 'PATCH',
        ...json({ name: 'Renamed twice' }, { ...gw.browser(admin), 'if-match': etag }),
      });
      expect(stale.status).toBe(412);
      expect(
        (
          (await (await gw.api(`/api/v1/accounts/${target.accountId}`, { headers: gw.browser(admin) })).json()) as {
            name: string;
          }
        ).name,
      ).toBe('Renamed once');
    });

    it('disabling an account stops its sessions and tokens at once; the last admin cannot be demoted', async () => {
      const target = await gw.caller('editor');
      expect((await gw.api('/api/v1/session', { headers: { authorization: `Bearer ${target.token}` } })).status).toBe(200);
      const disable = await gw.api(`/api/v1/accounts/${target.accountId}`, {
        method: 'PATCH',
        ...json({ disabled: true }, gw.browser(admin)),
      });
      expect(disable.status).toBe(200);
      expect((await gw.api('/api/v1/session', { headers: { authorization: `Bearer ${target.token}` } })).status).toBe(401);
      expect((await gw.api('/api/v1/session', { headers: { cookie: target.cookie } })).status).toBe(401);
      const login = await gw.api('/api/v1/login', { method: 'POST', ...json({ email: target.email, password: PASSWORD }) });
      expect(login.status).toBe(403);

      // Demote every other admin; the last one stays.
      const all = (await (await gw.api('/api/v1/accounts?limit=200', { headers: gw.browser(admin) })).json()) as {
        items: { id: string; role: string; disabled: boolean }[];
      };
      for (const other of all.items.filter((a) => a.role === 'admin' && a.id !== admin.accountId && !a.disabled)) {
        expect(
          (await gw.api(`/api/v1/accounts/${other.id}`, { method: 'PATCH', ...json({ role: 'editor' }, gw.browser(admin)) }))
            .status,
        ).toBe(200);
      }
      const last = await gw.api(`/api/v1/accounts/${admin.accountId}`, {
        method: 'PATCH',
        ...json({ role: 'viewer' }, gw.browser(admin)),
      });
      expect(last.status).toBe(409);
    });

    it('keeps a disabled account’s tokens and sessions ended after it is enabled again, each revocation audited', async () => {
      const target = await gw.caller('editor');
      const second = await gw.token(target.email, 'editor');
      const bearer = (secret: string) => ({ headers: { authorization: `Bearer ${secret}` } });
      const change = (body: unknown) =>
        gw.api(`/api/v1/accounts/${target.accountId}`, { method: 'PATCH', ...json(body, gw.browser(admin)) });

      expect((await change({ disabled: true })).status).toBe(200);
      expect((await change({ disabled: false })).status).toBe(200);
      for (const secret of [target.token, second.secret])
        expect((await gw.api('/api/v1/session', bearer(secret))).status).toBe(401);
      expect((await gw.api('/api/v1/session', { headers: { cookie: target.cookie } })).status).toBe(401);

      const listed = (await (
        await gw.api(`/api/v1/tokens?account_id=${target.accountId}`, { headers: gw.browser(admin) })
      ).json()) as {
        items: { id: string; revoked_at: string | null }[];
      };
      expect(listed.items).toHaveLength(2);
      expect(listed.items.every((token) => token.revoked_at !== null)).toBe(true);
      await expect
        .poll(
          async () => {
            const audit = (await (
              await gw.api('/api/v1/audit?action=token.revoked&limit=200', { headers: gw.browser(admin) })
            ).json()) as { items: { resource: { id: string }; actor: { id: string } }[] };
            return audit.items
              .filter((item) => listed.items.some((token) => token.id === item.resource.id))
              .map((item) => item.actor.id);
          },
          { timeout: 10_000 },
        )
        .toEqual([admin.accountId, admin.accountId]);

      // Enabled again, the account signs in and makes new tokens as before.
      const login = await gw.api('/api/v1/login', {
        method: 'POST',
        ...json({ email: target.email, password: PASSWORD }, origin),
      });
      expect(login.status).toBe(200);
      expect((await gw.api('/api/v1/session', bearer((await gw.token(target.email, 'editor')).secret))).status).toBe(200);
    });
  });

  describe('account names', () => {
    it('names accounts to any signed-in caller, never with their email or role, and refuses bad ids', async () => {
      const author = await gw.caller('editor', 'Ada Author');
      const viewer = await gw.caller('viewer');
      const unknown = '0190f0f0-0000-7000-8000-000000000000';
      const answer = await gw.api(`/api/v1/account-names?id=${author.accountId}&id=${unknown}&id=${author.accountId}`, {
        headers: { authorization: `Bearer ${viewer.token}` },
      });
      expect(answer.status).toBe(200);
      expect(await answer.json()).toEqual({ items: [{ id: author.accountId, name: 'Ada Author', kind: 'human' }] });

      const bad = await gw.api('/api/v1/account-names?id=not-a-uuid', { headers: gw.browser(viewer) });
      expect(bad.status).toBe(400);
      expect(JSON.stringify(await bad.json())).toContain('id');
      expect((await gw.api('/api/v1/account-names', { headers: gw.browser(viewer) })).status).toBe(400);
      const many = Array.from({ length: 101 }, () => `id=${author.accountId}`).join('&');
      expect((await gw.api(`/api/v1/account-names?${many}`, { headers: gw.browser(viewer) })).status).toBe(400);
      expect((await gw.api(`/api/v1/account-names?id=${author.accountId}`)).status).toBe(401);
    });
  });

  describe('the audit log', () => {
    it('holds every change above with before and after, never a password hash or a token secret', async () => {
      const admin = await gw.caller('admin');
      const read = async (query: string) => {
        const response = await gw.api(`/api/v1/audit${query}`, { headers: gw.browser(admin) });
        expect(response.status).toBe(200);
        return (await response.json()) as {
          items: { action: string; before: unknown; after: unknown; actor: { id: string } }[];
          next_cursor: string | null;
        };
      };
      await expect.poll(async () => (await read('?action=token.revoked')).items.length, { timeout: 10_000 }).toBeGreaterThan(0);
      await expect
        .poll(async () => (await read('?action=account.updated&limit=200')).items.length, { timeout: 10_000 })
        .toBeGreaterThan(3);
      const all = await read('?limit=200');
      const actions = new Set(all.items.map((item) => item.action));
      for (const action of ['account.created', 'account.updated', 'token.created', 'token.revoked'])
        expect(actions).toContain(action);
      const text = JSON.stringify(all);
      expect(text).not.toContain('scrypt$');
      expect(text).not.toMatch(/llmops_[A-Za-z0-9_-]{40}/);
      const renamed = all.items.find((item) => JSON.stringify(item.after).includes('Renamed once'));
      expect(renamed).toMatchObject({ action: 'account.updated', actor: { id: expect.any(String) as string } });
      expect(JSON.stringify(renamed?.before)).not.toContain('Renamed once');

      const viewer = await gw.caller('viewer');
      expect((await gw.api('/api/v1/audit', { headers: gw.browser(viewer) })).status).toBe(403);
    });

    it('stores the audit events other services write, once each, and filters and pages them', async () => {
      const pool = createPool({ connectionString: db.adminUrl, applicationName: 'test', max: 1 });
      try {
        const client = await pool.connect();
        await client.query('BEGIN');
        for (let i = 0; i < 5; i++) {
          await publish(client, auditRecorded, {
            actor: { kind: 'account', id: 'someone' },
            action: 'provider.updated',
            service: 'registry',
            resource: { type: 'provider', id: 'p-1' },
            before: { name: `v${i}` },
            after: { name: `v${i + 1}` },
            request_id: `req-${i}`,
            at: new Date(Date.UTC(2030, 0, 1, 0, 0, i)).toISOString(),
          });
        }
        await client.query('COMMIT');
        client.release();
      } finally {
        await pool.end();
      }
      const admin = await gw.caller('admin');
      const page = async (query: string) =>
        (await (await gw.api(`/api/v1/audit${query}`, { headers: gw.browser(admin) })).json()) as {
          items: { request_id: string; service: string }[];
          next_cursor: string | null;
        };
      await expect
        .poll(async () => (await page('?resource_type=provider&resource_id=p-1&limit=200')).items.length, { timeout: 10_000 })
        .toBe(5);
      const first = await page('?service=registry&limit=2');
      expect(first.items.map((i) => i.request_id)).toEqual(['req-4', 'req-3']);
      const second = await page(`?service=registry&limit=2&cursor=${first.next_cursor}`);
      expect(second.items.map((i) => i.request_id)).toEqual(['req-2', 'req-1']);
      const since = await page('?service=registry&since=2030-01-01T00:00:03Z');
      expect(since.items.map((i) => i.request_id)).toEqual(['req-4', 'req-3']);
      expect(await count(`SELECT count(*) AS n FROM gateway.audit_log WHERE service = 'registry'`)).toBe(5);
    });
  });
});
