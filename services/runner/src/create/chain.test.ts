import { describe, expect, it } from 'vitest';
import { defaultRules } from '@llmops/kit/adapters/rules';
import { chainOf, conversationProblem, timeoutsOf, unusable, type ModelRow } from './chain.ts';

let n = 0;
function model(fields: Partial<ModelRow> = {}): ModelRow {
  n += 1;
  return {
    id: `model-${n}`,
    provider_id: 'provider-1',
    provider_kind: 'openai',
    provider_model_id: `gpt-${n}`,
    display_name: `Model ${n}`,
    modality: 'chat',
    max_output_tokens: null,
    supports_json: true,
    enabled: true,
    archived_at: null,
    deleted: false,
    provider_name: 'Main',
    provider_enabled: true,
    provider_archived_at: null,
    provider_deleted: false,
    provider_timeout_ms: 30_000,
    ...fields,
  };
}

const byId = (...models: ModelRow[]) => new Map(models.map((row) => [row.id, row]));

describe("a task's chain of models", () => {
  it('keeps, in order, the fallbacks that can run now, make the same output and take the parameters', () => {
    const primary = model();
    const good = model();
    const disabled = model({ enabled: false });
    const painter = model({ modality: 'image' });
    const claude = model({ provider_kind: 'anthropic' }); // has no seed
    const small = model({ max_output_tokens: 100 });
    const uncopied = model({ provider_enabled: null });
    const later = model({ provider_kind: 'ollama' });
    const fallbacks = [disabled, good, painter, claude, 'unknown-id', small, uncopied, later].map((row) =>
      typeof row === 'string' ? row : row.id,
    );
    const chain = chainOf(primary, fallbacks, byId(primary, good, disabled, painter, claude, small, uncopied, later), {
      parameters: { seed: 7, max_output_tokens: 500, first_byte_timeout_ms: 1_000 },
      messages: [{ role: 'user', content: 'Hello.' }],
    });
    expect(chain.map((entry) => entry.model_id)).toEqual([primary.id, good.id, later.id]);
    expect(chain[1]).toEqual({
      model_id: good.id,
      provider_id: 'provider-1',
      provider_kind: 'openai',
      provider_model_id: good.provider_model_id,
      display_name: good.display_name,
      modality: 'chat',
      reasoning: false,
      max_output_tokens: null,
    });
  });

  it('is the model alone when no fallback qualifies', () => {
    const primary = model({ modality: 'image' });
    const chat = model();
    const chain = chainOf(primary, [chat.id], byId(primary, chat), {
      parameters: {},
      messages: [{ role: 'user', content: 'Hello.' }],
    });
    expect(chain.map((entry) => entry.model_id)).toEqual([primary.id]);
  });

  it("leaves out fallbacks whose rules refuse the parameters or image options, and Claude for a system-only conversation; carries each model's reasoning and output cap", () => {
    const primary = model({ max_output_tokens: 2_000 });
    const reasoner = model({ rules: { ...defaultRules('openai', 'chat'), reasoning: true } });
    const strict = model({ rules: { ...defaultRules('openai', 'chat'), exclusive: [['temperature', 'top_p']] } });
    const claude = model({ provider_kind: 'anthropic' });
    const ids = [reasoner.id, strict.id, claude.id];
    const all = byId(primary, reasoner, strict, claude);
    const both = chainOf(primary, ids, all, {
      parameters: { temperature: 0.5, top_p: 0.9 },
      messages: [{ role: 'user', content: 'Hello.' }],
    });
    expect(both.map((entry) => entry.model_id)).toEqual([primary.id, reasoner.id, claude.id]);
    expect(both.map((entry) => [entry.reasoning, entry.max_output_tokens])).toEqual([
      [false, 2_000],
      [true, null],
      [false, null],
    ]);
    const systemOnly = chainOf(primary, ids, all, { parameters: {}, messages: [{ role: 'system', content: 'Be brief.' }] });
    expect(systemOnly.map((entry) => entry.model_id)).toEqual([primary.id, reasoner.id, strict.id]);

    const painter = model({ modality: 'image' });
    const one = model({
      modality: 'image',
      rules: { ...defaultRules('openai', 'image'), image: { n_max: 1, sizes: null, qualities: null } },
    });
    const open = model({ modality: 'image' });
    const images = chainOf(painter, [one.id, open.id], byId(painter, one, open), {
      parameters: {},
      image: { n: 2 },
      messages: [],
    });
    expect(images.map((entry) => entry.model_id)).toEqual([painter.id, open.id]);
  });
});

