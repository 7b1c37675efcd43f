import { LIVE_EVENT_NAMES, queryOf, unionOf, wants, type LiveEvent, type LiveFilter } from './filter.ts';

/**
 * `idle`: nobody subscribed, no stream. `connecting`: opening for new subscribers. `live`: the gateway
 * said `ready`. `reconnecting`: the stream broke and is being reopened (the only state worth showing).
 */
export type LiveStatus = 'idle' | 'connecting' | 'live' | 'reconnecting';

export type LiveHandler = (event: LiveEvent) => void;

export interface LiveStreamOptions {
  /** The event stream through the dashboard's own origin (the /api proxy). */
  url?: string;
  /** The EventSource class (a test's stand-in). */
  EventSource?: typeof EventSource;
  onStatus?: (status: LiveStatus) => void;
  /** Reopening a stream the browser gave up on: first delay, doubling up to the last (with jitter). */
  retryMs?: { first: number; max: number };
  /** Subscription changes within this long make one reopen (a navigation unsubscribes, then subscribes). */
  settleMs?: number;
}

interface Subscription {
  filter: LiveFilter;
  handler: LiveHandler;
}

/**
 * One `EventSource` for everything a tab wants to hear (DESIGN D11, ADR 0015): its filter is the union
 * of the subscribers' filters, each message goes to the subscribers whose own filter wants it, and a
 * changed union reopens the stream with `last_event_id`, so nothing is missed or repeated. A break
 * recovers by itself: the browser reconnects with `Last-Event-ID`, and when it gives up (an error
 * answer, such as the proxy's 502 while the gateway restarts) the stream is reopened with backoff.
 */
export class LiveStream {
  readonly #url: string;
  readonly #EventSource: typeof EventSource;
  readonly #onStatus: (status: LiveStatus) => void;
  readonly #retryMs: { first: number; max: number };
  readonly #settleMs: number;
  readonly #subscriptions = new Set<Subscription>();
  #source: EventSource | undefined;
  /** The query the open stream was opened with, less its resume point. */
  #query: string | undefined;
  #lastEventId: string | undefined;
  #status: LiveStatus = 'idle';
  #failures = 0;
  #settle: ReturnType<typeof setTimeout> | undefined;
  #retry: ReturnType<typeof setTimeout> | undefined;

  constructor({
    url = '/api/v1/events',
    EventSource: Source = globalThis.EventSource,
    onStatus,
    retryMs,
    settleMs = 20,
  }: LiveStreamOptions = {}) {
    this.#url = url;
    this.#EventSource = Source;
    this.#onStatus = onStatus ?? (() => {});
    // The first reopen comes quickly (a restarted gateway is usually back within seconds, and the browser
    // has already waited its own 2 s `retry:`), and the wait never grows past 10 s, so live updates come back
    // soon after the gateway does; one request per tab per 10 s while it is away costs the server nothing.
    this.#retryMs = retryMs ?? { first: 250, max: 10_000 };
    this.#settleMs = settleMs;
  }

  get status(): LiveStatus {
    return this.#status;
  }

  /** The position of the last durable event received: where a reopened stream resumes. */
  get lastEventId(): string | undefined {
    return this.#lastEventId;
  }

  /** The filter the stream is open with (its query string), for tests and diagnostics. */
  get query(): string | undefined {
    return this.#query;
  }

  /** Calls `handler` with every message `filter` wants (and `ready`, `resync`) until the returned function is called. */
  subscribe(filter: LiveFilter, handler: LiveHandler): () => void {
    const subscription = { filter, handler };
    this.#subscriptions.add(subscription);
    this.#changed();
    return () => {
      if (this.#subscriptions.delete(subscription)) this.#changed();
    };
  }

  /** Closes the stream and forgets every subscriber. */
  close(): void {
    this.#subscriptions.clear();
    clearTimeout(this.#settle);
    this.#settle = undefined;
    this.#stop();
    this.#setStatus('idle');
  }

  #changed(): void {
    this.#settle ??= setTimeout(() => {
      this.#settle = undefined;
      this.#reconcile();
    }, this.#settleMs);
  }

  /** Opens, reopens or closes the stream for the subscribers there are now. */
  #reconcile(): void {
    if (this.#subscriptions.size === 0) {
      this.#stop();
      this.#setStatus('idle');
      return;
    }
    const query = queryOf(unionOf([...this.#subscriptions].map((subscription) => subscription.filter)));
    if (query === this.#query && (this.#source || this.#retry)) return;
    this.#open(query);
  }

  #open(query: string): void {
    const retrying = this.#retry !== undefined || this.#status === 'reconnecting';
    this.#stop();
    this.#query = query;
    const resume = this.#lastEventId ? `&last_event_id=${encodeURIComponent(this.#lastEventId)}` : '';
    const source = new this.#EventSource(`${this.#url}?${query}${resume}`);
    this.#source = source;
    this.#setStatus(retrying ? 'reconnecting' : this.#status === 'live' ? 'live' : 'connecting');
    source.onerror = () => {
      if (source !== this.#source) return;
      this.#setStatus('reconnecting');
      // CONNECTING: the browser reconnects by itself, with Last-Event-ID. CLOSED: it gave up; so do we not.
      if (source.readyState === this.#EventSource.CLOSED) this.#retryLater(query);
    };
    for (const name of LIVE_EVENT_NAMES) {
      source.addEventListener(name, (event) => this.#receive(source, name, event as MessageEvent<string>));
    }
  }

  #retryLater(query: string): void {
    this.#stop();
    this.#query = query;
    const delay = Math.min(this.#retryMs.max, this.#retryMs.first * 2 ** this.#failures);
    this.#failures += 1;
    this.#retry = setTimeout(
      () => {
        this.#retry = undefined;
        this.#open(query);
      },
      delay * (0.5 + Math.random() / 2),
    );
  }

  #stop(): void {
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#source?.close();
    this.#source = undefined;
    this.#query = undefined;
  }

  #receive(source: EventSource, name: (typeof LIVE_EVENT_NAMES)[number], event: MessageEvent<string>): void {
    if (source !== this.#source) return;
    let data: unknown;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    // A delta has no id of its own (the browser repeats the last one it saw).
    const id = name === 'delta' ? undefined : event.lastEventId || undefined;
    if (id) this.#lastEventId = id;
    const message = { event: name, data, ...(id ? { id } : {}) } as LiveEvent;
    if (message.event === 'ready') {
      this.#failures = 0;
      this.#setStatus('live');
    }
    if (message.event === 'resync') this.#lastEventId = message.data.position;
    for (const subscription of [...this.#subscriptions]) {
      if (!this.#subscriptions.has(subscription) || !wants(subscription.filter, message)) continue;
      try {
        subscription.handler(message);
      } catch (error) {
        // One subscriber's fault must not keep the message from the others.
        console.error('a live-events subscriber failed', error);
      }
    }
  }

  #setStatus(status: LiveStatus): void {
    if (status === this.#status) return;
    this.#status = status;
    this.#onStatus(status);
  }
}
