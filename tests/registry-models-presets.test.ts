import { afterAll, describe, expect, it } from 'vitest';
import { startStack } from '@llmops/kit/testing/stack';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { publish } from '@llmops/kit/bus/index';
import { withClient } from '@llmops/kit/db';
import { modelUsed } from '@llmops/kit/events/runner';
import { admin, count, editor, outbox, promptService, registryApi, viewer, type Json } from './registry-support.ts';

const db = await useTestDatabase();
const stack = await startStack({ db, services: ['registry'], env: { LLMOPS_BUS_SWEEP_MS: '200' } });
afterAll(() => stack.stop());
const api = registryApi(stack);
let n = 0;

async function provider(kind: 'openai' | 'anthropic' | 'ollama') {
  const body: Json = { name: `p${++n}`, kind, base_url: 'http://127.0.0.1:9/v1' };
  if (kind === 'anthropic') body.api_key = 'sk-ant-test-1111';
  const response = await api('POST', '/providers', body);
  expect(response.status, response.text).toBe(201);
  return response.body.id as string;
}

async function model(providerId: string, fields: Json = {}) {
  const response = await api(
    'POST',
    '/models',
    { provider_id: providerId, provider_model_id: `m${++n}`, ...fields },
    { as: admin },
  );
  expect(response.status, response.text).toBe(201);
  return response.body;
}

describe('models', () => {
  it('creates a model with capabilities and a first price; reads it with the price in force', async () => {
    const p = await provider('openai');
    const m = await model(p, {
      display_name: 'GPT small',
      context_window: 128000,
      max_output_tokens: 16384,
      capabilities: { json_output: true, vision: true },
      price: { input_per_mtok: '0.15', output_per_mtok: 0.6, cached_input_per_mtok: '0.075' },
    });
    expect(m).toMatchObject({
      provider_kind: 'openai',
      display_name: 'GPT small',
      modality: 'chat',
      capabilities: { streaming: true, json_output: true, vision: true, tools: false },
      price: {
        input_per_mtok: '0.150000000000',
        output_per_mtok: '0.600000000000',
        cached_input_per_mtok: '0.075000000000',
        per_image: null,
      },
      enabled: true,
      archived_at: null,
    });
    expect(m.prices).toHaveLength(1);
    const read = await api('GET', `/models/${m.id}`, undefined, { as: viewer });
    expect(read.body).toEqual(m);
  });

  it('keeps price history: a new price starts at its effective time, past calls keep theirs', async () => {
    const m = await model(await provider('openai'), { price: { input_per_mtok: 1, output_per_mtok: 2 } });
    const future = new Date(Date.now() + 3_600_000).toISOString();
    const updated = await api(
      'PATCH',
      `/models/${m.id}`,
      { price: { input_per_mtok: 3, output_per_mtok: 4, effective_from: future } },
      { as: admin },
    );
    expect(updated.status, updated.text).toBe(200);
    expect(updated.body.price).toMatchObject({ input_per_mtok: '1.000000000000' });
    expect(updated.body.prices.map((p: Json) => p.input_per_mtok)).toEqual(['3.000000000000', '1.000000000000']);
    const past = await api(
      'PATCH',
      `/models/${m.id}`,
      { price: { input_per_mtok: 1, output_per_mtok: 1, effective_from: '2020-01-01T00:00:00Z' } },
      { as: admin },
    );
    expect(past.status).toBe(422);
    expect(past.body.errors[0].field).toBe('body.price.effective_from');
    const events = (await outbox(db, 'registry.model.changed')).filter((e) => e.payload.model_id === m.id);
    expect(events.at(-1)?.payload.model.prices.map((p: Json) => p.effective_from)).toEqual([
      future.replace(/\.\d+Z$/, (z) => z),
      expect.any(String),
    ]);
  });

  it('refuses negative prices, a duplicate provider model id, and bad limits with a 422 naming the field; nothing half-written', async () => {
    const p = await provider('openai');
    const first = await model(p);
    const before = await count(db, 'registry.models');
    const cases: [Json, string][] = [
      [
        { provider_id: p, provider_model_id: 'x1', price: { input_per_mtok: -1, output_per_mtok: 1 } },
        'body.price.input_per_mtok',
      ],
      [
        { provider_id: p, provider_model_id: 'x2', price: { input_per_mtok: 1, output_per_mtok: '-0.5' } },
        'body.price.output_per_mtok',
      ],
      [{ provider_id: p, provider_model_id: first.provider_model_id }, 'body.provider_model_id'],
      [{ provider_id: p, provider_model_id: 'x3', context_window: 0 }, 'body.context_window'],
      [{ provider_id: p, provider_model_id: 'x4', modality: 'audio' }, 'body.modality'],
      [{ provider_id: '01936f6e-7c1a-7b2e-9f3c-2b6d1e8a4c5d', provider_model_id: 'x5' }, 'body.provider_id'],
    ];
    for (const [body, field] of cases) {
      const response = await api('POST', '/models', body);
      expect(response.status, `${field}: ${response.text}`).toBe(422);
      expect(response.body.errors.map((e: Json) => e.field)).toContain(field);
    }
    const batch = await api(
      'POST',
      `/providers/${p}/models/import`,
      { models: [{ provider_model_id: 'ok-1' }, { provider_model_id: 'ok-1' }], force: true },
      { as: admin },
    );
    expect(batch.status).toBe(422);
    expect(batch.body.errors[0].field).toBe('body.models[1].provider_model_id');
    const priced = await api(
      'POST',
      `/providers/${p}/models/import`,
      {
        models: [
          { provider_model_id: 'ok-2' },
          { provider_model_id: 'ok-3', price: { input_per_mtok: 1, output_per_mtok: 1, effective_from: '2001-01-01T00:00:00Z' } },
        ],
        force: true,
      },
      { as: admin },
    );
    expect(priced.status).toBe(422);
    expect(await count(db, 'registry.models')).toBe(before);
  });

  it('disabled and archived models are reported, not hidden, when read by id (the prompt service checks defaults this way)', async () => {
    const m = await model(await provider('openai'));
    await api('PATCH', `/models/${m.id}`, { enabled: false });
    const read = await api('GET', `/models/${m.id}`, undefined, { as: promptService });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: m.id, enabled: false, archived_at: null });
    const missing = await api('GET', '/models/01936f6e-7c1a-7b2e-9f3c-2b6d1e8a4c5d', undefined, { as: promptService });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
  });

  it('viewers and editors read models and presets; only admins change them (issue 6: editors work on prompts, tasks, workflow)', async () => {
    const m = await model(await provider('openai'));
    for (const as of [viewer, editor]) {
      expect((await api('GET', `/models/${m.id}`, undefined, { as })).status).toBe(200);
      expect((await api('GET', '/presets', undefined, { as })).status).toBe(200);
      expect((await api('POST', '/models', { provider_id: m.provider_id, provider_model_id: 'y' }, { as })).status).toBe(403);
      expect((await api('PATCH', `/models/${m.id}`, { enabled: false }, { as })).status).toBe(403);
      expect((await api('DELETE', `/models/${m.id}`, undefined, { as })).status).toBe(403);
      expect((await api('POST', '/presets', { name: 'nope' }, { as })).status).toBe(403);
    }
  });
});

