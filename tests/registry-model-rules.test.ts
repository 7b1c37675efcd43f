import { afterAll, describe, expect, it } from 'vitest';
import { startStack } from '@llmops/kit/testing/stack';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { withClient } from '@llmops/kit/db';
import { ModelRulesSchema, rulesProblems, type ModelRules, type ParameterRule } from '@llmops/kit/adapters/rules';
import type { ChatParameters, ProviderKind } from '@llmops/kit/adapters/types';
import { checkModelParameters } from '@llmops/kit/adapters/parameters';
import { KINDS } from '@llmops/kit/adapters/kinds';
import { maxTokensFieldOf, openaiChatBody } from '@llmops/kit/adapters/openai';
import { anthropicMessageBody } from '@llmops/kit/adapters/anthropic';
import { ollamaChatBody } from '@llmops/kit/adapters/ollama';
import { chatProblem as openaiChatProblem, imageProblem } from '@llmops/emulator/openai-requests';
import { messagesProblem } from '@llmops/emulator/anthropic-requests';
import { chatProblem as ollamaChatProblem } from '@llmops/emulator/ollama-requests';
import { editor, outbox, registryApi, runner, type Json } from './registry-support.ts';

const db = await useTestDatabase();
const stack = await startStack({ db, services: ['registry'] });
afterAll(() => stack.stop());
const api = registryApi(stack);
let n = 0;

async function provider(kind: ProviderKind, fields: Json = {}) {
  const body: Json = { name: `rules-${++n}`, kind, base_url: 'http://127.0.0.1:9/v1', ...fields };
  if (kind === 'anthropic') body.api_key = 'sk-ant-test-1111';
  const response = await api('POST', '/providers', body);
  expect(response.status, response.text).toBe(201);
  return response.body;
}

async function model(providerId: string, providerModelId: string, fields: Json = {}) {
  const response = await api('POST', '/models', { provider_id: providerId, provider_model_id: providerModelId, ...fields });
  expect(response.status, response.text).toBe(201);
  return response.body;
}

describe('model families (reference data in sql/registry)', () => {
  it('are each valid rules that their kind can carry', async () => {
    const families = await withClient(db.adminUrl, async (client) => {
      const { rows } = await client.query<{ id: string; provider_kind: ProviderKind; rules: unknown }>(
        'SELECT id, provider_kind, rules FROM registry.model_families ORDER BY id',
      );
      return rows;
    });
    expect(families.length).toBeGreaterThanOrEqual(15);
    for (const family of families) {
      const parsed = ModelRulesSchema.safeParse(family.rules);
      expect(parsed.success, `${family.id}: ${parsed.error?.message}`).toBe(true);
      if (parsed.success) expect(rulesProblems(family.provider_kind, parsed.data, family.id), family.id).toEqual([]);
    }
  });
});

