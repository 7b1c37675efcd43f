import pgListen from 'pg-listen';
import type { Logger } from '../logger.ts';

type Subscriber = ReturnType<typeof pgListen.default>;

/**
 * The one LISTEN connection of a process, shared by every consumer group, broadcast reader and
 * ephemeral stream. pg-listen reconnects (forever, with backoff) and re-LISTENs; after every
 * (re)connect `onConnected` handlers run so readers catch up from the table, since notifications sent
 * while the connection was down are gone.
 */
export class Listener {
  readonly #log: Logger;
  readonly #subscriber: Subscriber;
  readonly #channels = new Map<string, Set<(payload: string) => void>>();
  readonly #connected = new Set<() => void>();
  #listening = false;
  #started = false;
  #closing = false;

  constructor({
    url,
    applicationName,
    log,
    checkIntervalMs,
  }: {
    url: string;
    applicationName: string;
    log: Logger;
    checkIntervalMs: number;
  }) {
    this.#log = log;
    this.#subscriber = pgListen.default(
      { connectionString: url, application_name: applicationName },
      {
        paranoidChecking: checkIntervalMs,
        retryLimit: Number.POSITIVE_INFINITY,
        retryTimeout: 0, // never give up: a bus that stops listening must keep trying
        retryInterval: (attempt) => {
          // pg-listen keeps reconnecting after close(); throwing here ends its loop.
          if (this.#closing) throw new Error('the bus LISTEN connection is closed');
          return Math.min(5_000, 100 * 2 ** attempt);
        },
        parse: (text) => text, // payloads are parsed by the channel's own handler
        serialize: (value: unknown) => String(value),
      },
    );
    this.#subscriber.events.on('notification', ({ channel, payload }) => {
      for (const handler of this.#channels.get(channel) ?? []) handler(typeof payload === 'string' ? payload : '');
    });
    this.#subscriber.events.on('connected', () => {
      if (this.#closing) {
        void this.#subscriber.close().catch(() => undefined); // a reconnect that finished after close()
        return;
      }
      const wasListening = this.#listening;
      this.#listening = true;
      if (this.#started && !wasListening) this.#log.info('bus LISTEN connection is back; catching up from the outbox');
      for (const handler of this.#connected) handler();
    });
    this.#subscriber.events.on('reconnect', (attempt) => {
      if (this.#closing) throw new Error('the bus LISTEN connection is closed'); // ends pg-listen's reconnect loop
      if (this.#listening) this.#log.warn('bus LISTEN connection lost; reconnecting (sweeps keep consumers going meanwhile)');
      this.#listening = false;
      if (attempt > 1) this.#log.debug({ attempt }, 'bus LISTEN reconnect attempt');
    });
    this.#subscriber.events.on('error', (error) => {
      if (this.#closing) return;
      this.#log.error({ err: error }, 'bus LISTEN connection failed');
    });
  }

  /** True while the LISTEN connection is up (for /readyz). */
  get listening(): boolean {
    return this.#listening && !this.#closing;
  }

  /** Runs after every (re)connect, including the first. */
  onConnected(handler: () => void): () => void {
    this.#connected.add(handler);
    return () => this.#connected.delete(handler);
  }

  async start(): Promise<void> {
    await this.#subscriber.connect();
    this.#started = true;
    await Promise.all([...this.#channels.keys()].map((channel) => this.#listenTo(channel)));
  }

  /** Adds a handler for a channel (LISTENs on the first one); returns the removal. */
  async listen(channel: string, handler: (payload: string) => void): Promise<() => Promise<void>> {
    let handlers = this.#channels.get(channel);
    if (!handlers) {
      handlers = new Set();
      this.#channels.set(channel, handlers);
      if (this.#started) await this.#listenTo(channel);
    }
    handlers.add(handler);
    return async () => {
      const current = this.#channels.get(channel);
      if (!current?.delete(handler) || current.size > 0) return;
      this.#channels.delete(channel);
      await Promise.resolve(this.#subscriber.unlisten(channel)).catch(() => undefined);
    };
  }

  async #listenTo(channel: string): Promise<void> {
    // While reconnecting this query fails; pg-listen has recorded the channel and LISTENs on reconnect.
    await Promise.resolve(this.#subscriber.listenTo(channel)).catch((error: unknown) => {
      this.#log.warn({ err: error, channel }, 'LISTEN failed; it is repeated when the connection is back');
    });
  }

  async stop(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#listening = false;
    if (this.#started) await this.#subscriber.close().catch(() => undefined);
  }
}
