import { SignJWT } from 'jose';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { createLogger } from '../logger.ts';
import { createServiceApp } from './app.ts';
import { mountHealth } from './health.ts';
import {
  createIdentitySigner,
  IDENTITY_HEADER,
  requireIdentity,
  signIdentity,
  verifyIdentity,
  type Identity,
} from './identity.ts';

const secret = 's'.repeat(40);
const editor: Identity = { kind: 'account', subject: 'acc-1', role: 'editor', scopes: ['tasks:write'], requestId: 'r1' };

function app() {
  const a = createServiceApp({
    service: 'registry',
    log: createLogger({ service: 't', level: 'silent' }),
    guard: requireIdentity(secret, 'registry'),
  });
  mountHealth(a, 'registry', {});
  a.get('/whoami', (c) => c.json(c.get('identity')));
  return a;
}

describe('internal identity', () => {
  it('lets a request with a valid assertion for this service through, with the identity', async () => {
    const token = await signIdentity(secret, editor, 'registry');
    const response = await app().request('/whoami', { headers: { [IDENTITY_HEADER]: token } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(editor);
  });

  it('refuses requests without an assertion, with another audience, another secret or expired', async () => {
    const status = async (token?: string) =>
      (await app().request('/whoami', { headers: token ? { [IDENTITY_HEADER]: token } : {} })).status;
    expect(await status()).toBe(401);
    expect(await status(await signIdentity(secret, editor, 'runner'))).toBe(401);
    expect(await status(await signIdentity('t'.repeat(40), editor, 'registry'))).toBe(401);
    const expired = await new SignJWT({ identity: editor })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('llmops')
      .setAudience('registry')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 600)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 300)
      .sign(new TextEncoder().encode(secret));
    const response = await app().request('/whoami', { headers: { [IDENTITY_HEADER]: expired } });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { detail: string }).detail).toContain('expired');
  });

  it("accepts a service's reused assertion until it expires, then refuses it", async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    onTestFinished(() => void vi.useRealTimers());
    const token = await signIdentity(secret, { kind: 'service', subject: 'runner' }, 'registry');
    const status = async () => (await app().request('/whoami', { headers: { [IDENTITY_HEADER]: token } })).status;
    expect(await status()).toBe(200);
    vi.advanceTimersByTime(59_000);
    expect(await status()).toBe(200);
    expect(await verifyIdentity(secret, token, 'prompt').catch((error: Error) => error.message)).toContain('not for prompt');
    vi.advanceTimersByTime(2_000);
    const response = await app().request('/whoami', { headers: { [IDENTITY_HEADER]: token } });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { detail: string }).detail).toContain('expired');
  });

  it('accepts service identities and leaves the probes open', async () => {
    const token = await signIdentity(secret, { kind: 'service', subject: 'runner', requestId: 'r2' }, 'registry');
    expect((await app().request('/whoami', { headers: { [IDENTITY_HEADER]: token } })).status).toBe(200);
    expect((await app().request('/healthz')).status).toBe(200);
    expect((await app().request('/readyz')).status).toBe(200);
  });
});

describe('the identity signer', () => {
  it("reuses a service's assertion while half its life is left, then signs a new one", async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    onTestFinished(() => void vi.useRealTimers());
    const signer = createIdentitySigner(secret);
    const runner: Identity = { kind: 'service', subject: 'runner' };
    const first = await signer.sign(runner, 'registry');
    expect(await signer.sign(runner, 'registry')).toBe(first);
    expect(await signer.sign(runner, 'prompt')).not.toBe(first);
    expect(await signer.sign({ kind: 'service', subject: 'prompt' }, 'registry')).not.toBe(first);
    vi.advanceTimersByTime(29_000);
    expect(await signer.sign(runner, 'registry')).toBe(first);
    vi.advanceTimersByTime(2_000);
    const second = await signer.sign(runner, 'registry');
    expect(second).not.toBe(first);
    const whoami = await app().request('/whoami', { headers: { [IDENTITY_HEADER]: second } });
    expect(await whoami.json()).toEqual(runner);
  });

  it("signs an identity that names a request for that request alone (the gateway's, per caller)", async () => {
    const signer = createIdentitySigner(secret);
    const tokens = await Promise.all([signer.sign(editor, 'registry'), signer.sign({ ...editor, requestId: 'r2' }, 'registry')]);
    const seen = await Promise.all(
      tokens.map(async (token) => (await app().request('/whoami', { headers: { [IDENTITY_HEADER]: token } })).json()),
    );
    expect(seen).toEqual([editor, { ...editor, requestId: 'r2' }]);
  });
  it("reuses an account's request-less assertion only for the same role, scopes and audience", async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    onTestFinished(() => void vi.useRealTimers());
    const signer = createIdentitySigner(secret);
    const account: Identity = { kind: 'account', subject: 'acc-9', role: 'editor', scopes: ['tasks:write'] };
    const first = await signer.sign(account, 'registry');
    expect(await signer.sign({ ...account, scopes: ['tasks:write'] }, 'registry')).toBe(first);
    const others = await Promise.all([
      signer.sign({ ...account, role: 'viewer' }, 'registry'),
      signer.sign({ ...account, scopes: ['tasks:write', 'admin'] }, 'registry'),
      signer.sign({ ...account, scopes: [] }, 'registry'),
      signer.sign({ ...account, subject: 'acc-10' }, 'registry'),
      signer.sign(account, 'runner'),
    ]);
    expect(new Set([first, ...others]).size).toBe(6);
    const seen = await Promise.all(
      [first, others[0] as string].map(async (token) =>
        (await app().request('/whoami', { headers: { [IDENTITY_HEADER]: token } })).json(),
      ),
    );
    expect(seen).toEqual([account, { ...account, role: 'viewer' }]);
    vi.advanceTimersByTime(31_000);
    expect(await signer.sign(account, 'registry')).not.toBe(first);
  });
});

describe('verifying reused assertions', () => {
  it('trusts a verified one until its expiry, for its audience only, and never under another secret', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    onTestFinished(() => void vi.useRealTimers());
    const account: Identity = { kind: 'account', subject: 'acc-11', role: 'viewer', scopes: [] };
    const token = await signIdentity(secret, account, 'registry');
    expect(await verifyIdentity(secret, token, 'registry')).toEqual(account);
    expect(await verifyIdentity(secret, token, 'registry')).toEqual(account);
    // The secret rotated (every service restarted with another): what was verified under the old one is not trusted.
    const rotated = 'r'.repeat(40);
    await expect(verifyIdentity(rotated, token, 'registry')).rejects.toThrow('not valid');
    await expect(verifyIdentity(secret, token, 'runner')).rejects.toThrow('not for runner');
    vi.advanceTimersByTime(61_000);
    await expect(verifyIdentity(secret, token, 'registry')).rejects.toThrow('expired');
  });

  it('refuses a token whose signature was altered even after the genuine one was verified', async () => {
    const token = await signIdentity(secret, { kind: 'service', subject: 'runner' }, 'registry');
    await verifyIdentity(secret, token, 'registry');
    const [header, payload] = token.split('.');
    const forged = `${header}.${payload}.${'A'.repeat(43)}`;
    await expect(verifyIdentity(secret, forged, 'registry')).rejects.toThrow('not valid');
  });
});
