import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { formatKeyring, generateMasterKey } from '@llmops/kit/crypto/keyring';
import { generatePasswords } from '@llmops/kit/roles';
import { SERVICES } from '@llmops/kit/services';

/**
 * Secrets a local install generates once and keeps in the data folder (mode 0600): the embedded
 * server's admin password, the internal identity secret and each service role's password.
 */
const LocalSecretsSchema = z.object({
  postgresPassword: z.string().min(16),
  internalSecret: z.string().min(32),
  servicePasswords: z.object(
    Object.fromEntries(SERVICES.map((s) => [s, z.string().min(16)])) as Record<(typeof SERVICES)[number], z.ZodString>,
  ),
});
export type LocalSecrets = z.infer<typeof LocalSecretsSchema>;

export function loadOrCreateSecrets(dataDir: string): LocalSecrets {
  const path = join(dataDir, 'secrets.json');
  if (existsSync(path)) {
    const parsed = LocalSecretsSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    if (!parsed.success) throw new Error(`${path} is damaged (${parsed.error.message}); restore it from a backup`);
    return parsed.data;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  const secrets: LocalSecrets = {
    postgresPassword: randomBytes(24).toString('base64url'),
    internalSecret: randomBytes(48).toString('base64url'),
    servicePasswords: generatePasswords(),
  };
  writeFileSync(path, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return secrets;
}

/**
 * The master keyring of the embedded default (ADR 0007): `.data/master-keys`, mode 0600, one line in
 * the LLMOPS_MASTER_KEYS format (current key first). Made on first start; `key rotate` rewrites it.
 * With DATABASE_URL set nothing is generated: the operator gives the registry LLMOPS_MASTER_KEYS.
 */
export const masterKeysPath = (dataDir: string) => join(dataDir, 'master-keys');

export function readMasterKeys(dataDir: string): string | undefined {
  const path = masterKeysPath(dataDir);
  return existsSync(path) ? readFileSync(path, 'utf8').trim() : undefined;
}

export function writeMasterKeys(dataDir: string, value: string): void {
  const path = masterKeysPath(dataDir);
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${value}\n`, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
}

export function loadOrCreateMasterKeys(dataDir: string): string {
  const existing = readMasterKeys(dataDir);
  if (existing) return existing;
  mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  const value = formatKeyring([generateMasterKey()]);
  writeMasterKeys(dataDir, value);
  return value;
}
