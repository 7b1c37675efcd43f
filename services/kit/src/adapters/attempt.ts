import { AsyncLocalStorage } from 'node:async_hooks';
import { ProviderError } from './errors.ts';
import type { AttemptOptions, WireRequest } from './types.ts';

type Fetch = typeof fetch;

/** The attempt whose work is running (Attempt.run): a shared SDK client's requests go through its fetch. */
const running = new AsyncLocalStorage<Attempt>();

/**
 * One attempt's control: its own AbortController (linked to the caller's signal), the first-byte and
 * idle-stream timers, the clock for time to first token, and a fetch that records the wire request the
 * SDK sends (ADR 0010) without its auth headers.
 */
export class Attempt {
  readonly controller = new AbortController();
  readonly started = performance.now();
  firstTokenAt: number | null = null;
  wire: WireRequest | undefined;
  #reason: 'cancelled' | 'first_byte' | 'idle' | undefined;
  #timer: NodeJS.Timeout | undefined;
  readonly #options: AttemptOptions;
  readonly #unlink: () => void;

  constructor(options: AttemptOptions = {}) {
    this.#options = options;
    const outer = options.signal;
    const onAbort = () => this.#abort('cancelled');
    if (outer?.aborted) onAbort();
    outer?.addEventListener('abort', onAbort, { once: true });
    this.#unlink = () => outer?.removeEventListener('abort', onAbort);
    if (options.firstByteTimeoutMs) this.#arm(options.firstByteTimeoutMs, 'first_byte');
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The response headers arrived: from now on the idle timer guards the stream. */
  receivedFirstByte(): void {
    if (this.#reason) return;
    this.#clear();
    if (this.#options.idleTimeoutMs) this.#arm(this.#options.idleTimeoutMs, 'idle');
  }

  /** More data arrived: the idle timer starts again. */
  receivedData(): void {
    if (this.#reason || !this.#options.idleTimeoutMs) return;
    this.#clear();
    this.#arm(this.#options.idleTimeoutMs, 'idle');
  }

  /** A text delta: the first one sets time to first token. */
  delta(text: string): void {
    this.receivedData();
    if (text === '') return;
    this.firstTokenAt ??= performance.now();
    this.#options.onDelta?.(text);
  }

  elapsed(): number {
    return Math.round(performance.now() - this.started);
  }

  timeToFirstToken(): number | null {
    return this.firstTokenAt === null ? null : Math.round(this.firstTokenAt - this.started);
  }

  /** When the attempt was ended by a timer or the caller, the error that says so; else undefined. */
  abortError(): ProviderError | undefined {
    if (this.#reason === 'cancelled') return new ProviderError({ kind: 'cancelled', message: 'the attempt was cancelled' });
    if (this.#reason === 'first_byte')
      return new ProviderError({
        kind: 'timeout',
        message: `no response from the provider within ${this.#options.firstByteTimeoutMs} ms`,
      });
    if (this.#reason === 'idle')
      return new ProviderError({
        kind: 'timeout',
        message: `the provider's stream stalled for more than ${this.#options.idleTimeoutMs} ms`,
      });
    return undefined;
  }

  finish(): void {
    this.#clear();
    this.#unlink();
  }

  /**
   * The fetch of an SDK client shared by attempts (one per connection: building one per attempt was
   * 3 % of the runner's CPU): each request goes through the fetch of the attempt it runs in.
   */
  static readonly fetch: Fetch = (input, init) => {
    const attempt = running.getStore();
    if (!attempt) return Promise.reject(new Error('an SDK client built with Attempt.fetch made a request outside attempt.run()'));
    return attempt.#send(fetch, input, init);
  };

  /**
   * Runs an adapter's work as this attempt's — the requests of a client built with `Attempt.fetch` are its
   * own — and finishes the attempt when the work ends, however it ends.
   */
  run<T>(work: () => Promise<T>): Promise<T> {
    return running.run(this, async () => {
      try {
        return await work();
      } finally {
        this.finish();
      }
    });
  }

  /** A fetch for the SDK: one signal per attempt, the wire request recorded, first byte noticed. */
  fetch(base: Fetch = fetch): Fetch {
    return (input, init) => this.#send(base, input, init);
  }

  async #send(base: Fetch, ...[input, init]: Parameters<Fetch>): Promise<Response> {
    const request = input instanceof Request ? input : undefined;
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
    const headers = new Headers(request?.headers);
    for (const [name, value] of new Headers(init?.headers)) headers.set(name, value);
    this.wire = { method, url, headers: recordedHeaders(headers), bodyText: bodyText(init?.body) };
    const response = await base(input, { ...init, signal: this.signal });
    this.receivedFirstByte();
    return response;
  }

  /** The request this attempt sent: an answer without one is an adapter bug, never a record without it. */
  sent(): WireRequest {
    if (!this.wire) throw new Error('the adapter returned an answer without having sent a request through attempt.fetch()');
    return this.wire;
  }

  #abort(reason: 'cancelled' | 'first_byte' | 'idle'): void {
    if (this.#reason) return;
    this.#reason = reason;
    this.#clear();
    this.controller.abort(this.abortError());
  }

  #arm(ms: number, reason: 'first_byte' | 'idle'): void {
    this.#timer = setTimeout(() => this.#abort(reason), ms);
  }

  #clear(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** Headers that carry the key: never recorded (the key is also redacted from everything else, redacting.ts). */
const AUTH_HEADERS = new Set(['authorization', 'proxy-authorization', 'x-api-key', 'api-key']);

function recordedHeaders(headers: Headers): Record<string, string> {
  const recorded: Record<string, string> = {};
  for (const [name, value] of headers) if (!AUTH_HEADERS.has(name)) recorded[name] = value;
  return recorded;
}

/** The body as the text that went on the wire; the SDKs send JSON as a string. */
function bodyText(body: RequestInit['body']): string {
  if (body === undefined || body === null) return '';
  if (typeof body === 'string') return body;
  if (body instanceof URLSearchParams) return body.toString();
  if (body instanceof ArrayBuffer) return new TextDecoder().decode(body);
  if (ArrayBuffer.isView(body)) return new TextDecoder().decode(body);
  // Multipart and streamed bodies (no adapter sends one yet) are not text; say what they were.
  return `[${body.constructor.name} body]`;
}
