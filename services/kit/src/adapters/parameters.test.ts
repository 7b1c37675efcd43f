import { describe, expect, it } from 'vitest';
import { RetryPolicySchema } from '../contracts/registry.ts';
import { checkImageOptions, checkModelParameters, DEFAULT_RETRY_POLICY, samplingOf, type CheckedModel } from './parameters.ts';
import { defaultRules, rulesProblems, type ModelRules } from './rules.ts';

const chat = (fields: Partial<CheckedModel> = {}): CheckedModel => ({
  display_name: 'Writer',
  provider_kind: 'openai',
  modality: 'chat',
  supports_json: true,
  max_output_tokens: null,
  ...fields,
});

describe('the parameter checker', () => {
  it('takes what the kind has, in its ranges, and the timeouts on every kind', () => {
    const parameters = {
      temperature: 0.7,
      top_p: 1,
      seed: 4,
      stop: ['\n'],
      first_byte_timeout_ms: 5_000,
      idle_timeout_ms: 9_000,
    };
    expect(checkModelParameters(chat(), parameters)).toEqual([]);
    expect(checkModelParameters(chat({ provider_kind: 'anthropic' }), { top_k: 40, idle_timeout_ms: 1_000 })).toEqual([]);
    expect(checkModelParameters(chat(), {})).toEqual([]);
  });

  it('refuses a parameter the kind lacks or takes in a narrower range, naming the field, the kind and the model', () => {
    const claude = chat({ display_name: 'Claude', provider_kind: 'anthropic' });
    expect(checkModelParameters(claude, { seed: 1, temperature: 1.5, top_p: 0.9 })).toEqual([
      { field: 'body.parameters.seed', message: 'Anthropic does not support seed (model "Claude" (anthropic))' },
      { field: 'body.parameters.temperature', message: 'Anthropic takes temperature from 0 to 1 (model "Claude" (anthropic))' },
    ]);
    expect(checkModelParameters(chat(), { stop: ['a', 'b', 'c', 'd', 'e'] })).toEqual([
      {
        field: 'body.parameters.stop',
        message: 'OpenAI or OpenAI-compatible takes at most 4 stop sequences (model "Writer" (openai))',
      },
    ]);
  });

  it('refuses JSON output on a model without the capability, once, whichever rule refuses it', () => {
    const plain = chat({ supports_json: false });
    expect(checkModelParameters(plain, { response_format: { type: 'json_object' } })).toEqual([
      {
        field: 'body.parameters.response_format',
        message: 'model "Writer" (openai) does not support JSON output (its capabilities.json_output is false)',
      },
    ]);
    expect(checkModelParameters(plain, { response_format: { type: 'text' } })).toEqual([]);
    // Anthropic has no json_object at all: that is the one problem named, not the capability too.
    const claude = chat({ display_name: 'Claude', provider_kind: 'anthropic', supports_json: false });
    expect(checkModelParameters(claude, { response_format: { type: 'json_object' } })).toEqual([
      {
        field: 'body.parameters.response_format',
        message: 'Anthropic does not support response_format json_object (model "Claude" (anthropic))',
      },
    ]);
  });

  it('refuses more output tokens than the model writes, and takes any count when its limit is unknown', () => {
    const small = chat({ max_output_tokens: 1_000 });
    expect(checkModelParameters(small, { max_output_tokens: 1_000 })).toEqual([]);
    expect(checkModelParameters(small, { max_output_tokens: 1_001 })).toEqual([
      { field: 'body.parameters.max_output_tokens', message: 'model "Writer" (openai) writes at most 1000 tokens' },
    ]);
    expect(checkModelParameters(chat(), { max_output_tokens: 1_000_000 })).toEqual([]);
  });

  it('refuses every sampling parameter on an image model, and takes its timeouts', () => {
    const painter = chat({ display_name: 'Painter', modality: 'image' });
    expect(checkModelParameters(painter, { temperature: 0.2, seed: 1, first_byte_timeout_ms: 5_000 })).toEqual([
      { field: 'body.parameters.temperature', message: 'model "Painter" (openai) generates images and takes no temperature' },
      { field: 'body.parameters.seed', message: 'model "Painter" (openai) generates images and takes no seed' },
    ]);
    expect(checkModelParameters(painter, { idle_timeout_ms: 1_000 })).toEqual([]);
  });

  it('leaves the timeouts out of what the provider is sent', () => {
    expect(samplingOf({ temperature: 0.5, first_byte_timeout_ms: 1, idle_timeout_ms: 2 })).toEqual({ temperature: 0.5 });
  });
});

