import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { startStack } from '@llmops/kit/testing/stack';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { startEmulator } from '@llmops/emulator/server';
import { admin, count, editor, outbox, registryApi, viewer, type Json } from './registry-support.ts';

const db = await useTestDatabase();
const stack = await startStack({ db, services: ['registry'] });
const emu = await startEmulator({ apiKeys: ['sk-good-openai-0001', 'sk-ant-good-0002'] });
afterAll(async () => {
  await stack.stop();
  await emu.stop();
});
beforeEach(() => {
  emu.clearFaults();
  emu.clearRequests();
});
const api = registryApi(stack);
let n = 0;
const name = () => `provider ${++n}`;

const openaiProvider = (fields: Json = {}) => ({
  name: name(),
  kind: 'openai',
  base_url: emu.baseUrl('openai'),
  api_key: 'sk-good-openai-0001',
  ...fields,
});

describe('providers: create, read, list, update, delete', () => {
  it('creates a provider whose key is write-only: responses show a masked hint of the last 4 characters', async () => {
    const created = await api(
      'POST',
      '/providers',
      openaiProvider({ organization: 'org-1', rpm_limit: 60, monthly_spend_cap_usd: '25.500005' }),
    );
    expect(created.status, created.text).toBe(201);
    expect(created.body).toMatchObject({
      kind: 'openai',
      has_api_key: true,
      api_key_hint: '…0001',
      organization: 'org-1',
      rpm_limit: 60,
      monthly_spend_cap_usd: '25.500005000000',
      enabled: true,
      archived_at: null,
      timeout_ms: 60000,
    });
    expect(created.text).not.toContain('sk-good-openai-0001');
    expect(created.headers.get('etag')).toBeTruthy();
    const read = await api('GET', `/providers/${created.body.id}`, undefined, { as: viewer });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);
    expect(read.text).not.toContain('sk-good');
  });

  it('defaults the base URL to the kind’s public endpoint, and takes an OpenAI-compatible local server without a key', async () => {
    const anthropic = await api('POST', '/providers', { name: name(), kind: 'anthropic', api_key: 'sk-ant-x-1234' });
    expect(anthropic.body.base_url).toBe('https://api.anthropic.com');
    const local = await api('POST', '/providers', { name: name(), kind: 'openai', base_url: 'http://127.0.0.1:1234/v1' });
    expect(local.status, local.text).toBe(201);
    expect(local.body).toMatchObject({ has_api_key: false, api_key_hint: null });
    const ollama = await api('POST', '/providers', { name: name(), kind: 'ollama' });
    expect(ollama.body.base_url).toBe('http://127.0.0.1:11434');
  });

  it('lists with a cursor, archived ones only when asked', async () => {
    const first = await api('GET', '/providers?limit=2', undefined, { as: viewer });
    expect(first.status).toBe(200);
    expect(first.body.items).toHaveLength(2);
    expect(first.body.next_cursor).toBeTruthy();
    const second = await api('GET', `/providers?limit=2&cursor=${first.body.next_cursor}`, undefined, { as: viewer });
    expect(second.body.items[0].id > first.body.items[1].id).toBe(true);
  });

  it('updates fields, enables and disables, replaces and removes the key; If-Match guards against lost updates', async () => {
    const created = await api('POST', '/providers', openaiProvider());
    const etag = created.headers.get('etag') as string;
    const disabled = await api(
      'PATCH',
      `/providers/${created.body.id}`,
      { enabled: false, timeout_ms: 5000 },
      { headers: { 'if-match': etag } },
    );
    expect(disabled.status, disabled.text).toBe(200);
    expect(disabled.body).toMatchObject({ enabled: false, timeout_ms: 5000 });
    const stale = await api('PATCH', `/providers/${created.body.id}`, { enabled: true }, { headers: { 'if-match': etag } });
    expect(stale.status).toBe(412);
    const rekeyed = await api('PATCH', `/providers/${created.body.id}`, { api_key: 'sk-new-key-9876' });
    expect(rekeyed.body.api_key_hint).toBe('…9876');
    const claude = await api('POST', '/providers', { name: name(), kind: 'anthropic', api_key: 'sk-ant-a-0000' });
    const needsKey = await api('PATCH', `/providers/${claude.body.id}`, { api_key: null });
    expect(needsKey.status).toBe(422);
    expect(needsKey.body.errors).toEqual([
      { field: 'body.api_key', message: 'an Anthropic provider at api.anthropic.com needs an API key' },
    ]);
    const official = await api('PATCH', `/providers/${created.body.id}`, {
      base_url: 'https://api.openai.com/v1',
      api_key: null,
    });
    expect(official.status).toBe(422);
    const local = await api('PATCH', `/providers/${created.body.id}`, { api_key: null, base_url: 'http://127.0.0.1:8080/v1' });
    expect(local.status, local.text).toBe(200);
    expect(local.body).toMatchObject({ has_api_key: false, api_key_hint: null });
  });

  it('deletes a provider no task used (and its models), with events and audit records', async () => {
    const created = await api('POST', '/providers', openaiProvider());
    const id = created.body.id;
    await api('POST', '/models', { provider_id: id, provider_model_id: 'emu-gpt-small' });
    const deleted = await api('DELETE', `/providers/${id}`);
    expect(deleted.status).toBe(204);
    expect((await api('GET', `/providers/${id}`)).status).toBe(404);
    const events = (await outbox(db, 'registry.provider.changed')).filter((e) => e.payload.provider_id === id);
    expect(events.map((e) => e.payload.change)).toEqual(['created', 'deleted']);
    expect(events[0]?.payload.provider).toMatchObject({ has_api_key: true, credential_changed: true, rpm_limit: null });
    const audits = (await outbox(db, 'audit.change.recorded')).filter((e) => e.payload.resource.id === id);
    expect(audits.map((e) => e.payload.action)).toEqual(['provider.created', 'provider.deleted']);
    expect(audits[0]?.payload).toMatchObject({ actor: { kind: 'account', id: 'admin-1' }, service: 'registry' });
    expect(JSON.stringify(events) + JSON.stringify(audits)).not.toContain('sk-good-openai-0001');
  });

  it('a duplicate name is a 409; Idempotency-Key replays the same create', async () => {
    const body = openaiProvider();
    const first = await api('POST', '/providers', body, { headers: { 'idempotency-key': 'k-1' } });
    const again = await api('POST', '/providers', body, { headers: { 'idempotency-key': 'k-1' } });
    expect(again.status).toBe(201);
    expect(again.body.id).toBe(first.body.id);
    const other = await api('POST', '/providers', { ...body, name: 'else' }, { headers: { 'idempotency-key': 'k-1' } });
    expect(other.status).toBe(422);
    const duplicate = await api('POST', '/providers', { ...body, name: body.name.toUpperCase() });
    expect(duplicate.status).toBe(409);
  });
});

