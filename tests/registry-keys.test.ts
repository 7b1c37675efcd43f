/**
 * Keys at rest and in motion (ADR 0007): the runner-only credential route, no key anywhere it must not
 * be (logs, events, audit records, the gateway's audit log, responses, the database in plain text),
 * and start-up without a keyring. Rotation: registry-rotation.test.ts.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { formatKeyring, generateMasterKey } from '@llmops/kit/crypto/keyring';
import { PUBLIC_ROUTES } from '@llmops/kit/contracts/index';
import { withClient } from '@llmops/kit/db';
import { createLogger } from '@llmops/kit/logger';
import { startStack, type Stack } from '@llmops/kit/testing/stack';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { startEmulator } from '@llmops/emulator/server';
import { admin, editor, promptService, registryApi, runner, type Answer } from './registry-support.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const db = await useTestDatabase();
const emu = await startEmulator({ apiKeys: ['sk-live-SECRET-openai-7Q2x', 'sk-ant-SECRET-claude-9Z4w'] });
const stacks: Stack[] = [];
afterAll(async () => {
  for (const stack of stacks) await stack.stop();
  await emu.stop();
});

const keyA = generateMasterKey();
const keyringA = formatKeyring([keyA]);

async function registry(keyring: string, extra: Record<string, string> = {}) {
  const stack = await startStack({ db, services: ['registry'], env: { LLMOPS_MASTER_KEYS: keyring, ...extra } });
  stacks.push(stack);
  return registryApi(stack);
}

describe('the credential route', () => {
  it('answers only the runner service identity, with the decrypted key; it is not a public route', async () => {
    const api = await registry(keyringA);
    const created = await api('POST', '/providers', {
      name: 'for the runner',
      kind: 'openai',
      base_url: emu.baseUrl('openai'),
      api_key: 'sk-live-SECRET-openai-7Q2x',
      project: 'proj-1',
    });
    const path = `/internal/providers/${created.body.id}/credential`;
    const got = await api('GET', path, undefined, { as: runner });
    expect(got.status).toBe(200);
    expect(got.headers.get('cache-control')).toBe('no-store');
    expect(got.body).toMatchObject({ api_key: 'sk-live-SECRET-openai-7Q2x', kind: 'openai', project: 'proj-1', enabled: true });
    for (const as of [admin, editor, promptService]) expect((await api('GET', path, undefined, { as })).status).toBe(403);
    expect(PUBLIC_ROUTES.some((route) => route.route.path.startsWith('/internal'))).toBe(false);
  });
});

describe('keys never leak', () => {
  it('after a run that used keys, none appears in logs, events, audit records, the audit log or responses', async () => {
    const lines: string[] = [];
    const destination = new PassThrough();
    destination.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
    const stack = await startStack({
      db,
      services: ['registry', 'gateway'],
      log: createLogger({ service: 'test', level: 'trace', destination }),
    });
    stacks.push(stack);
    const api = registryApi(stack);
    const answers: Answer[] = [];
    const call = async (...args: Parameters<typeof api>) => {
      const answer = await api(...args);
      answers.push(answer);
      return answer;
    };
    const openai = await call('POST', '/providers', {
      name: 'leak openai',
      kind: 'openai',
      base_url: emu.baseUrl('openai'),
      api_key: 'sk-live-SECRET-openai-7Q2x',
    });
    const claude = await call('POST', '/providers', {
      name: 'leak claude',
      kind: 'anthropic',
      base_url: emu.baseUrl('anthropic'),
      api_key: 'sk-ant-SECRET-claude-9Z4w',
    });
    expect((await call('POST', `/providers/${openai.body.id}/test`)).body.ok).toBe(true);
    expect((await call('POST', `/providers/${claude.body.id}/test`)).body.ok).toBe(true);
    await call('GET', `/providers/${openai.body.id}/remote-models`);
    await call('POST', `/providers/${openai.body.id}/models/import`, { models: [{ provider_model_id: 'emu-gpt-small' }] });
    await call('PATCH', `/providers/${claude.body.id}`, { api_key: 'sk-ant-SECRET-wrong-0000' });
    expect((await call('POST', `/providers/${claude.body.id}/test`)).body.ok).toBe(false);
    await call('GET', `/providers/${claude.body.id}/remote-models`);
    await call('PATCH', `/providers/${claude.body.id}`, { api_key: 'sk-ant-SECRET-claude-9Z4w' });
    await call('GET', '/providers');
    // The runner's fetch is the one place a key may appear; its response is not among the checked ones.
    expect((await api('GET', `/internal/providers/${openai.body.id}/credential`, undefined, { as: runner })).body.api_key).toBe(
      'sk-live-SECRET-openai-7Q2x',
    );
    await call('DELETE', `/providers/${claude.body.id}`);

    const { outbox, auditLog, stored } = await withClient(db.adminUrl, async (client) => {
      await expect
        .poll(
          async () => {
            const { rows } = await client.query<{ behind: string }>(
              `SELECT (SELECT count(*) FROM bus.outbox WHERE topic = 'audit.change.recorded') - (SELECT count(*) FROM gateway.audit_log) AS behind`,
            );
            return Number(rows[0]?.behind);
          },
          { timeout: 10_000 },
        )
        .toBe(0);
      return {
        outbox: (await client.query('SELECT topic, key, payload, headers FROM bus.outbox')).rows,
        auditLog: (await client.query('SELECT * FROM gateway.audit_log')).rows,
        stored: (await client.query('SELECT * FROM registry.providers')).rows,
      };
    });
    expect(outbox.some((row) => row.topic === 'registry.provider.changed')).toBe(true);
    expect(auditLog.length).toBeGreaterThan(5);
    expect(lines.length).toBeGreaterThan(10);
    const haystacks = {
      logs: lines.join(''),
      events: JSON.stringify(outbox),
      'audit log': JSON.stringify(auditLog),
      responses: answers.map((a) => a.text).join('\n'),
      'registry rows': JSON.stringify(stored),
    };
    for (const [where, text] of Object.entries(haystacks)) {
      for (const secret of ['sk-live-SECRET-openai-7Q2x', 'sk-ant-SECRET-claude-9Z4w', 'sk-ant-SECRET-wrong-0000', 'SECRET']) {
        expect(text.includes(secret), `"${secret}" found in ${where}`).toBe(false);
      }
    }
    expect(haystacks.responses).toContain('…7Q2x');
  });
});

describe('start-up without a keyring', () => {
  it('fails at once with a message that says how to make one', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'services/registry/src/main.ts')], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, DATABASE_URL: db.urlFor('registry'), LLMOPS_INTERNAL_SECRET: 'x'.repeat(40), PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(78);
    expect(stderr).toContain('LLMOPS_MASTER_KEYS');
    expect(stderr).toContain("randomBytes(32).toString('base64')");
  });

  it('refuses a malformed keyring, naming what is wrong and never echoing it', async () => {
    await expect(startStack({ db, services: ['registry'], env: { LLMOPS_MASTER_KEYS: 'k1:c2hvcnQ=' } })).rejects.toThrow(
      /key "k1" .* not 32 bytes/,
    );
  });
});
