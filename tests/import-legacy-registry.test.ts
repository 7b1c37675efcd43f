/**
 * The legacy importer's first step (issue 18): providers, models, presets and prompt parts of legacy BlogForge
 * databases of the E0, E2, E3 and E4 shapes (tests/fixtures/legacy/shapes.ts, each built once in this
 * file), imported through the registry's internal route and checked through its public API: the dry run
 * changes nothing and says what --apply then does, every skip has its row and reason, a second --apply
 * imports nothing.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { quoteIdent, withClient, withDatabase } from '@llmops/kit/db';
import { startStack } from '@llmops/kit/testing/stack';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { importLegacy, type ImportSummary } from '../infra/import/legacy-import.ts';
import { legacySql, type Shape } from './fixtures/legacy/shapes.ts';
import { registryApi, type Json } from './registry-support.ts';

const db = await useTestDatabase();
const stack = await startStack({ db, services: ['registry', 'prompt'] });
const api = registryApi(stack);
const CLI = fileURLToPath(new URL('../infra/cli.ts', import.meta.url));

const suffix = Math.random().toString(36).slice(2, 8);
const legacyUrls = new Map<Shape, string>();
for (const shape of ['E0', 'E2', 'E3', 'E4'] as const) {
  const name = `legacy_${shape.toLowerCase()}_${suffix}`;
  await withClient(db.adminUrl, (client) => client.query(`CREATE DATABASE ${quoteIdent(name)}`));
  const url = withDatabase(db.adminUrl, name);
  await withClient(url, (client) => client.query(legacySql(shape)));
  legacyUrls.set(shape, url);
}
afterAll(async () => {
  await stack.stop();
  for (const url of legacyUrls.values()) {
    const name = new URL(url).pathname.slice(1);
    await withClient(db.adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
  }
});

const targets = { registry: stack.urls.registry as string, prompt: stack.urls.prompt as string, secret: stack.secret };
const run = (shape: Shape, apply: boolean) => importLegacy({ from: legacyUrls.get(shape) as string, apply, targets });

async function list(path: string): Promise<Json[]> {
  const answer = await api('GET', `${path}?limit=200`);
  expect(answer.status, answer.text).toBe(200);
  return answer.body.items as Json[];
}

const countsOf = (summary: ImportSummary) => summary.counts;

async function parts(): Promise<Json[]> {
  const response = await stack.call('prompt', '/api/v1/parts?limit=200');
  expect(response.status).toBe(200);
  return ((await response.json()) as Json).items as Json[];
}

describe('legacy import: providers, models and presets', () => {
  it('the import routes answer only the importer: an admin account or another service is refused', async () => {
    const body = JSON.stringify({ source: 'x', dry_run: true });
    for (const service of ['registry', 'prompt'] as const)
      for (const who of [undefined, { kind: 'service' as const, subject: 'runner', requestId: 't' }]) {
        const response = await stack.call(service, '/internal/import/legacy', { method: 'POST', body }, who);
        expect(response.status).toBe(403);
        expect(((await response.json()) as Json).detail).toMatch(/Only the legacy importer/);
      }
  });

  it('E2: a dry run changes nothing and reports exactly what --apply then imports', async () => {
    const before = await list('/providers');
    const dry = await run('E2', false);
    expect(dry.epoch).toBe('E2');
    expect(dry.applied).toBe(false);
    expect(countsOf(dry)).toEqual({
      provider: { imported: 3, already: 0, skipped: 1 },
      model: { imported: 6, already: 0, skipped: 1 },
      preset: { imported: 1, already: 0, skipped: 1 },
      part: { imported: 3, already: 0, skipped: 1 },
      record: { imported: 0, already: 0, skipped: 0 },
    });
    expect(await list('/providers')).toEqual(before);
    expect(await parts()).toEqual([]);

    const applied = await run('E2', true);
    expect(countsOf(applied)).toEqual(countsOf(dry));
    expect(applied.skipped).toEqual(dry.skipped);
    expect(applied.items.map((item) => [item.kind, item.legacy_id])).toEqual(
      dry.items.map((item) => [item.kind, item.legacy_id]),
    );

    const providers = await list('/providers');
    const byName = new Map(providers.map((p) => [p.name, p]));
    expect(byName.get('Ollama (local)')).toMatchObject({
      kind: 'ollama',
      base_url: 'http://localhost:11434',
      has_api_key: false,
    });
    expect(byName.get('OpenAI')).toMatchObject({ kind: 'openai', base_url: 'https://api.openai.com/v1' });
    // "other" is recognised by its base URL; the Anthropic SDK's base URL has no /v1.
    expect(byName.get('Anthropic')).toMatchObject({ kind: 'anthropic', base_url: 'https://api.anthropic.com' });
    expect(byName.has('Gemini')).toBe(false);

    expect(applied.skipped).toContainEqual(
      expect.objectContaining({ kind: 'part', table: 'llm_prompt_part', legacy_id: '3', reason: expect.stringMatching(/empty/) }),
    );
    expect(applied.warnings).toContainEqual(
      expect.stringMatching(/^llm_prompt_part 4: the name "Scottish cultural expert" is taken/),
    );
    expect(applied.warnings).toEqual(dry.warnings);
    const skippedGemini = applied.skipped.find((skip) => skip.table === 'llm_provider');
    expect(skippedGemini).toMatchObject({ legacy_id: '4', kind: 'provider' });
    expect(skippedGemini?.reason).toMatch(/generativelanguage\.googleapis\.com is not a protocol LLM Ops speaks/);
    expect(applied.skipped).toContainEqual(expect.objectContaining({ kind: 'model', table: 'llm_model', legacy_id: '5' }));
    // Keys are never in the legacy data: the report says which providers need one.
    const needKey = applied.notes.filter((note) => note.message.startsWith('needs an API key')).map((note) => note.legacy_id);
    expect(needKey.sort()).toEqual(['2', '3']);
    expect(applied.notes).toContainEqual(
      expect.objectContaining({
        kind: 'model',
        legacy_id: '1',
        message: expect.stringMatching(/parameter_size="7.2B" map to no parameter/),
      }),
    );
    expect(applied.notes).toContainEqual(
      expect.objectContaining({ kind: 'model', message: expect.stringMatching(/"mistral" is a model of 2 providers/) }),
    );

    const models = await list('/models');
    const gpt = models.find((m) => m.provider_model_id === 'gpt-4o');
    expect(gpt?.provider_id).toBe(byName.get('OpenAI').id);
    expect(models.filter((m) => m.provider_model_id === 'mistral')).toHaveLength(2);

    // A preset the model's rules refuse is skipped with the registry's reason; the rest is imported.
    expect(applied.skipped).toContainEqual({
      kind: 'preset',
      table: 'llm_model',
      legacy_id: 'model:7',
      reason: expect.stringMatching(/^the registry refuses its parameters \(parameters\.temperature: .*gpt-4-turbo/),
    });
    // api_params that map to parameters become that model's default preset.
    const presets = await list('/presets');
    expect(presets.find((p) => p.name === 'gpt-4o defaults (legacy)')).toMatchObject({
      model_id: gpt.id,
      parameters: { max_output_tokens: 4096, temperature: 0.3 },
    });
  });

  it('E2: prompt parts are converted by the prompt service and published as version 1', async () => {
    const all = await parts();
    const expansion = all.find((p) => p.name === 'idea_seed expansion');
    expect(expansion).toMatchObject({ kind: 'task', default_role: 'user', latest_version: 1, has_unpublished_changes: false });
    const full = (await (await stack.call('prompt', `/api/v1/parts/${expansion.id}`)).json()) as Json;
    // [data:FIELD] becomes a variable; the answer code {IDEA01} stays literal text; the \n escape a line break.
    expect(full.content).toBe('Expand {{ idea_seed }} into a paragraph.\nKeep {IDEA01} as is.');
    expect(full.variables.map((v: Json) => v.name)).toEqual(['idea_seed']);
    // The second part of the same name is suffixed, and the report says so.
    expect(all.map((p) => p.name)).toEqual(
      expect.arrayContaining(['Scottish cultural expert', 'Scottish cultural expert (legacy)']),
    );
    expect(all.find((p) => p.name === 'Scottish cultural expert')).toMatchObject({ kind: 'style', default_role: 'system' });
  });

  it('E2: a second --apply imports nothing, through the CLI as a user runs it', async () => {
    const before = { providers: await list('/providers'), models: await list('/models'), presets: await list('/presets') };
    const summaryPath = join(mkdtempSync(join(tmpdir(), 'legacy-import-')), 'summary.json');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [CLI, 'import', 'legacy', '--from', legacyUrls.get('E2') as string, '--apply', '--summary', summaryPath],
      {
        env: {
          ...process.env,
          LLMOPS_DATA_DIR: '/nonexistent',
          REGISTRY_URL: targets.registry,
          PROMPT_URL: targets.prompt,
          LLMOPS_INTERNAL_SECRET: stack.secret,
        },
      },
    );
    expect(stdout).toMatch(/providers +imported 0, already imported 3, skipped 1/);
    expect(stdout).toMatch(/llm_provider 4: type "other" at generativelanguage\.googleapis\.com/);
    const summary = JSON.parse(readFileSync(summaryPath, 'utf8')) as ImportSummary;
    expect(summary.counts.model).toEqual({ imported: 0, already: 6, skipped: 1 });
    expect(summary.counts.part).toEqual({ imported: 0, already: 3, skipped: 1 });
    expect({ providers: await list('/providers'), models: await list('/models'), presets: await list('/presets') }).toEqual(
      before,
    );
  });

  it('E0: the one llm_config becomes a provider, its model and the actions’ models, and the active preset', async () => {
    const summary = await run('E0', true);
    expect(summary.epoch).toBe('E0');
    expect(countsOf(summary)).toEqual({
      provider: { imported: 1, already: 0, skipped: 0 },
      model: { imported: 2, already: 0, skipped: 0 },
      preset: { imported: 1, already: 0, skipped: 0 },
      part: { imported: 0, already: 0, skipped: 0 },
      record: { imported: 0, already: 0, skipped: 0 },
    });
    const provider = summary.items.find((item) => item.kind === 'provider');
    const models = (await list('/models')).filter((m) => m.provider_id === provider?.id);
    expect(models.map((m) => m.provider_model_id).sort()).toEqual(['llama3.1:70b', 'mistral']);
    const preset = (await list('/presets')).find((p) => p.name === 'Legacy configuration 1: llama3.1:70b');
    expect(preset?.model_id).toBe(models.find((m) => m.provider_model_id === 'llama3.1:70b')?.id);
    expect(preset?.description).toMatch(/active configuration/);
  });

  it('E3 and E4: llm_config is re-created with is_active; the newest active row is noted, an unknown model skipped', async () => {
    for (const shape of ['E3', 'E4'] as const) {
      const summary = await run(shape, true);
      expect(summary.epoch).toBe(shape);
      // Names already taken by the E2 import get a suffix: the same seed rows from another database.
      expect(countsOf(summary)).toEqual({
        provider: { imported: 4, already: 0, skipped: 1 },
        model: { imported: 6, already: 0, skipped: 1 },
        preset: { imported: 3, already: 0, skipped: 2 },
        part: { imported: 3, already: 0, skipped: 1 },
        record: { imported: 0, already: 0, skipped: 0 },
      });
      expect(summary.skipped).toContainEqual(
        expect.objectContaining({ kind: 'preset', table: 'llm_config', legacy_id: '3', reason: expect.stringMatching(/"phi3"/) }),
      );
      expect(summary.notes).toContainEqual({
        kind: 'preset',
        legacy_id: 'config:2',
        message: 'was the active configuration of the legacy app',
      });
    }
    const names = (await list('/providers')).map((p) => p.name);
    expect(names).toEqual(expect.arrayContaining(['OpenAI', 'OpenAI (legacy)', 'OpenAI (legacy 2)']));
  });
});