describe('providers: bad input is a 422 naming the field, and nothing is written', () => {
  const cases: [string, Json, string][] = [
    ['an unknown kind', { name: 'x', kind: 'cohere' }, 'body.kind'],
    ['a malformed base URL', { name: 'x', kind: 'openai', base_url: 'not a url' }, 'body.base_url'],
    ['a base URL that is not http(s)', { name: 'x', kind: 'ollama', base_url: 'ftp://127.0.0.1/' }, 'body.base_url'],
    ['a base URL with credentials', { name: 'x', kind: 'ollama', base_url: 'http://u:p@127.0.0.1/' }, 'body.base_url'],
    ['a base URL with a user name', { name: 'x', kind: 'ollama', base_url: 'http://sk-abc@127.0.0.1/' }, 'body.base_url'],
    ['a base URL with ?key=', { name: 'x', kind: 'openai', base_url: 'http://127.0.0.1/v1?key=sk-1' }, 'body.base_url'],
    ['a base URL with ?api_key=', { name: 'x', kind: 'ollama', base_url: 'http://127.0.0.1/?api_key=sk-1' }, 'body.base_url'],
    ['a base URL with ?token=', { name: 'x', kind: 'ollama', base_url: 'http://127.0.0.1/?token=t' }, 'body.base_url'],
    ['a base URL with any query', { name: 'x', kind: 'ollama', base_url: 'http://127.0.0.1/?region=eu' }, 'body.base_url'],
    ['a base URL with a fragment', { name: 'x', kind: 'ollama', base_url: 'http://127.0.0.1/#key=sk-1' }, 'body.base_url'],
    ['a missing key for a kind that needs one', { name: 'x', kind: 'anthropic' }, 'body.api_key'],
    ['a missing key for api.openai.com', { name: 'x', kind: 'openai' }, 'body.api_key'],
    ['a negative spend cap', { name: 'x', kind: 'ollama', monthly_spend_cap_usd: -1 }, 'body.monthly_spend_cap_usd'],
    ['a zero rpm limit', { name: 'x', kind: 'ollama', rpm_limit: 0 }, 'body.rpm_limit'],
    ['a timeout out of range', { name: 'x', kind: 'ollama', timeout_ms: 10 }, 'body.timeout_ms'],
    ['an organization on Anthropic', { name: 'x', kind: 'anthropic', api_key: 'k-1234', organization: 'o' }, 'body.organization'],
    [
      'a key in extra headers',
      { name: 'x', kind: 'ollama', extra_headers: { Authorization: 'Bearer s' } },
      'body.extra_headers.Authorization',
    ],
    ['an unknown field', { name: 'x', kind: 'ollama', colour: 'red' }, 'body'],
  ];
  it.each(cases)('%s', async (_what, body, field) => {
    const before = await count(db, 'registry.providers');
    const response = await api('POST', '/providers', body);
    expect(response.status, response.text).toBe(422);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(response.body.errors.map((e: Json) => e.field)).toContain(field);
    expect(await count(db, 'registry.providers')).toBe(before);
  });
});