describe("a model's rules", () => {
  it('are copied from the most specific family when a model is created, else the kind default', async () => {
    const openai = await provider('openai');
    const anthropic = await provider('anthropic');
    const o3 = await model(openai.id, 'o3-mini');
    expect(o3.rules_family).toBe('openai-o-series');
    expect(o3.rules.reasoning).toBe(true);
    expect(Object.keys(o3.rules.parameters).sort()).toEqual(['max_output_tokens', 'reasoning_effort', 'response_format', 'seed']);
    expect((await model(openai.id, 'o1-mini')).rules_family).toBe('openai-o1-mini');
    expect((await model(openai.id, 'gpt-5.1')).rules.conditions).toEqual([
      { parameters: ['temperature', 'top_p'], when: { parameter: 'reasoning_effort', values: ['none'] } },
    ]);
    expect((await model(openai.id, 'gpt-4o-mini')).rules_family).toBe('openai-gpt-4');
    const sonnet = await model(anthropic.id, 'claude-sonnet-4-5');
    expect(sonnet).toMatchObject({ rules_family: 'anthropic-claude-4.5', rules: { exclusive: [['temperature', 'top_p']] } });
    expect((await model(anthropic.id, 'claude-sonnet-4-20250514')).rules_family).toBe('anthropic-claude-4');
    // Opus 4.1 refuses temperature with top_p like the 4.5-era models (sql/registry/000007).
    expect(await model(anthropic.id, 'claude-opus-4-1-20250805')).toMatchObject({
      rules_family: 'anthropic-claude-opus-4.1',
      rules: { exclusive: [['temperature', 'top_p']] },
    });
    expect((await model(anthropic.id, 'claude-3-5-haiku-latest')).rules_family).toBe('anthropic-claude-3');
    const dalle3 = await model(openai.id, 'dall-e-3', { modality: 'image' });
    expect(dalle3.rules.image).toEqual({
      n_max: 1,
      sizes: ['1024x1024', '1792x1024', '1024x1792'],
      qualities: ['standard', 'hd'],
    });
    const custom = await model(openai.id, 'my-finetune', { modality: 'image' });
    expect(custom).toMatchObject({
      rules_family: 'openai-image-default',
      rules: { image: { n_max: 10, sizes: null, qualities: null } },
    });
    const local = await model((await provider('ollama')).id, 'llama3.2:3b');
    expect(local).toMatchObject({ rules_family: 'ollama-default', rules: { reasoning: false, exclusive: [] } });
    // The runner's copy gets them with the model.
    const event = (await outbox(db, 'registry.model.changed')).find((e) => e.payload.model_id === sonnet.id);
    expect(event?.payload.model.rules).toEqual(sonnet.rules);
  });

  it('are copied when models are imported (forced, so the provider is not asked)', async () => {
    const openai = await provider('openai');
    const imported = await api('POST', `/providers/${openai.id}/models/import`, {
      models: [{ provider_model_id: 'gpt-5-mini' }, { provider_model_id: 'gpt-image-1', modality: 'image' }],
      force: true,
    });
    expect(imported.status, imported.text).toBe(201);
    expect(imported.body.items.map((m: Json) => m.rules_family)).toEqual(['openai-gpt-5', 'openai-gpt-image-1']);
  });

  it('are editable per model, checked against what the kind can carry; an edited model has no family', async () => {
    const anthropic = await provider('anthropic');
    const haiku = await model(anthropic.id, 'claude-haiku-4-5');
    const refused = await api(
      'PATCH',
      `/models/${haiku.id}`,
      { rules: { ...haiku.rules, parameters: { ...haiku.rules.parameters, seed: {} } } },
      { as: editor },
    );
    expect(refused.status).toBe(403);
    const bad = await api('PATCH', `/models/${haiku.id}`, {
      rules: { ...haiku.rules, parameters: { ...haiku.rules.parameters, seed: {} } },
    });
    expect(bad.status, bad.text).toBe(422);
    expect(bad.body.errors).toEqual([{ field: 'body.rules.parameters.seed', message: 'Anthropic has no seed' }]);
    const malformed = await api('PATCH', `/models/${haiku.id}`, { rules: { ...haiku.rules, exclusive: [['temperature']] } });
    expect(malformed.status).toBe(422);
    expect(malformed.body.errors[0].field).toBe('body.rules.exclusive[0]');
    const relaxed = await api('PATCH', `/models/${haiku.id}`, { rules: { ...haiku.rules, exclusive: [] } });
    expect(relaxed.status, relaxed.text).toBe(200);
    expect(relaxed.body).toMatchObject({ rules_family: null, rules: { exclusive: [] } });
    // The preset check follows the edited rules.
    const preset = await api('POST', '/presets', {
      name: `both-${++n}`,
      model_id: haiku.id,
      parameters: { temperature: 0.5, top_p: 0.9 },
    });
    expect(preset.status, preset.text).toBe(201);
  });

  it('are given at create when the caller knows better than the family', async () => {
    const openai = await provider('openai');
    const created = await model(openai.id, 'local-reasoner', {
      rules: { reasoning: true, parameters: { max_output_tokens: { min: 1 } }, exclusive: [], conditions: [], image: null },
    });
    expect(created).toMatchObject({ rules_family: null, rules: { reasoning: true } });
    const bad = await api('POST', '/models', {
      provider_id: openai.id,
      provider_model_id: 'other',
      rules: { reasoning: false, parameters: { top_k: {} }, exclusive: [], conditions: [], image: null },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.errors).toEqual([
      { field: 'body.rules.parameters.top_k', message: 'OpenAI or OpenAI-compatible has no top_k' },
    ]);
  });
});

describe('presets are checked against the rules of each model', () => {
  it('refuses temperature and top_p together on a 4.5-era Claude with a 422 naming the rule', async () => {
    const anthropic = await provider('anthropic');
    const sonnet = await model(anthropic.id, 'claude-sonnet-4-5');
    const older = await model(anthropic.id, 'claude-3-7-sonnet-latest');
    const both = { temperature: 0.7, top_p: 0.9 };
    const refused = await api('POST', '/presets', { name: `p-${++n}`, model_id: sonnet.id, parameters: both });
    expect(refused.status).toBe(422);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.body.errors).toEqual([
      { field: 'body.parameters.top_p', message: 'model "claude-sonnet-4-5" takes temperature or top_p, not both' },
    ]);
    expect((await api('POST', '/presets', { name: `p-${++n}`, model_id: older.id, parameters: both })).status).toBe(201);
    // A fallback is checked too.
    const asFallback = await api('POST', '/presets', {
      name: `p-${++n}`,
      model_id: older.id,
      fallback_model_ids: [sonnet.id],
      parameters: both,
    });
    expect(asFallback.status).toBe(422);
  });

  it("refuses a reasoning model's sampling parameters, and an effort the model lacks", async () => {
    const openai = await provider('openai');
    const o4 = await model(openai.id, 'o4-mini');
    const refused = await api('POST', '/presets', {
      name: `p-${++n}`,
      model_id: o4.id,
      parameters: { temperature: 0.2, reasoning_effort: 'minimal' },
    });
    expect(refused.status).toBe(422);
    expect(refused.body.errors).toEqual([
      { field: 'body.parameters.temperature', message: 'model "o4-mini" is a reasoning model and takes no temperature' },
      {
        field: 'body.parameters.reasoning_effort',
        message: 'model "o4-mini" takes reasoning_effort low, medium or high, not minimal',
      },
    ]);
    const ok = await api('POST', '/presets', { name: `p-${++n}`, model_id: o4.id, parameters: { reasoning_effort: 'high' } });
    expect(ok.status, ok.text).toBe(201);
  });

  it('refuses a chain that mixes image and chat models, on create and on change', async () => {
    const openai = await provider('openai');
    const chat = await model(openai.id, 'gpt-4.1');
    const painter = await model(openai.id, 'dall-e-2', { modality: 'image' });
    const mixed = await api('POST', '/presets', { name: `p-${++n}`, model_id: chat.id, fallback_model_ids: [painter.id] });
    expect(mixed.status).toBe(422);
    expect(mixed.body.errors).toEqual([
      {
        field: 'body.fallback_model_ids[0]',
        message:
          'model "dall-e-2" generates images, but the preset\'s chain writes text (model "gpt-4.1"): a fallback must make the same kind of output',
      },
    ]);
    const preset = await api('POST', '/presets', { name: `p-${++n}`, model_id: painter.id });
    expect(preset.status).toBe(201);
    const changed = await api('PATCH', `/presets/${preset.body.id}`, { fallback_model_ids: [chat.id] });
    expect(changed.status).toBe(422);
    expect(changed.body.errors[0].message).toMatch(/writes text, but the preset's chain generates images/);
  });
});

describe("a provider's max-tokens field", () => {
  it('is set, changed and cleared on OpenAI-compatible providers, and reaches the runner with the connection', async () => {
    const local = await provider('openai', { max_tokens_field: 'max_tokens' });
    expect(local.max_tokens_field).toBe('max_tokens');
    const credential = await api('GET', `/internal/providers/${local.id}/credential`, undefined, { as: runner });
    expect(credential.body.max_tokens_field).toBe('max_tokens');
    const changed = await api('PATCH', `/providers/${local.id}`, { max_tokens_field: 'max_completion_tokens' });
    expect(changed.status, changed.text).toBe(200);
    expect(changed.body.max_tokens_field).toBe('max_completion_tokens');
    const events = (await outbox(db, 'registry.provider.changed')).filter((e) => e.payload.provider_id === local.id);
    // The runner drops its cached connection: the field is part of it.
    expect(events.at(-1)?.payload.provider.credential_changed).toBe(true);
    const cleared = await api('PATCH', `/providers/${local.id}`, { max_tokens_field: null });
    expect(cleared.body.max_tokens_field).toBeNull();
    expect((await api('GET', `/providers/${local.id}`)).body.max_tokens_field).toBeNull();
  });

  it('is refused on other kinds and for values the adapters do not know', async () => {
    const refused = await api('POST', '/providers', {
      name: `mt-${++n}`,
      kind: 'ollama',
      base_url: 'http://127.0.0.1:9',
      max_tokens_field: 'max_tokens',
    });
    expect(refused.status).toBe(422);
    expect(refused.body.errors[0].field).toBe('body.max_tokens_field');
    const unknown = await api('POST', '/providers', { name: `mt-${++n}`, kind: 'openai', max_tokens_field: 'num_predict' });
    expect(unknown.status).toBe(422);
  });
});

/**
 * Each model family's rules agree with the provider's own (the strict emulator's, written from the API
 * references): whatever the one parameter checker lets a preset or task give a model of the family, the
 * adapter's body for it is a request the provider takes. The kinds' permissive defaults (priority 0, for
 * ids no family knows) are left out: they pass on what an unknown model may take.
 */
describe('model families agree with the providers', () => {
  const ids: Record<ProviderKind, string[]> = {
    openai: [
      ...['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'gpt-4.1-nano', 'gpt-4-turbo', 'gpt-3.5-turbo', 'chatgpt-4o-latest'],
      ...['o1', 'o1-mini', 'o1-preview', 'o3', 'o3-mini', 'o4-mini'],
      ...['gpt-5', 'gpt-5-mini', 'gpt-5-nano', 'gpt-5.1', 'gpt-5.2', 'gpt-5-pro', 'gpt-5-chat-latest'],
    ],
    anthropic: [
      ...['claude-3-5-haiku-latest', 'claude-3-7-sonnet-latest', 'claude-opus-4-20250514', 'claude-sonnet-4-20250514'],
      ...['claude-opus-4-1-20250805', 'claude-opus-4-1', 'claude-sonnet-4-5', 'claude-haiku-4-5-20251001', 'claude-opus-4-5'],
    ],
    ollama: ['llama3.2:3b'],
  };
  const imageIds = ['dall-e-2', 'dall-e-3', 'gpt-image-1'];
  const messages = [
    { role: 'system' as const, content: 'Be exact; answer in JSON when asked to.' },
    { role: 'user' as const, content: 'hello' },
  ];

  async function families(): Promise<{ id: string; kind: ProviderKind; modality: string; pattern: RegExp; rules: ModelRules }[]> {
    return withClient(db.adminUrl, async (client) => {
      const { rows } = await client.query<{
        id: string;
        provider_kind: ProviderKind;
        modality: string;
        pattern: string;
        rules: ModelRules;
      }>(
        'SELECT id, provider_kind, modality, pattern, rules FROM registry.model_families WHERE priority > 0 ORDER BY priority DESC, id',
      );
      return rows.map((row) => ({
        id: row.id,
        kind: row.provider_kind,
        modality: row.modality,
        pattern: new RegExp(row.pattern),
        rules: row.rules,
      }));
    });
  }

  /** Values of one parameter its rule allows: its ends, each of its words, the most stop sequences. */
  function valuesOf(name: string, rule: ParameterRule): unknown[] {
    if (name === 'response_format')
      return (rule.values ?? []).map((type) =>
        type === 'json_schema' ? { type, name: 'answer', schema: { type: 'object', properties: {} } } : { type },
      );
    if (rule.values) return rule.values;
    if (name === 'stop') return [['END'], Array.from({ length: rule.max_items ?? 1 }, (_, i) => `S${i}`)];
    if (name === 'seed') return [42];
    return [rule.min ?? 1, rule.max ?? (rule.min ?? 0) + 100].map((value) =>
      ['max_output_tokens', 'top_k'].includes(name) ? Math.max(1, Math.round(value)) : value,
    );
  }

  /** Each parameter alone with each value, and all of them together, with what a condition asks added. */
  function parameterSets(rules: ModelRules): Record<string, unknown>[] {
    const entries = Object.entries(rules.parameters) as [string, ParameterRule][];
    const withConditions = (set: Record<string, unknown>) => {
      for (const { parameters: names, when } of rules.conditions)
        if (names.some((name) => name in set)) set[when.parameter] = when.values[0];
      return set;
    };
    const sets = entries.flatMap(([name, rule]) => valuesOf(name, rule).map((value) => withConditions({ [name]: value })));
    const all: Record<string, unknown> = {};
    for (const [name, rule] of entries)
      if (!rules.exclusive.some((group) => group.slice(1).includes(name as never))) all[name] = valuesOf(name, rule)[0];
    return [...sets, withConditions(all)];
  }

  it('for chat models: every parameter set the checker accepts is a body the provider takes', async () => {
    const known = await families();
    let checked = 0;
    const refused: string[] = [];
    for (const kind of ['openai', 'anthropic', 'ollama'] as const)
      for (const id of ids[kind]) {
        const family = known.find((f) => f.kind === kind && f.modality === 'chat' && f.pattern.test(id));
        if (!family) {
          expect(kind, `${id}: no family (only local models fall to the kind's default)`).toBe('ollama');
          continue;
        }
        const model = {
          display_name: id,
          provider_kind: kind,
          modality: 'chat' as const,
          supports_json: true,
          max_output_tokens: null,
          rules: family.rules,
        };
        for (const parameters of parameterSets(family.rules)) {
          if (checkModelParameters(model, parameters).length > 0) continue;
          // A model that takes no system message is sent none (the runner refuses such a task at creation).
          const conversation = family.rules.system_messages === false ? messages.filter((m) => m.role !== 'system') : messages;
          const request = {
            model: id,
            messages: conversation,
            parameters: parameters as ChatParameters,
            reasoning: family.rules.reasoning,
          };
          const problem =
            kind === 'openai'
              ? openaiChatProblem({
                  ...openaiChatBody(request, maxTokensFieldOf({ baseUrl: KINDS.openai.defaultBaseUrl }, request.reasoning)),
                  stream: true,
                })
              : kind === 'anthropic'
                ? messagesProblem({ ...anthropicMessageBody(request), stream: true })
                : ollamaChatProblem(ollamaChatBody(request));
          if (problem) refused.push(`${id} (${family.id}) ${JSON.stringify(parameters)}: ${problem.message}`);
          checked++;
        }
      }
    expect(refused).toEqual([]);
    expect(checked).toBeGreaterThan(100);
  });

  it('for image models: every n, size and quality the rules allow is a request the provider takes', async () => {
    const known = await families();
    for (const id of imageIds) {
      const family = known.find((f) => f.kind === 'openai' && f.modality === 'image' && f.pattern.test(id));
      const image = family?.rules.image;
      expect(image, id).toBeTruthy();
      for (const n of [1, image?.n_max ?? 1])
        for (const size of image?.sizes ?? [])
          for (const quality of image?.qualities ?? [])
            expect(imageProblem({ model: id, prompt: 'a fox', n, size, quality }), `${id} n ${n} ${size} ${quality}`).toBeNull();
    }
  });
});
