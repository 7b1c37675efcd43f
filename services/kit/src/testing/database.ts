import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPgError, PgCode, quoteIdent, withClient, withDatabase } from '../db.ts';
import { startEmbeddedPostgresChild, type EmbeddedChild } from '../embedded-child.ts';
import { provisionLogins, serviceDatabaseUrl, type ServicePasswords } from '../roles.ts';
import { applySchema, readSqlFiles } from '../schema.ts';
import { SERVICES, type ServiceName } from '../services.ts';

/** Login roles of the test suite: deployment `test`, one known password (test servers are throwaway). */
export const TEST_DEPLOYMENT = 'test';
export const TEST_PASSWORDS = Object.fromEntries(SERVICES.map((s) => [s, `llmops-test-${s}`])) as ServicePasswords;

/** A free TCP port on loopback, for a server that cannot take port 0 (PostgreSQL). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface TestCluster {
  /** Admin URL of the server (database `postgres`). */
  adminUrl: string;
  /** The template database every test file's database is cloned from. */
  template: string;
  stop(): Promise<void>;
}

/**
 * Once per test run: a PostgreSQL server (TEST_DATABASE_URL, else a throwaway embedded cluster), and a
 * template database built from sql/. The template's name carries a hash of sql/, so a server that keeps
 * it between runs rebuilds it exactly when the schema changes.
 */
export async function startTestCluster(serverUrl = process.env.TEST_DATABASE_URL): Promise<TestCluster> {
  let embedded: EmbeddedChild | undefined;
  let parent: string | undefined;
  let adminUrl: string;
  if (serverUrl) {
    adminUrl = serverUrl;
  } else {
    parent = mkdtempSync(join(tmpdir(), 'llmops-test-pg-'));
    chmodSync(parent, 0o755); // the postgres system user must be able to enter it
    embedded = await startEmbeddedPostgresChild({
      dataDir: join(parent, 'data'),
      port: await freePort(),
      password: randomBytes(12).toString('hex'),
      persistent: false,
    });
    adminUrl = embedded.url;
  }
  const hash = createHash('sha256')
    .update(
      readSqlFiles()
        .map((file) => `${file.name}:${file.checksum}`)
        .join('\n'),
    )
    .digest('hex')
    .slice(0, 12);
  const template = `llmops_template_${hash}`;
  await buildTemplate(adminUrl, template);
  await provisionLogins(adminUrl, TEST_DEPLOYMENT, TEST_PASSWORDS);
  return {
    adminUrl,
    template,
    stop: async () => {
      await embedded?.stop();
      if (parent) rmSync(parent, { recursive: true, force: true });
    },
  };
}

async function buildTemplate(adminUrl: string, template: string): Promise<void> {
  const exists = await withClient(adminUrl, async (client) => {
    // A lock so two runs against one server do not both build it.
    await client.query('SELECT pg_advisory_lock(7400003)');
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
    if (found.rowCount === 1) return true;
    await client.query(`CREATE DATABASE ${quoteIdent(template)}`);
    return false;
  });
  if (exists) return;
  try {
    await applySchema(withDatabase(adminUrl, template));
  } catch (error) {
    await withClient(adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${quoteIdent(template)}`));
    throw error;
  }
}

export interface TestDatabase {
  name: string;
  /** Admin URL of this database. */
  adminUrl: string;
  /** The URL a service uses: its own login role, as in production. */
  urlFor(service: ServiceName): string;
  /** Drops the database (kept instead when `keep` is true, for inspection after a failure). */
  drop(options?: { keep?: boolean }): Promise<void>;
}

/** A fresh database for one test file, cloned from the template in milliseconds. */
export async function createTestDatabase(cluster: Pick<TestCluster, 'adminUrl' | 'template'>): Promise<TestDatabase> {
  const name = `llmops_test_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  await withClient(cluster.adminUrl, async (client) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(cluster.template)}`);
        return;
      } catch (error) {
        // "source database is being accessed by other users": another worker is cloning right now.
        if (attempt < 50 && isPgError(error, '55006')) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          continue;
        }
        throw error;
      }
    }
  });
  const adminUrl = withDatabase(cluster.adminUrl, name);
  return {
    name,
    adminUrl,
    urlFor: (service) => serviceDatabaseUrl(adminUrl, service, TEST_DEPLOYMENT, TEST_PASSWORDS),
    drop: async ({ keep = false } = {}) => {
      if (keep) return;
      await withClient(cluster.adminUrl, (client) =>
        client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`),
      ).catch((error: unknown) => {
        if (!isPgError(error, PgCode.invalidCatalogName)) throw error;
      });
    },
  };
}
