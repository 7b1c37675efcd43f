import type { Redactor } from './redact.ts';
import type { WireRequest } from './types.ts';

/**
 * One normalized provider error for every adapter (ADR 0011), so the runner decides retries and
 * backoff from `kind`, `retryable` and `retry_after_ms` without knowing which SDK threw.
 */
export const PROVIDER_ERROR_KINDS = [
  'auth',
  'rate_limit',
  'overloaded',
  'timeout',
  'bad_request',
  'content_filter',
  'network',
  'server',
  'cancelled',
] as const;
export type ProviderErrorKind = (typeof PROVIDER_ERROR_KINDS)[number];

const RETRYABLE: Record<ProviderErrorKind, boolean> = {
  auth: false,
  rate_limit: true,
  overloaded: true,
  timeout: true,
  bad_request: false,
  content_filter: false,
  network: true,
  server: true,
  cancelled: false,
};

export interface ProviderErrorInfo {
  kind: ProviderErrorKind;
  message: string;
  /** The HTTP status the provider answered with, when it answered. */
  status?: number | null;
  /** What the provider said to wait before retrying (Retry-After / retry-after-ms), in milliseconds. */
  retry_after_ms?: number | null;
  /** The provider's own error type or code (`rate_limit_error`, `invalid_api_key`). */
  provider_code?: string | null;
}

export class ProviderError extends Error {
  override name = 'ProviderError';
  readonly kind: ProviderErrorKind;
  readonly retryable: boolean;
  readonly status: number | null;
  readonly retry_after_ms: number | null;
  readonly provider_code: string | null;
  /** The request the attempt sent before it failed (ADR 0010), when it got that far; set by the adapter. */
  wire: WireRequest | null = null;
  constructor(info: ProviderErrorInfo) {
    super(info.message);
    this.kind = info.kind;
    this.retryable = RETRYABLE[info.kind];
    this.status = info.status ?? null;
    this.retry_after_ms = info.retry_after_ms ?? null;
    this.provider_code = info.provider_code ?? null;
  }
  /** The same error with the key redacted from what the provider said (redact.ts). */
  redacted(redactor: Redactor): ProviderError {
    const copy = new ProviderError({
      kind: this.kind,
      message: redactor.text(this.message),
      status: this.status,
      retry_after_ms: this.retry_after_ms,
      provider_code: this.provider_code && redactor.text(this.provider_code),
    });
    copy.wire = redactor.json(this.wire);
    return copy;
  }
  toJSON() {
    return {
      kind: this.kind,
      retryable: this.retryable,
      message: this.message,
      status: this.status,
      retry_after_ms: this.retry_after_ms,
      provider_code: this.provider_code,
    };
  }
}

/** The kind an HTTP status means, before looking at the body. */
export function kindOfStatus(status: number): ProviderErrorKind {
  if (status === 401 || status === 403) return 'auth';
  if (status === 429) return 'rate_limit';
  if (status === 529) return 'overloaded';
  if (status === 408 || status === 504) return 'timeout';
  if (status === 503) return 'overloaded';
  if (status >= 500) return 'server';
  return 'bad_request';
}

type HeaderSource = Headers | Record<string, string | string[] | undefined> | null | undefined;

function header(headers: HeaderSource, name: string): string | undefined {
  if (!headers) return undefined;
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const value = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Retry-After in ms: `retry-after-ms`, else `Retry-After` as seconds or an HTTP date. */
export function retryAfterMs(headers: HeaderSource, now = Date.now()): number | null {
  const ms = header(headers, 'retry-after-ms');
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.round(Number(ms));
  const value = header(headers, 'retry-after')?.trim();
  if (!value) return null;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
