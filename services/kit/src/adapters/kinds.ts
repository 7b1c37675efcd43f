import type { ChatParameters, ProviderKind } from './types.ts';

/**
 * What each provider kind is and accepts: where it is by default, whether it needs a key, and which
 * normalized parameters its protocol has. The parameter checker (parameters.ts) reads it.
 */
export interface KindSpec {
  label: string;
  /** The base URL used when a provider names none. */
  defaultBaseUrl: string;
  /** Whether a key is required (for `openai`, only at api.openai.com: compatible local servers take none). */
  needsKey: (baseUrl: string) => boolean;
  /** Organization and project headers (OpenAI only). */
  hasOrganization: boolean;
  /** Parameters the protocol has, with their allowed ranges. */
  parameters: { [K in keyof ChatParameters]?: ParameterRule };
  /** The `response_format` types the protocol can express. */
  responseFormats: readonly ('text' | 'json_object' | 'json_schema')[];
  /** Most stop sequences the protocol takes. */
  maxStop: number;
  images: boolean;
  /** Most images one request may ask for (the protocol's own limit), when it makes images. */
  maxImages: number | null;
}

export interface ParameterRule {
  min?: number;
  max?: number;
  /** The values the protocol has, for a parameter that is one of a few words. */
  values?: readonly string[];
}

export const KINDS: Record<ProviderKind, KindSpec> = {
  openai: {
    label: 'OpenAI or OpenAI-compatible',
    defaultBaseUrl: 'https://api.openai.com/v1',
    needsKey: (baseUrl) => new URL(baseUrl).hostname === 'api.openai.com',
    hasOrganization: true,
    parameters: {
      temperature: { min: 0, max: 2 },
      top_p: { min: 0, max: 1 },
      max_output_tokens: { min: 1 },
      stop: {},
      seed: {},
      presence_penalty: { min: -2, max: 2 },
      frequency_penalty: { min: -2, max: 2 },
      response_format: {},
      reasoning_effort: { values: ['none', 'minimal', 'low', 'medium', 'high'] },
    },
    responseFormats: ['text', 'json_object', 'json_schema'],
    maxStop: 4,
    images: true,
    maxImages: 10,
  },
  anthropic: {
    label: 'Anthropic',
    defaultBaseUrl: 'https://api.anthropic.com',
    needsKey: () => true,
    hasOrganization: false,
    parameters: {
      temperature: { min: 0, max: 1 },
      top_p: { min: 0, max: 1 },
      top_k: { min: 1 },
      max_output_tokens: { min: 1 },
      stop: {},
      response_format: {},
    },
    responseFormats: ['text', 'json_schema'],
    maxStop: 16,
    images: false,
    maxImages: null,
  },
  ollama: {
    label: 'Ollama (native API)',
    defaultBaseUrl: 'http://127.0.0.1:11434',
    needsKey: () => false,
    hasOrganization: false,
    parameters: {
      temperature: { min: 0, max: 2 },
      top_p: { min: 0, max: 1 },
      top_k: { min: 1 },
      max_output_tokens: { min: 1 },
      stop: {},
      seed: {},
      presence_penalty: { min: -2, max: 2 },
      frequency_penalty: { min: -2, max: 2 },
      response_format: {},
    },
    responseFormats: ['text', 'json_object', 'json_schema'],
    maxStop: 16,
    images: false,
    maxImages: null,
  },
};
