import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { formatKeyring, generateMasterKey } from '@llmops/kit/crypto/keyring';
import { generatePasswords } from '@llmops/kit/roles';
import { SERVICES } from '@llmops/kit/services';

/**
 * Secrets a local install generates once and keeps in the data folder (mode 0600): the embedded
 * server's admin password, the internal identity secret, each service role's password, and the
 * dashboard server's own secret towards the gateway (never the internal one: the web must not be able
 * to sign service identities).
 */
const LocalSecretsSchema = z.object({
  postgresPassword: z.string().min(16),
  internalSecret: z.string().min(32),
  servicePasswords: z.object(
    Object.fromEntries(SERVICES.map((s) => [s, z.string().min(16)])) as Record<(typeof SERVICES)[number], z.ZodString>,
  ),
  webProxySecret: z.string().min(32),
  /** The bearer token of every service's /metrics (LLMOPS_METRICS_TOKEN). */
  metricsToken: z.string().min(32),
});
export type LocalSecrets = z.infer<typeof LocalSecretsSchema>;

/** A file made before a secret existed gets it added, keeping every other value. */
const StoredSecretsSchema = LocalSecretsSchema.partial({ webProxySecret: true, metricsToken: true });

const newWebProxySecret = () => randomBytes(48).toString('base64url');
const newMetricsToken = () => randomBytes(32).toString('base64url');

export function loadOrCreateSecrets(dataDir: string): LocalSecrets {
  const path = join(dataDir, 'secrets.json');
  if (existsSync(path)) {
    const parsed = StoredSecretsSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
    if (!parsed.success) throw new Error(`${path} is damaged (${parsed.error.message}); restore it from a backup`);
    const { webProxySecret, metricsToken, ...stored } = parsed.data;
    if (webProxySecret !== undefined && metricsToken !== undefined) return { ...stored, webProxySecret, metricsToken };
    const upgraded: LocalSecrets = {
      ...stored,
      webProxySecret: webProxySecret ?? newWebProxySecret(),
      metricsToken: metricsToken ?? newMetricsToken(),
    };
    writePrivateFile(path, `${JSON.stringify(upgraded, null, 2)}\n`);
    return upgraded;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  const secrets: LocalSecrets = {
    postgresPassword: randomBytes(24).toString('base64url'),
    internalSecret: randomBytes(48).toString('base64url'),
    servicePasswords: generatePasswords(),
    webProxySecret: newWebProxySecret(),
    metricsToken: newMetricsToken(),
  };
  writePrivateFile(path, `${JSON.stringify(secrets, null, 2)}\n`);
  return secrets;
}

/** Writes a file only its owner may read, whole or not at all (a temporary file renamed over it). */
function writePrivateFile(path: string, text: string): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode: 0o600 });
  chmodSync(temporary, 0o600);
  renameSync(temporary, path);
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
  writePrivateFile(masterKeysPath(dataDir), `${value}\n`);
}

export function loadOrCreateMasterKeys(dataDir: string): string {
  const existing = readMasterKeys(dataDir);
  if (existing) return existing;
  mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  const value = formatKeyring([generateMasterKey()]);
  writeMasterKeys(dataDir, value);
  return value;
}
