import { afterAll, inject, onTestFailed, beforeEach } from 'vitest';
import { createTestDatabase, type TestDatabase } from './database.ts';
import './provided.ts';

/**
 * A database of this test file's own, cloned from the template built by the global setup. Dropped after
 * the file, kept when a test failed so it can be inspected (its name is printed).
 */
export async function useTestDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase({ adminUrl: inject('pgAdminUrl'), template: inject('pgTemplate') });
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
