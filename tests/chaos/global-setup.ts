import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { withClient, withDatabase } from '@llmops/kit/db';
import { startEmbeddedPostgres } from '@llmops/kit/embedded';
import { provisionLogins } from '@llmops/kit/roles';
import { applySchema } from '@llmops/kit/schema';
import { freePort, TEST_DEPLOYMENT, TEST_PASSWORDS } from '@llmops/kit/testing/database';
import type { ChaosTemplate } from './cluster.ts';

/**
 * Once per chaos run: initdb, database `llmops` built from sql/ and every service's login, then the server
 * stopped cleanly. Each test file starts a server of its own on a copy of this data directory
 * (`startOwnCluster`), so a file pays a copy and a start instead of an initdb and the whole schema, and
 * still shares no state with another file.
 */
export default async function setup(project: TestProject) {
  const parent = mkdtempSync(join(tmpdir(), 'llmops-chaos-template-'));
  chmodSync(parent, 0o755);
  const template: ChaosTemplate = { dataDir: join(parent, 'data'), password: randomBytes(12).toString('hex') };
  try {
    const server = await startEmbeddedPostgres({ ...template, port: await freePort(), persistent: true });
    try {
      await withClient(server.url, (client) => client.query('CREATE DATABASE llmops'));
      const adminUrl = withDatabase(server.url, 'llmops');
      await applySchema(adminUrl);
      await provisionLogins(adminUrl, TEST_DEPLOYMENT, TEST_PASSWORDS);
    } finally {
      await server.stop();
    }
  } catch (error) {
    rmSync(parent, { recursive: true, force: true });
    throw error;
  }
  project.provide('chaosTemplate', template);
  return () => rmSync(parent, { recursive: true, force: true });
}
