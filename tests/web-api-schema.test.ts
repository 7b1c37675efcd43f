import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateSchema, SCHEMA_FILE } from '../web/scripts/generate-api.ts';

describe("the dashboard's typed API client", () => {
  it('is generated from the gateway OpenAPI document as it is now (the committed schema.d.ts is not stale)', async () => {
    const committed = readFileSync(SCHEMA_FILE, 'utf8');
    const current = await generateSchema();
    // On failure: run `npm run generate:api -w web` and commit web/src/lib/api/schema.d.ts.
    expect(committed === current, 'web/src/lib/api/schema.d.ts is stale: run `npm run generate:api -w web`').toBe(true);
  });

  it('types the operations the dashboard relies on', () => {
    const committed = readFileSync(SCHEMA_FILE, 'utf8');
    expect(committed).toContain('"/readyz"');
    expect(committed).toContain('"/api/v1/openapi.json"');
  });
});