describe('a conversation a model cannot take', () => {
  it('is a system-only one to an Anthropic model, saying why', () => {
    const claude = model({ provider_kind: 'anthropic', display_name: 'Claude' });
    const system = { role: 'system', content: 'Be brief.' };
    const user = { role: 'user', content: 'Hello.' };
    expect(conversationProblem(claude, [system])).toMatch(
      /^model "Claude" \(anthropic\) needs at least one user or assistant message/,
    );
    expect(conversationProblem(claude, [system, user])).toBeUndefined();
    expect(conversationProblem(model(), [system])).toBeUndefined();
  });

  it('is one with a system message to a model whose rules take none (o1-mini), saying why', () => {
    const o1mini = model({
      display_name: 'o1-mini',
      rules: { ...defaultRules('openai', 'chat'), reasoning: true, system_messages: false },
    });
    const system = { role: 'system', content: 'Be brief.' };
    const user = { role: 'user', content: 'Hello.' };
    expect(conversationProblem(o1mini, [system, user])).toMatch(/^model "o1-mini" takes no system message/);
    expect(conversationProblem(o1mini, [user])).toBeUndefined();
    expect(
      conversationProblem(model({ rules: { ...defaultRules('openai', 'chat'), system_messages: true } }), [system, user]),
    ).toBeUndefined();
    // Left out of a chain when the conversation has one.
    const gpt = model();
    const chain = chainOf(gpt, [o1mini.id], byId(gpt, o1mini), { parameters: {}, messages: [system, user] });
    expect(chain.map((entry) => entry.model_id)).toEqual([gpt.id]);
  });

  it('is one that never says JSON to an OpenAI model in JSON mode', () => {
    const gpt = model({ provider_kind: 'openai', display_name: 'GPT' });
    const json = { response_format: { type: 'json_object' } };
    const user = { role: 'user', content: 'Three colours.' };
    expect(conversationProblem(gpt, [user], json)).toMatch(/^model "GPT" \(openai\) is asked for a JSON object/);
    expect(conversationProblem(gpt, [{ role: 'system', content: 'Reply in Json.' }, user], json)).toBeUndefined();
    expect(conversationProblem(gpt, [user], { response_format: { type: 'json_schema' } })).toBeUndefined();
    expect(conversationProblem(gpt, [user])).toBeUndefined();
  });
});

describe('why a model cannot run a task now', () => {
  it('names the model or its provider', () => {
    expect(unusable(undefined)).toBe('no such model in the registry');
    expect(unusable(model({ deleted: true }))).toBe('no such model in the registry');
    expect(unusable(model({ display_name: 'Old', archived_at: new Date() }))).toBe('model "Old" is archived');
    expect(unusable(model({ display_name: 'Off', enabled: false }))).toBe('model "Off" is disabled');
    expect(unusable(model({ display_name: 'Lost', provider_enabled: null }))).toBe('the provider of model "Lost" is gone');
    expect(unusable(model({ provider_archived_at: new Date() }))).toBe('provider "Main" is archived');
    expect(unusable(model({ provider_enabled: false }))).toBe('provider "Main" is disabled');
    expect(unusable(model())).toBeUndefined();
  });
});

describe('the timeouts a task runs with', () => {
  it("are the parameters', else the provider's", () => {
    const row = model({ provider_timeout_ms: 30_000 });
    expect(timeoutsOf(row, { first_byte_timeout_ms: 5_000 })).toEqual({ first_byte_ms: 5_000, idle_ms: 30_000 });
    expect(timeoutsOf(model({ provider_timeout_ms: null }), { idle_timeout_ms: 2_000 })).toEqual({
      first_byte_ms: null,
      idle_ms: 2_000,
    });
  });
});
