import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { generateSchema, SCHEMA_FILE } from '../web/scripts/generate-api.ts';

describe("the dashboard's typed API client", () => {
  it('is generated from the public OpenAPI document as it is now (the committed schema.d.ts is not stale)', async () => {
    const committed = readFileSync(SCHEMA_FILE, 'utf8');
    const current = await generateSchema();
    // On failure: run `npm run generate:api -w web` and commit web/src/lib/api/schema.d.ts.
    expect(committed === current, 'web/src/lib/api/schema.d.ts is stale: run `npm run generate:api -w web`').toBe(true);
  });

  it('is generated from the contracts alone: the dashboard depends on no service, at run time on no package of ours', () => {
    const web = JSON.parse(readFileSync(new URL('../web/package.json', import.meta.url), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const ours = (deps: Record<string, string>) => Object.keys(deps).filter((name) => name.startsWith('@llmops/'));
    expect(ours(web.dependencies)).toEqual([]);
    // kit's contracts for the code generator; its upstream transport is bundled into the build.
    expect(ours(web.devDependencies)).toEqual(['@llmops/kit']);
  });

  it('types the operations the dashboard relies on', () => {
    const committed = readFileSync(SCHEMA_FILE, 'utf8');
    expect(committed).toContain('"/readyz"');
    expect(committed).toContain('"/api/v1/openapi.json"');
  });
});
