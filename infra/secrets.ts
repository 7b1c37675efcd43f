import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
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
