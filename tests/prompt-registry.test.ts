/**
 * A template's default model and preset are checked through the registry's API, against the real
 * registry in the same stack: unknown, disabled and archived ones are refused with the field named,
 * and a registry that does not answer is a 503 that saves nothing.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startStack } from '@llmops/kit/testing/stack';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import type { Identity } from '@llmops/kit/http/identity';

const db = await useTestDatabase();
const stack = await startStack({ db, services: ['registry', 'prompt'] });
afterAll(() => stack.stop());

const editor: Identity = { kind: 'account', subject: 'editor-1', role: 'editor', scopes: [], requestId: 'test' };
const MISSING = '01936f6e-7c1a-7b2e-9f3c-2b6d1e8a4c5d';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function call(service: 'registry' | 'prompt', method: string, path: string, body?: unknown) {
  const response = await stack.call(
    service,
    `/api/v1${path}`,
    { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) },
    service === 'prompt' ? editor : undefined,
  );
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as Json };
}

let n = 0;
async function registryModel() {
  const provider = await call('registry', 'POST', '/providers', {
    name: `provider ${++n}`,
    kind: 'openai',
    base_url: 'http://127.0.0.1:9/v1',
  });
  expect(provider.status, JSON.stringify(provider.body)).toBe(201);
  const model = await call('registry', 'POST', '/models', {
    provider_id: provider.body.id,
    provider_model_id: `gpt-4o-mini-${n}`,
  });
  expect(model.status, JSON.stringify(model.body)).toBe(201);
  const preset = await call('registry', 'POST', '/presets', { name: `preset ${n}`, model_id: model.body.id });
  expect(preset.status, JSON.stringify(preset.body)).toBe(201);
  return { model: model.body.id as string, preset: preset.body.id as string };
}

const messages = [{ role: 'user', entries: [{ type: 'text', text: 'Hello' }] }];

describe("the template's default model and preset, checked through the registry", () => {
  it('accepts a model and preset the registry has, enabled', async () => {
    const { model, preset } = await registryModel();
    const created = await call('prompt', 'POST', '/templates', {
      name: 'with defaults',
      messages,
      default_model_id: model,
      default_preset_id: preset,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ default_model_id: model, default_preset_id: preset });
    const published = await call('prompt', 'POST', `/templates/${created.body.id}/publish`);
    expect(published.status).toBe(201);
    expect(published.body).toMatchObject({ default_model_id: model, default_preset_id: preset });
  });

  it('refuses ids the registry does not know, naming each field', async () => {
    const response = await call('prompt', 'POST', '/templates', {
      name: 'unknown defaults',
      messages,
      default_model_id: MISSING,
      default_preset_id: MISSING,
    });
    expect(response.status).toBe(422);
    expect(response.body.errors.map((e: Json) => e.field)).toEqual(['body.default_model_id', 'body.default_preset_id']);
    expect((await call('prompt', 'GET', '/templates?q=unknown%20defaults')).body.items).toEqual([]);
  });

  it('refuses a disabled model and an archived preset, on save and again at publish', async () => {
    const { model, preset } = await registryModel();
    const created = await call('prompt', 'POST', '/templates', {
      name: 'soon stale',
      messages,
      default_model_id: model,
      default_preset_id: preset,
    });
    expect(created.status).toBe(201);
    expect((await call('registry', 'PATCH', `/models/${model}`, { enabled: false })).status).toBe(200);
    expect((await call('registry', 'DELETE', `/presets/${preset}`)).status).toBe(200);
    const publish = await call('prompt', 'POST', `/templates/${created.body.id}/publish`);
    expect(publish.status).toBe(422);
    expect(publish.body.errors.map((e: Json) => e.message)).toEqual([
      `model ${model} is disabled`,
      `parameter preset ${preset} is archived`,
    ]);
    const update = await call('prompt', 'PATCH', `/templates/${created.body.id}`, { default_model_id: model });
    expect(update.status).toBe(422);
    expect(
      (await call('prompt', 'PATCH', `/templates/${created.body.id}`, { default_model_id: null, default_preset_id: null }))
        .status,
    ).toBe(200);
  });

  it('answers 503 and saves nothing while the registry is down', async () => {
    const { model } = await registryModel();
    await stack.services.get('registry')?.stop();
    const response = await call('prompt', 'POST', '/templates', { name: 'registry down', messages, default_model_id: model });
    expect(response.status).toBe(503);
    expect((await call('prompt', 'GET', '/templates?q=registry%20down')).body.items).toEqual([]);
  });
});