describe('providers: a base URL carries no credentials', () => {
  it('says to put the key in api_key, on create and on change, and shows the URL nowhere', async () => {
    const created = await api('POST', '/providers', {
      name: name(),
      kind: 'ollama',
      base_url: 'http://127.0.0.1:9/?key=sk-in-url-1',
    });
    expect(created.status).toBe(422);
    const problem = created.body.errors.find((e: Json) => e.field === 'body.base_url');
    expect(problem.message).toMatch(/api_key/);
    expect(created.text).not.toContain('sk-in-url-1');
    const ok = await api('POST', '/providers', { name: name(), kind: 'ollama', base_url: 'http://127.0.0.1:9' });
    const changed = await api('PATCH', `/providers/${ok.body.id}`, { base_url: 'http://user:sk-in-url-2@127.0.0.1:9' });
    expect(changed.status).toBe(422);
    expect(changed.body.errors[0]).toMatchObject({ field: 'body.base_url', message: expect.stringMatching(/api_key/) });
    expect(changed.text).not.toContain('sk-in-url-2');
    expect((await api('GET', `/providers/${ok.body.id}`)).body.base_url).toBe('http://127.0.0.1:9');
    expect(JSON.stringify(await outbox(db))).not.toContain('sk-in-url');
  });
});

describe('providers: roles', () => {
  it('viewers and editors read; only admins manage providers and keys, and discover or import models', async () => {
    const created = await api('POST', '/providers', openaiProvider());
    for (const as of [viewer, editor]) {
      expect((await api('GET', '/providers', undefined, { as })).status).toBe(200);
      expect((await api('POST', '/providers', openaiProvider(), { as })).status).toBe(403);
      expect((await api('PATCH', `/providers/${created.body.id}`, { enabled: false }, { as })).status).toBe(403);
      expect((await api('DELETE', `/providers/${created.body.id}`, undefined, { as })).status).toBe(403);
      expect((await api('POST', `/providers/${created.body.id}/test`, undefined, { as })).status).toBe(403);
    }
    for (const as of [viewer, editor]) {
      expect((await api('GET', `/providers/${created.body.id}/remote-models`, undefined, { as })).status).toBe(403);
      const body = { models: [{ provider_model_id: 'x' }] };
      expect((await api('POST', `/providers/${created.body.id}/models/import`, body, { as })).status).toBe(403);
    }
    expect((await api('GET', `/providers/${created.body.id}/remote-models`, undefined, { as: admin })).status).toBe(200);
  });
});

