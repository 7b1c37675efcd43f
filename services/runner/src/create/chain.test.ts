import { describe, expect, it } from 'vitest';
import { chainOf, timeoutsOf, unusable, type ModelRow } from './chain.ts';

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
      seed: 7,
      max_output_tokens: 500,
      first_byte_timeout_ms: 1_000,
    });
    expect(chain.map((entry) => entry.model_id)).toEqual([primary.id, good.id, later.id]);
    expect(chain[1]).toEqual({
      model_id: good.id,
      provider_id: 'provider-1',
      provider_kind: 'openai',
      provider_model_id: good.provider_model_id,
      display_name: good.display_name,
      modality: 'chat',
    });
  });

  it('is the model alone when no fallback qualifies', () => {
    const primary = model({ modality: 'image' });
    const chat = model();
    expect(chainOf(primary, [chat.id], byId(primary, chat), {}).map((entry) => entry.model_id)).toEqual([primary.id]);
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
