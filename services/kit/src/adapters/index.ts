import { anthropicAdapter } from './anthropic.ts';
import { ollamaAdapter } from './ollama.ts';
import { openaiAdapter } from './openai.ts';
import { redacting } from './redacting.ts';
import type { ProviderAdapter, ProviderKind } from './types.ts';

export * from './types.ts';
export { ProviderError, PROVIDER_ERROR_KINDS, retryAfterMs, type ProviderErrorKind } from './errors.ts';
export { KINDS, type KindSpec } from './kinds.ts';
export {
  checkModelParameters,
  DEFAULT_RETRY_POLICY,
  samplingOf,
  TIMEOUT_PARAMETERS,
  type CheckedModel,
  type RetryPolicy,
} from './parameters.ts';

/** Every adapter redacts the connection's key from all it returns and throws (redacting.ts). */
const ADAPTERS: Record<ProviderKind, ProviderAdapter> = {
  openai: redacting(openaiAdapter),
  anthropic: redacting(anthropicAdapter),
  ollama: redacting(ollamaAdapter),
};

/** The adapter of a provider kind (one per wire protocol; see docs/providers.md to add one). */
export function adapterFor(kind: ProviderKind): ProviderAdapter {
  return ADAPTERS[kind];
}