describe('use and archival (runner.model.used)', () => {
  async function used(providerId: string, modelId: string) {
    await withClient(db.urlFor('registry'), (client) =>
      publish(client, modelUsed, {
        provider_id: providerId,
        model_id: modelId,
        task_id: `task-${++n}`,
        at: new Date().toISOString(),
      }),
    );
    await expect.poll(async () => (await api('GET', `/models/${modelId}`)).body.last_used_at, { timeout: 10_000 }).not.toBeNull();
  }

  it('a model no task used is deleted; a used one is archived: gone from lists, still resolvable by id', async () => {
    const p = await provider('openai');
    const unused = await model(p);
    expect((await api('DELETE', `/models/${unused.id}`, undefined)).status).toBe(204);
    const usedModel = await model(p);
    await used(p, usedModel.id);
    const deleted = await api('DELETE', `/models/${usedModel.id}`, undefined);
    expect(deleted.status).toBe(200);
    expect(deleted.body.archived).toBe(true);
    const list = await api('GET', `/models?provider_id=${p}`);
    expect(list.body.items.map((m: Json) => m.id)).not.toContain(usedModel.id);
    const all = await api('GET', `/models?provider_id=${p}&include_archived=true`);
    expect(all.body.items.map((m: Json) => m.id)).toContain(usedModel.id);
    const read = await api('GET', `/models/${usedModel.id}`, undefined, { as: promptService });
    expect(read.body).toMatchObject({ enabled: false, archived_at: expect.any(String) });
    const again = await model(p, { provider_model_id: usedModel.provider_model_id });
    expect(again.id).not.toBe(usedModel.id);
  });

  it('a provider whose model tasks used is archived with its models and its key dropped', async () => {
    const p = await provider('anthropic');
    const m = await model(p);
    await used(p, m.id);
    const deleted = await api('DELETE', `/providers/${p}`);
    expect(deleted.status).toBe(200);
    const read = await api('GET', `/providers/${p}`);
    expect(read.body).toMatchObject({ has_api_key: false, enabled: false, archived_at: expect.any(String) });
    expect((await api('GET', `/models/${m.id}`)).body.archived_at).not.toBeNull();
    expect((await api('GET', '/providers')).body.items.map((x: Json) => x.id)).not.toContain(p);
    const events = (await outbox(db, 'registry.provider.changed')).filter((e) => e.payload.provider_id === p);
    expect(events.at(-1)?.payload).toMatchObject({
      change: 'archived',
      provider: { has_api_key: false, credential_changed: true },
    });
  });
});

