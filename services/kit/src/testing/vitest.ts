import { afterAll, inject, onTestFailed, beforeEach } from 'vitest';
import { createTestDatabase, type TestDatabase } from './database.ts';
import './provided.ts';

/**
 * A database of this test file's own, cloned from the template built by the global setup. Dropped after
 * the file, kept when a test failed so it can be inspected (its name is printed).
 */
export async function useTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('pgAdminUrl');
  // The unit project starts no PostgreSQL (ADR 0014): say how to get one rather than fail to connect.
  if (!adminUrl)
    throw new Error(
      'useTestDatabase needs the PostgreSQL of the integration project, and this file runs in the unit project: ' +
        'name it *.integration.test.ts (beside the code) or put it in tests/',
    );
  const db = await createTestDatabase({ adminUrl, template: inject('pgTemplate') });
  let failed = false;
  beforeEach(() => {
    onTestFailed(() => {
      failed = true;
    });
  });
  afterAll(async () => {
    if (failed) console.error(`test database kept for inspection: ${db.name}`);
    await db.drop({ keep: failed });
  });
  return db;
}
