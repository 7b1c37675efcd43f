/**
 * `npm run schema:snapshot`: rewrites sql/schema-snapshot.txt from a fresh database built from sql/
 * (a throwaway embedded PostgreSQL, or TEST_DATABASE_URL), then docs/data-model.md's diagrams from it.
 * tests/schema-snapshot.test.ts fails when the committed file is stale, infra/data-model.test.ts when the
 * page is.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withClient } from '@llmops/kit/db';
import { snapshotSchema } from '@llmops/kit/schema-snapshot';
import { createTestDatabase, startTestCluster } from '@llmops/kit/testing/database';
import { writeDataModel } from './data-model.ts';

const target = fileURLToPath(new URL('../sql/schema-snapshot.txt', import.meta.url));
const cluster = await startTestCluster();
try {
  const db = await createTestDatabase(cluster);
  try {
    writeFileSync(target, await withClient(db.adminUrl, (client) => snapshotSchema(client)));
    process.stdout.write(`wrote ${target}\n`);
    if (writeDataModel()) process.stdout.write('wrote docs/data-model.md (its diagrams follow the snapshot)\n');
  } finally {
    await db.drop();
  }
} finally {
  await cluster.stop();
}