describe('parameter presets', () => {
  it('creates a preset with parameters, retry policy and an ordered fallback list; readable by a service identity', async () => {
    const primary = await model(await provider('openai'), { capabilities: { json_output: true } });
    const second = await model(await provider('ollama'), { capabilities: { json_output: true } });
    const third = await model(await provider('anthropic'));
    const created = await api(
      'POST',
      '/presets',
      {
        name: 'Blog drafts',
        description: 'Warm, long-form',
        model_id: primary.id,
        parameters: { temperature: 0.7, max_output_tokens: 800, seed: 42, response_format: { type: 'json_object' } },
        retry_policy: { max_attempts: 4, initial_backoff_ms: 500 },
        fallback_model_ids: [second.id],
      },
      { as: admin },
    );
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({
      model_id: primary.id,
      fallback_model_ids: [second.id],
      retry_policy: { max_attempts: 4, initial_backoff_ms: 500, max_backoff_ms: 60000, backoff_multiplier: 2 },
      enabled: true,
      archived_at: null,
    });
    const read = await api('GET', `/presets/${created.body.id}`, undefined, { as: promptService });
    expect(read.body).toMatchObject({ id: created.body.id, enabled: true, archived_at: null });
    const anthropicFallback = await api(
      'PATCH',
      `/presets/${created.body.id}`,
      { fallback_model_ids: [second.id, third.id] },
      { as: admin },
    );
    expect(anthropicFallback.status).toBe(422);
    expect(anthropicFallback.body.errors.map((e: Json) => e.field).sort()).toEqual([
      'body.parameters.response_format',
      'body.parameters.seed',
    ]);
    expect(anthropicFallback.body.errors[0].message).toContain('anthropic');
    const events = (await outbox(db, 'registry.preset.changed')).filter((e) => e.payload.preset_id === created.body.id);
    expect(events).toHaveLength(1);
  });

  it('validates parameters against the model’s kind, naming the field', async () => {
    const claude = await model(await provider('anthropic'));
    const llama = await model(await provider('ollama'));
    const image = await model(await provider('openai'), { modality: 'image' });
    const cases: [Json, string][] = [
      [{ model_id: claude.id, parameters: { presence_penalty: 0.5 } }, 'body.parameters.presence_penalty'],
      [{ model_id: claude.id, parameters: { frequency_penalty: 0.5 } }, 'body.parameters.frequency_penalty'],
      [{ model_id: claude.id, parameters: { seed: 1 } }, 'body.parameters.seed'],
      [{ model_id: claude.id, parameters: { temperature: 1.5 } }, 'body.parameters.temperature'],
      [{ model_id: llama.id, parameters: { response_format: { type: 'json_object' } } }, 'body.parameters.response_format'],
      [{ model_id: image.id, parameters: { temperature: 0.2 } }, 'body.parameters.temperature'],
      [{ parameters: { temperature: 3 } }, 'body.parameters.temperature'],
      [{ parameters: { top_p: 1.5 } }, 'body.parameters.top_p'],
      [{ parameters: { max_output_tokens: 0 } }, 'body.parameters.max_output_tokens'],
      [{ parameters: { presence_penalty: -3 } }, 'body.parameters.presence_penalty'],
      [{ retry_policy: { max_attempts: 0 } }, 'body.retry_policy.max_attempts'],
      [{ model_id: claude.id, fallback_model_ids: [claude.id] }, 'body.fallback_model_ids[0]'],
      [{ fallback_model_ids: ['01936f6e-7c1a-7b2e-9f3c-2b6d1e8a4c5d'] }, 'body.fallback_model_ids[0]'],
    ];
    const before = await count(db, 'registry.presets');
    for (const [fields, field] of cases) {
      const response = await api('POST', '/presets', { name: `bad ${++n}`, ...fields });
      expect(response.status, `${field}: ${response.text}`).toBe(422);
      expect(response.body.errors.map((e: Json) => e.field)).toContain(field);
    }
    expect(await count(db, 'registry.presets')).toBe(before);
    const ok = await api(
      'POST',
      '/presets',
      { name: `ok ${++n}`, model_id: claude.id, parameters: { temperature: 0.3, top_k: 40, stop: ['\n\n'] } },
      { as: admin },
    );
    expect(ok.status, ok.text).toBe(201);
    const ollamaOk = await api(
      'POST',
      '/presets',
      { name: `ok ${++n}`, model_id: llama.id, parameters: { seed: 7, top_k: 20, presence_penalty: 0.2 } },
      { as: admin },
    );
    expect(ollamaOk.status, ollamaOk.text).toBe(201);
  });

  it('a preset is archived, not deleted; a model a preset uses cannot be deleted', async () => {
    const m = await model(await provider('openai'));
    const preset = await api('POST', '/presets', { name: `keep ${++n}`, model_id: m.id });
    const blocked = await api('DELETE', `/models/${m.id}`, undefined);
    expect(blocked.status).toBe(409);
    expect(blocked.body.detail).toContain(preset.body.name);
    const archived = await api('DELETE', `/presets/${preset.body.id}`, undefined);
    expect(archived.status).toBe(200);
    expect((await api('GET', `/presets/${preset.body.id}`)).body.archived_at).not.toBeNull();
    expect((await api('GET', '/presets')).body.items.map((p: Json) => p.id)).not.toContain(preset.body.id);
    // An archived preset still names it, so the model is archived rather than deleted (history resolves it).
    const after = await api('DELETE', `/models/${m.id}`, undefined);
    expect(after.status).toBe(200);
    expect(after.body.archived).toBe(true);
  });
});
