import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { withClient } from '@llmops/kit/db';
import { snapshotSchema } from '@llmops/kit/schema-snapshot';
import { useTestDatabase } from '@llmops/kit/testing/vitest';

const db = await useTestDatabase();

it('the committed schema snapshot matches what sql/ produces (run `npm run schema:snapshot` to refresh it)', async () => {
  const committed = readFileSync(fileURLToPath(new URL('../sql/schema-snapshot.txt', import.meta.url)), 'utf8');
  const actual = await withClient(db.adminUrl, (client) => snapshotSchema(client));
  expect(actual).toBe(committed);
});