describe('test connection and model discovery', () => {
  it('an authenticated model-list probe, never a generation: ok with latency and the number of models', async () => {
    const created = await api('POST', '/providers', openaiProvider());
    const test = await api('POST', `/providers/${created.body.id}/test`);
    expect(test.status).toBe(200);
    expect(test.body).toMatchObject({ ok: true, models_available: 3, error: null });
    expect(test.body.latency_ms).toBeGreaterThanOrEqual(0);
    expect(emu.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /openai/v1/models']);
    expect(emu.requests[0]?.headers.authorization).toBe('Bearer sk-good-openai-0001');
  });

  it('reports the provider’s own error: a wrong key, a 429 with Retry-After, Anthropic overloaded', async () => {
    const wrong = await api('POST', '/providers', openaiProvider({ api_key: 'sk-wrong-key-4444' }));
    const failed = await api('POST', `/providers/${wrong.body.id}/test`);
    expect(failed.body).toMatchObject({ ok: false, error: { kind: 'auth', status: 401, retryable: false } });
    expect(failed.text).not.toContain('sk-wrong-key-4444');
    const good = await api('POST', '/providers', openaiProvider());
    emu.fault({ protocol: 'openai', status: 429, retryAfter: 9, times: 1 });
    expect((await api('POST', `/providers/${good.body.id}/test`)).body.error).toMatchObject({
      kind: 'rate_limit',
      retry_after_ms: 9000,
    });
    const claude = await api('POST', '/providers', {
      name: name(),
      kind: 'anthropic',
      base_url: emu.baseUrl('anthropic'),
      api_key: 'sk-ant-good-0002',
    });
    emu.fault({ protocol: 'anthropic', status: 529, times: 1 });
    expect((await api('POST', `/providers/${claude.body.id}/test`)).body.error).toMatchObject({
      kind: 'overloaded',
      retryable: true,
    });
    expect((await api('POST', `/providers/${claude.body.id}/test`)).body.ok).toBe(true);
  });

  it('lists remote models (OpenAI, Anthropic with limits, Ollama tags) and imports selected ones in one call', async () => {
    const ollama = await api('POST', '/providers', { name: name(), kind: 'ollama', base_url: emu.baseUrl('ollama') });
    const remote = await api('GET', `/providers/${ollama.body.id}/remote-models`, undefined);
    expect(remote.body.items.map((m: Json) => m.provider_model_id)).toEqual(['emu-llama:latest', 'emu-qwen:7b']);
    expect(remote.body.items[0].imported_model_id).toBeNull();
    const imported = await api(
      'POST',
      `/providers/${ollama.body.id}/models/import`,
      {
        models: [
          { provider_model_id: 'emu-llama:latest' },
          { provider_model_id: 'emu-qwen:7b', display_name: 'Qwen 7B', context_window: 32768 },
        ],
      },
      { as: admin },
    );
    expect(imported.status, imported.text).toBe(201);
    expect(imported.body.items.map((m: Json) => m.display_name)).toEqual(['emu-llama:latest', 'Qwen 7B']);
    const after = await api('GET', `/providers/${ollama.body.id}/remote-models`, undefined);
    expect(after.body.items[0].imported_model_id).toBe(imported.body.items[0].id);
    const again = await api(
      'POST',
      `/providers/${ollama.body.id}/models/import`,
      { models: [{ provider_model_id: 'emu-qwen:7b' }] },
      { as: admin },
    );
    expect(again.status).toBe(422);
    expect(again.body.errors[0].field).toBe('body.models[0].provider_model_id');

    const claude = await api('POST', '/providers', {
      name: name(),
      kind: 'anthropic',
      base_url: emu.baseUrl('anthropic'),
      api_key: 'sk-ant-good-0002',
    });
    const claudes = await api('GET', `/providers/${claude.body.id}/remote-models`, undefined);
    expect(claudes.body.items[0]).toMatchObject({
      provider_model_id: 'emu-claude-fast',
      display_name: 'emu-claude-fast (local emulator stand-in)',
      context_window: 200000,
      max_output_tokens: 64000,
    });
  });

  it('refuses to import a model the provider does not list unless forced, and marks image models', async () => {
    const created = await api('POST', '/providers', openaiProvider());
    const remote = await api('GET', `/providers/${created.body.id}/remote-models`);
    expect(remote.body.items.map((m: Json) => [m.provider_model_id, m.modality])).toEqual([
      ['emu-gpt-small', 'chat'],
      ['emu-gpt-large', 'chat'],
      ['emu-image', 'image'],
    ]);
    const before = await count(db, 'registry.models');
    const unknown = await api('POST', `/providers/${created.body.id}/models/import`, {
      models: [{ provider_model_id: 'emu-gpt-small' }, { provider_model_id: 'emu-gpt-typo' }],
    });
    expect(unknown.status, unknown.text).toBe(422);
    expect(unknown.body.errors).toEqual([
      { field: 'body.models[1].provider_model_id', message: expect.stringMatching(/does not list "emu-gpt-typo".*force/) },
    ]);
    expect(await count(db, 'registry.models')).toBe(before);

    // An image model imported without a modality is an image model, as the listing said.
    const imported = await api('POST', `/providers/${created.body.id}/models/import`, {
      models: [{ provider_model_id: 'emu-image' }, { provider_model_id: 'emu-gpt-small' }],
    });
    expect(imported.status, imported.text).toBe(201);
    expect(imported.body.items.map((m: Json) => m.modality)).toEqual(['image', 'chat']);

    // `force` imports what the listing does not show (a fine-tune, a private deployment), without asking.
    emu.clearRequests();
    const forced = await api('POST', `/providers/${created.body.id}/models/import`, {
      models: [{ provider_model_id: 'ft:emu-gpt-small:blog:1' }],
      force: true,
    });
    expect(forced.status, forced.text).toBe(201);
    expect(emu.requests).toHaveLength(0);

    // A provider that cannot be asked: a 502 naming its error and the way around it.
    const down = await api('POST', '/providers', { name: name(), kind: 'ollama', base_url: 'http://127.0.0.1:9' });
    const unchecked = await api('POST', `/providers/${down.body.id}/models/import`, {
      models: [{ provider_model_id: 'llama3' }],
    });
    expect(unchecked.status).toBe(502);
    expect(unchecked.body.detail).toMatch(/^network: .*force/);
    const anyway = await api('POST', `/providers/${down.body.id}/models/import`, {
      models: [{ provider_model_id: 'llama3' }],
      force: true,
    });
    expect(anyway.status, anyway.text).toBe(201);
  });

  it('a provider that answers with an error makes remote-models a 502 problem with its kind', async () => {
    const wrong = await api('POST', '/providers', openaiProvider({ api_key: 'sk-wrong-key-5555' }));
    const remote = await api('GET', `/providers/${wrong.body.id}/remote-models`, undefined);
    expect(remote.status).toBe(502);
    expect(remote.body.detail).toMatch(/^auth: /);
    expect(remote.text).not.toContain('sk-wrong-key-5555');
  });
});
