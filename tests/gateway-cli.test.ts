/**
 * The operator CLI's account and token commands (issue 6), run as a process against a test database:
 * the first-run link while no account exists, an account with a password from stdin, a token printed
 * once that works at the gateway, and its revocation.
 */
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { startGateway, type GatewayHarness } from './gateway-support.ts';

const db = await useTestDatabase();
const CLI = fileURLToPath(new URL('../infra/cli.ts', import.meta.url));
const env = () => ({
  ...process.env,
  LLMOPS_DATA_DIR: '/nonexistent',
  DATABASE_URL: db.adminUrl,
  WEB_URL: 'http://dashboard.test',
});
const cli = (args: string[]) => promisify(execFile)(process.execPath, [CLI, ...args], { env: env() });

function withStdin(args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: env() });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

const PASSWORD = 'a strong password here';
/** `account create` with the password on stdin. */
const createAccount = (email: string, role: string) =>
  withStdin(['account', 'create', '--email', email, '--name', 'Ops', '--role', role, '--password-stdin'], `${PASSWORD}\n`);

describe('the operator CLI: accounts and tokens', () => {
  let gw: GatewayHarness;
  beforeAll(async () => {
    gw = await startGateway(db, { services: [] });
  });
  afterAll(() => gw?.stop());

  it('prints the first-run link while no account exists', async () => {
    const { stdout } = await cli(['account', 'setup-link']);
    const link = /http:\/\/dashboard\.test\/setup\?code=([A-Za-z0-9_-]+)/.exec(stdout);
    expect(link).not.toBeNull();
    expect(await (await gw.api(`/api/v1/setup?code=${link?.[1]}`)).json()).toEqual({ setup_needed: true, code_valid: true });
  });

  it('creates an account with the password from stdin; it can sign in', async () => {
    const made = await createAccount('Ops@Example.com', 'admin');
    expect(made.code).toBe(0);
    expect(made.stdout).toContain('Created admin account ops@example.com');
    expect(made.stdout).not.toContain(PASSWORD);
    const login = await gw.api('/api/v1/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'ops@example.com', password: PASSWORD }),
    });
    expect(login.status).toBe(200);
    const again = await cli(['account', 'setup-link']).catch((error: unknown) => error as { stderr: string });
    expect((again as { stderr: string }).stderr).toContain('setup is done');
  });

  it('prints a token once that works at the gateway, and revokes it', async () => {
    const { stdout, stderr } = await cli(['token', 'create', '--role', 'admin', '--name', 'deploy']);
    const secret = stdout.trim();
    expect(secret).toMatch(/^llmops_[A-Za-z0-9_-]{43}$/);
    expect(stderr).toContain('admin-automation@llmops.invalid');
    const id = /Token ([0-9a-f-]{36})/.exec(stderr)?.[1] as string;
    const session = await gw.api('/api/v1/session', { headers: { authorization: `Bearer ${secret}` } });
    expect(await session.json()).toMatchObject({ via: 'token', account: { role: 'admin' } });

    const scoped = await cli([
      'token',
      'create',
      '--role',
      'viewer',
      '--name',
      'reader',
      '--account',
      'ops@example.com',
      '--scopes',
      'prompts:read',
    ]);
    const reader = scoped.stdout.trim();
    expect((await gw.api('/api/v1/accounts', { headers: { authorization: `Bearer ${reader}` } })).status).toBe(403);

    const revoked = await cli(['token', 'revoke', id]);
    expect(revoked.stdout).toContain(`Revoked token ${id}`);
    // Another process revoked it: the gateway learns it from the bus.
    await expect
      .poll(async () => (await gw.api('/api/v1/session', { headers: { authorization: `Bearer ${secret}` } })).status, {
        timeout: 10_000,
      })
      .toBe(401);
  });

  it("refuses a bad email by the API's rule, not with a database error (usage: exit 2)", async () => {
    const made = await createAccount('not-an-email', 'editor');
    expect(made.code).toBe(2);
    expect(made.stderr).toBe('Could not create the account:\n  --email: expected an email address such as editor@example.com\n');
  });

  it('refuses unknown scopes and roles with a message', async () => {
    const error = (await cli(['token', 'create', '--role', 'admin', '--name', 'x', '--scopes', 'root']).catch(
      (e: unknown) => e,
    )) as { stderr: string };
    expect(error.stderr).toContain('Unknown scope(s) root');
    const role = (await cli(['token', 'create', '--role', 'god', '--name', 'x']).catch((e: unknown) => e)) as { stderr: string };
    expect(role.stderr).toContain('--role admin');
  });
});
