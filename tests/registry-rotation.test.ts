/** Master key rotation (ADR 0007): every key re-encrypted while processes on the previous keyring keep working. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { formatKeyring, generateMasterKey, keyringOf, parseKeyring } from '@llmops/kit/crypto/keyring';
import { withClient } from '@llmops/kit/db';
import { startStack, type Stack } from '@llmops/kit/testing/stack';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { RotationRefused, rotateKeys } from '@llmops/registry/operator';
import { registryApi, runner } from './registry-support.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const db = await useTestDatabase();
const stacks: Stack[] = [];
afterAll(async () => {
  for (const stack of stacks) await stack.stop();
});

const keyA = generateMasterKey();
const keyringA = formatKeyring([keyA]);
const BASE = 'http://127.0.0.1:9';

async function registry(keyring: string) {
  const stack = await startStack({ db, services: ['registry'], env: { LLMOPS_MASTER_KEYS: keyring } });
  stacks.push(stack);
  return registryApi(stack);
}

/** The keyring every key of this database is under, as the tests rotate it. */
let lineage = keyringA;

/** `npm run llmops -- key rotate …` with only the given environment; its exit code and everything it printed. */
async function keyRotate(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'infra/cli.ts'), 'key', 'rotate', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, DATABASE_URL: db.adminUrl, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, out };
}

/** A provider with a key, through the registry's API; its id. */
async function providerWithKey(api: Awaited<ReturnType<typeof registry>>, name: string, key: string): Promise<string> {
  const created = await api('POST', '/providers', { name, kind: 'anthropic', base_url: BASE, api_key: key });
  expect(created.status, created.text).toBe(201);
  return created.body.id;
}

const providerRows = () =>
  withClient(db.adminUrl, async (client) => (await client.query('SELECT * FROM registry.providers ORDER BY id')).rows);

