import { describe, expect, it } from 'vitest';
import { RetryPolicySchema } from '../contracts/registry.ts';
import { checkModelParameters, DEFAULT_RETRY_POLICY, samplingOf, type CheckedModel } from './parameters.ts';

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

describe('the retry-policy default', () => {
  it('is what a preset that names no retry policy gets from the contract', () => {
    expect(RetryPolicySchema.parse({})).toEqual(DEFAULT_RETRY_POLICY);
    expect(RetryPolicySchema.parse({ max_attempts: 5 })).toEqual({ ...DEFAULT_RETRY_POLICY, max_attempts: 5 });
  });
});