describe("the checker under a model's rules", () => {
  const claude45 = chat({
    display_name: 'claude-sonnet-4-5',
    provider_kind: 'anthropic',
    rules: { ...defaultRules('anthropic', 'chat'), exclusive: [['temperature', 'top_p']] },
  });
  const o3: ModelRules = {
    reasoning: true,
    parameters: { max_output_tokens: { min: 1 }, reasoning_effort: { values: ['low', 'medium', 'high'] } },
    exclusive: [],
    conditions: [],
    image: null,
  };

  it('refuses both parameters of an exclusive group, naming the rule', () => {
    expect(checkModelParameters(claude45, { temperature: 0.5, top_p: 0.9 })).toEqual([
      { field: 'body.parameters.top_p', message: 'model "claude-sonnet-4-5" takes temperature or top_p, not both' },
    ]);
    expect(checkModelParameters(claude45, { temperature: 0.5 })).toEqual([]);
  });

  it("refuses a reasoning model's sampling parameters and an effort it lacks", () => {
    const model = chat({ display_name: 'o3', rules: o3 });
    expect(checkModelParameters(model, { temperature: 1, presence_penalty: 0, reasoning_effort: 'minimal' })).toEqual([
      { field: 'body.parameters.temperature', message: 'model "o3" is a reasoning model and takes no temperature' },
      { field: 'body.parameters.presence_penalty', message: 'model "o3" is a reasoning model and takes no presence_penalty' },
      {
        field: 'body.parameters.reasoning_effort',
        message: 'model "o3" takes reasoning_effort low, medium or high, not minimal',
      },
    ]);
    expect(checkModelParameters(model, { reasoning_effort: 'high', max_output_tokens: 500, idle_timeout_ms: 5_000 })).toEqual([]);
  });

  it('takes a conditional parameter only when its condition holds', () => {
    const model = chat({
      display_name: 'gpt-5.1',
      rules: {
        ...o3,
        parameters: { ...o3.parameters, temperature: { min: 0, max: 2 }, reasoning_effort: { values: ['none', 'low'] } },
        conditions: [{ parameters: ['temperature', 'top_p'], when: { parameter: 'reasoning_effort', values: ['none'] } }],
      },
    });
    expect(checkModelParameters(model, { temperature: 0.3 })).toEqual([
      { field: 'body.parameters.temperature', message: 'model "gpt-5.1" takes temperature only when reasoning_effort is none' },
    ]);
    expect(checkModelParameters(model, { temperature: 0.3, reasoning_effort: 'low' })).toHaveLength(1);
    expect(checkModelParameters(model, { temperature: 0.3, reasoning_effort: 'none' })).toEqual([]);
  });

  it('checks image options per model: n, size and quality; open rules pass them on', () => {
    const dalle3 = chat({
      display_name: 'dall-e-3',
      modality: 'image',
      rules: {
        ...defaultRules('openai', 'image'),
        image: { n_max: 1, sizes: ['1024x1024', '1792x1024'], qualities: ['standard', 'hd'] },
      },
    });
    expect(checkImageOptions(dalle3, { n: 4, size: '999x999', quality: 'ultra' })).toEqual([
      { field: 'body.image.n', message: 'model "dall-e-3" makes one image per request' },
      { field: 'body.image.size', message: 'model "dall-e-3" makes images of 1024x1024 or 1792x1024, not 999x999' },
      { field: 'body.image.quality', message: 'model "dall-e-3" takes quality standard or hd, not ultra' },
    ]);
    expect(checkImageOptions(dalle3, { n: 1, size: '1792x1024', quality: 'hd' })).toEqual([]);
    const custom = chat({ display_name: 'painter', modality: 'image' });
    expect(checkImageOptions(custom, { n: 3, size: '640x480', quality: 'whatever' })).toEqual([]);
    expect(checkImageOptions(custom, { n: 11 })).toEqual([
      { field: 'body.image.n', message: 'model "painter" makes at most 10 images per request' },
    ]);
  });

  it('refuses rules the kind cannot carry', () => {
    const rules: ModelRules = {
      ...defaultRules('anthropic', 'chat'),
      parameters: { seed: {}, temperature: { min: 0, max: 2 } },
      exclusive: [['temperature', 'top_p']],
    };
    expect(rulesProblems('anthropic', rules, 'body.rules')).toEqual([
      { field: 'body.rules.parameters.seed', message: 'Anthropic has no seed' },
      { field: 'body.rules.parameters.temperature.max', message: 'Anthropic takes temperature up to 1' },
      { field: 'body.rules.exclusive[0]', message: 'top_p is not among the parameters the model takes' },
    ]);
    expect(rulesProblems('openai', defaultRules('openai', 'chat'), 'body.rules')).toEqual([]);
    expect(rulesProblems('ollama', defaultRules('ollama', 'chat'), 'body.rules')).toEqual([]);
  });
});

describe('the retry-policy default', () => {
  it('is what a preset that names no retry policy gets from the contract', () => {
    expect(RetryPolicySchema.parse({})).toEqual(DEFAULT_RETRY_POLICY);
    expect(RetryPolicySchema.parse({ max_attempts: 5 })).toEqual({ ...DEFAULT_RETRY_POLICY, max_attempts: 5 });
  });
});
