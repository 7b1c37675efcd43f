import type { Pool } from '../db.ts';
import type { Logger } from '../logger.ts';
import type { Listener } from './listener.ts';

const CHANNEL_NAME = /^[a-z0-9][a-z0-9_.:-]{0,49}$/;
const CHANNEL_PREFIX = 'llmops_eph:';

/** NOTIFY payloads must stay under 8,000 bytes (the server's default limit). */
export const NOTIFY_PAYLOAD_LIMIT = 8_000;

export class EphemeralItemTooLargeError extends Error {
  override name = 'EphemeralItemTooLargeError';
}

/** Splits serialized items into payloads `{"n":<seq>,"items":[...]}` of at most `maxBytes` bytes each, in order. */
export function chunkItems(serialized: readonly string[], maxBytes: number, nextSequence: () => number): string[] {
  const chunks: string[] = [];
  let batch: string[] = [];
  let batchBytes = 0;
  let sequence = nextSequence();
  const overhead = () => Buffer.byteLength(`{"n":${sequence},"items":[]}`);
  const close = () => {
    if (batch.length === 0) return;
    chunks.push(`{"n":${sequence},"items":[${batch.join(',')}]}`);
    batch = [];
    batchBytes = 0;
    sequence = nextSequence();
  };
  for (const item of serialized) {
    const itemBytes = Buffer.byteLength(item);
    if (batch.length > 0 && overhead() + batchBytes + 1 + itemBytes > maxBytes) close();
    const size = itemBytes + (batch.length > 0 ? 1 : 0);
    if (overhead() + size > maxBytes)
      throw new EphemeralItemTooLargeError(`an ephemeral item of ${itemBytes} bytes does not fit one NOTIFY`);
    batch.push(item);
    batchBytes += size;
  }
  close();
  return chunks;
}

/**
 * Ephemeral streams (token deltas and the like): never stored, lost when nobody listens. Each process
 * collects items per channel and sends them once per tick, all channels in one statement, each channel's
 * items in as few NOTIFY payloads as fit under the limit. Subscribers share the bus's LISTEN connection.
 */
export class EphemeralStreams {
  readonly #pool: Pool;
  readonly #listener: Listener;
  readonly #log: Logger;
  readonly #tickMs: number;
  readonly #maxBytes: number;
  #pending = new Map<string, string[]>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #sequence = 0;
  #stopped = false;

  constructor({
    pool,
    listener,
    log,
    tickMs,
    maxBytes,
  }: {
    pool: Pool;
    listener: Listener;
    log: Logger;
    tickMs: number;
    maxBytes: number;
  }) {
    if (maxBytes >= NOTIFY_PAYLOAD_LIMIT) throw new Error(`ephemeral maxBytes must be below ${NOTIFY_PAYLOAD_LIMIT}`);
    this.#pool = pool;
    this.#listener = listener;
    this.#log = log;
    this.#tickMs = tickMs;
    this.#maxBytes = maxBytes;
  }

  /** Queues an item (any JSON value) for the channel's next tick. */
  publish(channel: string, item: unknown): void {
    if (this.#stopped) throw new Error('the bus is stopped: ephemeral items can no longer be sent');
    const name = channelName(channel);
    const serialized = JSON.stringify(item);
    if (serialized === undefined) throw new Error('an ephemeral item must be a JSON value');
    if (Buffer.byteLength(serialized) + 30 > this.#maxBytes) {
      throw new EphemeralItemTooLargeError(
        `an ephemeral item of ${Buffer.byteLength(serialized)} bytes does not fit one NOTIFY (${this.#maxBytes} bytes); split it`,
      );
    }
    const queue = this.#pending.get(name);
    if (queue) queue.push(serialized);
    else this.#pending.set(name, [serialized]);
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.#tickMs);
  }

  /** Receives the items of a channel, in the order each process sent them; returns the unsubscribe. */
  async subscribe<T = unknown>(channel: string, listener: (items: T[]) => void): Promise<() => Promise<void>> {
    return this.#listener.listen(channelName(channel), (payload) => {
      let items: unknown;
      try {
        items = (JSON.parse(payload) as { items?: unknown }).items;
      } catch (error) {
        this.#log.warn({ err: error, channel }, 'dropped an ephemeral payload that is not JSON');
        return;
      }
      if (!Array.isArray(items)) {
        this.#log.warn({ channel }, 'dropped an ephemeral payload without items');
        return;
      }
      if (items.length > 0) listener(items as T[]);
    });
  }

  /** Sends everything queued now (the tick calls it; stop() calls it last). */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#send());
    return this.#flushing;
  }

  async #send(): Promise<void> {
    if (this.#pending.size === 0) return;
    const pending = this.#pending;
    this.#pending = new Map();
    const channels: string[] = [];
    const payloads: string[] = [];
    for (const [channel, items] of pending) {
      for (const chunk of chunkItems(items, this.#maxBytes, () => this.#sequence++)) {
        channels.push(channel);
        payloads.push(chunk);
      }
    }
    try {
      // One statement, one transaction: notifications go out in this order at its commit.
      await this.#pool.query(`SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS t(c, p)`, [channels, payloads]);
    } catch (error) {
      this.#log.warn({ err: error, notifications: payloads.length }, 'ephemeral items were dropped: NOTIFY failed');
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }
}

function channelName(channel: string): string {
  if (!CHANNEL_NAME.test(channel)) {
    throw new Error(`ephemeral channel ${JSON.stringify(channel)} must be 1-50 characters of a-z, 0-9, _ . : -`);
  }
  return CHANNEL_PREFIX + channel;
}
