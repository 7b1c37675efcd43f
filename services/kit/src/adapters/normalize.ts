import type { Attempt } from './attempt.ts';
import { kindOfStatus, ProviderError, retryAfterMs, type ProviderErrorKind } from './errors.ts';

/** What the OpenAI and Anthropic SDKs' APIError carry (both are Stainless SDKs). */
interface SdkApiError {
  status?: number;
  headers?: Headers;
  error?: unknown;
  message: string;
  name: string;
}

function providerCode(body: unknown): { type?: string; code?: string; message?: string } {
  if (typeof body !== 'object' || body === null) return {};
  const record = body as Record<string, unknown>;
  // OpenAI: { error: { type, code, message } } is unwrapped by the SDK to { type, code, message };
  // Anthropic: { type: 'error', error: { type, message } }.
  const inner = typeof record.error === 'object' && record.error !== null ? (record.error as Record<string, unknown>) : record;
  return {
    type: typeof inner.type === 'string' ? inner.type : undefined,
    code: typeof inner.code === 'string' ? inner.code : undefined,
    message: typeof inner.message === 'string' ? inner.message : undefined,
  };
}

/**
 * Turns whatever an SDK call threw into a ProviderError. The attempt's own timers and the caller's
 * cancellation win over what the SDK made of the abort. The key is redacted by the adapter's wrapper
 * (redacting.ts), from this and everything else an adapter gives back.
 */
export function normalizeError(error: unknown, attempt: Attempt): ProviderError {
  const normalized = toProviderError(error, attempt);
  normalized.wire ??= attempt.wire ?? null;
  return normalized;
}

function toProviderError(error: unknown, attempt: Attempt): ProviderError {
  // An aborted stream may end quietly (openai 7 does) and then look cut: the abort's reason wins.
  const aborted = attempt.abortError();
  if (aborted) return aborted;
  if (error instanceof ProviderError) return error;
  const sdk = error as SdkApiError;
  if (typeof sdk?.status === 'number') {
    const { type, code, message } = providerCode(sdk.error);
    let kind: ProviderErrorKind = kindOfStatus(sdk.status);
    if (type === 'overloaded_error') kind = 'overloaded';
    if (code === 'content_filter' || code === 'content_policy_violation' || type === 'content_filter') kind = 'content_filter';
    return new ProviderError({
      kind,
      status: sdk.status,
      message: message ?? sdk.message,
      retry_after_ms: retryAfterMs(sdk.headers),
      provider_code: code ?? type ?? null,
    });
  }
  const name = sdk?.name ?? '';
  if (name === 'APIConnectionTimeoutError')
    return new ProviderError({ kind: 'timeout', message: 'the request to the provider timed out' });
  if (name === 'APIUserAbortError' || name === 'AbortError')
    return new ProviderError({ kind: 'cancelled', message: 'the attempt was cancelled' });
  const cause = (error as { cause?: { message?: string; code?: string } })?.cause;
  const detail = [sdk?.message, cause?.code ?? cause?.message].filter(Boolean).join(': ');
  return new ProviderError({
    kind: 'network',
    message: `could not reach the provider or the connection broke (${detail || 'no detail'})`,
  });
}

/** A stream that ended without the provider's end marker: the connection broke half-way. */
export function cutStream(what: string): ProviderError {
  return new ProviderError({ kind: 'network', message: `the provider's stream ended before ${what}` });
}
