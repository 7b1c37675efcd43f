import { describe, expect, it } from 'vitest';
import { epochOf } from './legacy-source.ts';
import { parametersOf, providerTarget } from './registry-plan.ts';

describe('legacy provider types', () => {
  it('maps local and ollama to Ollama, openai to OpenAI, with the default URL when the row has none', () => {
    expect(providerTarget('local', 'http://localhost:11434/')).toEqual({ kind: 'ollama', base_url: 'http://localhost:11434' });
    expect(providerTarget('ollama', '')).toEqual({ kind: 'ollama', base_url: 'http://localhost:11434' });
    expect(providerTarget('openai', '')).toEqual({ kind: 'openai', base_url: 'https://api.openai.com/v1' });
  });

  it('recognises "other" by its base URL, and says why when it cannot', () => {
    expect(providerTarget('other', 'https://api.anthropic.com/v1')).toEqual({
      kind: 'anthropic',
      base_url: 'https://api.anthropic.com',
    });
    expect(providerTarget('other', 'http://gpu-box:11434')).toEqual({ kind: 'ollama', base_url: 'http://gpu-box:11434' });
    expect(providerTarget('other', 'https://generativelanguage.googleapis.com/v1beta')).toEqual({
      reason: expect.stringMatching(/generativelanguage\.googleapis\.com is not a protocol LLM Ops speaks/),
    });
    expect(providerTarget('other', '')).toEqual({ reason: expect.stringMatching(/no base URL/) });
  });
});

describe('legacy api_params', () => {
  it('keeps what maps to a parameter (max_tokens → max_output_tokens) and lists the rest', () => {
    expect(parametersOf({ max_tokens: 8192, temperature: '0.4', parameter_size: '8.0B' })).toEqual({
      parameters: { max_output_tokens: 8192, temperature: 0.4 },
      unmapped: ['parameter_size="8.0B"'],
    });
    expect(parametersOf(null)).toEqual({ parameters: {}, unmapped: [] });
  });
});

describe('legacy epochs', () => {
  const shape = (tables: Record<string, string[]>) => new Map(Object.entries(tables).map(([t, c]) => [t, new Set(c)]));
  it('reads the epoch from tables and columns, newest marker first', () => {
    expect(epochOf(shape({ llm_config: ['id'], llm_prompt: ['id'] }))).toBe('E0');
    expect(epochOf(shape({ llm_prompt_part: ['id'], llm_action_prompt_part: ['action_id'] }))).toBe('E1');
    expect(epochOf(shape({ llm_provider: ['id'], post_substage_action: ['id'] }))).toBe('E2');
    expect(epochOf(shape({ llm_provider: ['id'], workflow_step_prompt: ['id'] }))).toBe('E3');
    expect(epochOf(shape({ llm_provider: ['id'], llm_prompt: ['id', 'step_id'] }))).toBe('E4');
  });
});