describe('master key rotation', () => {
  it('re-encrypts every key under the new key while a process on the previous keyring keeps working', async () => {
    const old = await registry(keyringA);
    const ids: string[] = [];
    for (const [index, key] of ['sk-rot-one-1111', 'sk-rot-two-2222'].entries()) {
      const created = await old('POST', '/providers', {
        name: `rotating ${index}`,
        kind: 'openai',
        base_url: BASE,
        api_key: key,
      });
      ids.push(created.body.id);
    }
    const from = parseKeyring(keyringA);
    const to = keyringOf([generateMasterKey(), keyA]);
    const result = await rotateKeys(db.adminUrl, { from, to });
    expect(result.reencrypted).toBeGreaterThanOrEqual(2);
    const envelopes = await withClient(
      db.adminUrl,
      async (client) =>
        (await client.query('SELECT id, api_key_envelope FROM registry.providers WHERE id = ANY($1::uuid[])', [ids])).rows,
    );
    for (const row of envelopes) expect(row.api_key_envelope.split(':')[1]).toBe(to.current.id);

    // The process started before the rotation (keyring A only) still decrypts, through the previous envelope.
    expect((await old('GET', `/internal/providers/${ids[0]}/credential`, undefined, { as: runner })).body.api_key).toBe(
      'sk-rot-one-1111',
    );
    // A process on the new keyring, and one holding only the new key, decrypt the new envelopes.
    const fresh = await registry(formatKeyring(to.keys));
    expect((await fresh('GET', `/internal/providers/${ids[1]}/credential`, undefined, { as: runner })).body.api_key).toBe(
      'sk-rot-two-2222',
    );
    const onlyNew = await registry(formatKeyring([to.current]));
    expect((await onlyNew('GET', `/internal/providers/${ids[1]}/credential`, undefined, { as: runner })).body.api_key).toBe(
      'sk-rot-two-2222',
    );

    // A key written by the old process after the rotation is still readable by the new ones (A stays in their ring).
    await old('PATCH', `/providers/${ids[0]}`, { api_key: 'sk-rot-one-3333' });
    expect((await fresh('GET', `/internal/providers/${ids[0]}/credential`, undefined, { as: runner })).body.api_key).toBe(
      'sk-rot-one-3333',
    );

    // Rotating again, dropping previous envelopes: a process still on keyring A can no longer decrypt, and says why.
    const next = keyringOf([generateMasterKey(), to.current]);
    await rotateKeys(db.adminUrl, { from: to, to: next, dropPrevious: true });
    lineage = formatKeyring(next.keys);
    const stale = await old('GET', `/internal/providers/${ids[1]}/credential`, undefined, { as: runner });
    expect(stale.status).toBe(409);
    expect(stale.body.type).toMatch(/credential-unreadable$/);
    expect(stale.body.detail).toContain(next.current.id);
    expect(stale.text).not.toContain('sk-rot');
    const audits = await withClient(
      db.adminUrl,
      async (client) =>
        (
          await client.query(
            `SELECT payload FROM bus.outbox WHERE topic = 'audit.change.recorded' AND payload->>'action' = 'keyring.rotated'`,
          )
        ).rows,
    );
    expect(audits).toHaveLength(2);
  });

  it('refuses to drop a master key that still seals a credential: nothing changes, and it says how to re-seal', async () => {
    // A rotation, whose new keyring never reached LLMOPS_MASTER_KEYS; then `key rotate` again with the
    // old one. The keys are sealed with the master key it lacks, and its new keyring would drop that key:
    // only the previous envelopes would still open, until they are dropped too.
    const old = parseKeyring(lineage);
    const api = await registry(lineage);
    const id = await providerWithKey(api, 'sealed now', 'sk-now-5555');
    const current = keyringOf([generateMasterKey(), old.current]);
    await rotateKeys(db.adminUrl, { from: old, to: current });
    lineage = formatKeyring(current.keys);
    const stale = old;
    const before = await providerRows();
    for (const dropPrevious of [false, true]) {
      const to = keyringOf([generateMasterKey(), ...stale.keys]);
      const refused = await rotateKeys(db.adminUrl, { from: stale, to, dropPrevious }).then(
        () => undefined,
        (error: Error) => error,
      );
      expect(refused).toBeInstanceOf(RotationRefused);
      expect(refused?.message).toContain(`sealed with master key "${current.current.id}", which is not in the keyring given`);
      expect(refused?.message).toMatch(/^Nothing was changed/);
      expect(refused?.message).toMatch(/PATCH \/api\/v1\/providers\/\{id\} with api_key/);
    }
    expect(await providerRows()).toEqual(before);
    const fresh = await registry(lineage);
    expect((await fresh('GET', `/internal/providers/${id}/credential`, undefined, { as: runner })).body.api_key).toBe(
      'sk-now-5555',
    );

    // The CLI says the same, and prints no new keyring to put in place.
    const { code, out } = await keyRotate(['--drop-previous'], { LLMOPS_MASTER_KEYS: formatKeyring(stale.keys) });
    expect(code, out).not.toBe(0);
    expect(out).toContain(current.current.id);
    expect(out).not.toContain('LLMOPS_MASTER_KEYS=');
    expect(out).not.toMatch(/at .*\.ts:\d+/);
  });

  it('`npm run llmops -- key rotate` rewrites the embedded keyring (0600) first, then re-encrypts', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'llmops-keys-'));
    const keyring = lineage;
    writeFileSync(join(dataDir, 'master-keys'), `${keyring}\n`, { mode: 0o600 });
    const api = await registry(keyring);
    const id = await providerWithKey(api, 'cli rotated', 'sk-ant-cli-4444');
    const { code, out } = await keyRotate([], { LLMOPS_DATA_DIR: dataDir });
    expect(code, out).toBe(0);
    expect(out).toMatch(/Re-encrypted \d+ provider key/);
    expect(out).not.toContain('sk-ant-cli-4444');
    const path = join(dataDir, 'master-keys');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const rotated = parseKeyring(readFileSync(path, 'utf8'));
    expect(rotated.keys).toHaveLength(2);
    expect(rotated.keys[1]?.id).toBe(parseKeyring(keyring).current.id);
    expect(rotated.current.id).not.toBe(parseKeyring(keyring).current.id);
    expect((await api('GET', `/internal/providers/${id}/credential`, undefined, { as: runner })).body.api_key).toBe(
      'sk-ant-cli-4444',
    );
    const restarted = await registry(readFileSync(path, 'utf8').trim());
    expect((await restarted('GET', `/internal/providers/${id}/credential`, undefined, { as: runner })).body.api_key).toBe(
      'sk-ant-cli-4444',
    );
  });
});
