import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
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
  if (isInStreamError(error)) {
    // An error event inside a 200 stream (OpenAI `data: {"error": ...}`, Anthropic `event: error`): the
    // SDK throws an APIError without a status; the provider's own type says what went wrong.
    const { type, code, message } = providerCode(sdk.error);
    return new ProviderError({
      kind: kindOfCode(code ?? type),
      message: message ?? sdk.message,
      provider_code: code ?? type ?? null,
    });
  }
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

function isInStreamError(error: unknown): error is SdkApiError {
  return (
    (error instanceof OpenAI.APIError || error instanceof Anthropic.APIError) &&
    error.status === undefined &&
    typeof error.error === 'object' &&
    error.error !== null
  );
}

/**
 * The kind a provider's own error type or code means, when no HTTP status says it (an error inside a
 * stream, an Ollama error line). Anything unknown is the provider's side failing: `server`.
 */
export function kindOfCode(code: string | undefined): ProviderErrorKind {
  switch (code) {
    case 'overloaded_error':
    case 'overloaded':
    case 'server_overloaded':
    case 'service_unavailable':
      return 'overloaded';
    case 'rate_limit_error':
    case 'rate_limit_exceeded':
    case 'requests':
    case 'tokens':
      return 'rate_limit';
    case 'authentication_error':
    case 'permission_error':
    case 'invalid_api_key':
      return 'auth';
    case 'invalid_request_error':
    case 'not_found_error':
    case 'request_too_large':
      return 'bad_request';
    case 'content_filter':
    case 'content_policy_violation':
      return 'content_filter';
    case 'timeout_error':
      return 'timeout';
    default:
      return 'server';
  }
}

/** A stream that ended without the provider's end marker: the connection broke half-way. */
export function cutStream(what: string): ProviderError {
  return new ProviderError({ kind: 'network', message: `the provider's stream ended before ${what}` });
}

/** The object without its undefined (and null) properties: a body literal checked whole, then sent with only what is set. */
export function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null)) as T;
}
