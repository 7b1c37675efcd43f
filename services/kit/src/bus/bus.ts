import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Pool } from '../db.ts';
import type { Logger } from '../logger.ts';
import { Bell } from './bell.ts';
import { BroadcastReader, PositionAheadError, PositionExpiredError, positionStatus, type BroadcastOptions } from './broadcast.ts';
import { resolveBusConfig, type BusConfig } from './config.ts';
import { ConsumerGroup, type ConsumeOptions, type ConsumerStatus } from './consumer.ts';
import type { EventContract } from './contract.ts';
import { EphemeralStreams } from './ephemeral.ts';
import { DOORBELL_CHANNEL, parseRing, ringerOf } from './doorbell.ts';
import { Listener } from './listener.ts';
import * as outbox from './outbox.ts';
import { parsePosition } from './position.ts';
import { runRetention } from './retention.ts';
import { WaiterRow } from './waiters.ts';

export interface BusOptions {
  /** The service's pool (its own role); the bus needs a few connections of it. */
  pool: Pool;
  /** Where the LISTEN connection goes: the pool's database and role, directly (DATABASE_DIRECT_URL) when the pool is behind a pooler. */
  listenUrl: string;
  log: Logger;
  /** The service name, for logs and the LISTEN connection's application_name. */
  service: string;
  config?: Partial<BusConfig>;
}

export interface BusStatus {
  started: boolean;
  /** The LISTEN connection is up. Consumers still work without it (sweeps), only slower. */
  listening: boolean;
  consumers: ConsumerStatus[];
  broadcastReaders: number;
}

export interface Consumer {
  readonly group: string;
  stop(): Promise<void>;
  status(): ConsumerStatus;
}

export interface Bus {
  /** Starts an instance of a durable consumer group (now if the bus runs, else on start()). */
  consume<C extends EventContract>(options: ConsumeOptions<C>): Consumer;
  /**
   * Starts a broadcast reader from 'now' or a position string. Throws PositionExpiredError when the
   * position is older than retention and PositionAheadError when it is past the head (a restored
   * database): an SSE client must resync; InvalidPositionError when malformed.
   */
  broadcast<C extends EventContract = never>(options: BroadcastOptions<C>): Promise<BroadcastReader<C>>;
  readonly ephemeral: EphemeralStreams;
  start(): Promise<void>;
  /** Stops taking work, finishes in-flight batches, releases leases, flushes ephemeral items, closes LISTEN. */
  stop(): Promise<void>;
  status(): BusStatus;
}

/** The event bus of one process: one LISTEN connection shared by everything that reads. */
export function createBus({ pool, listenUrl, log: parentLog, service, config: overrides }: BusOptions): Bus {
  const config = resolveBusConfig(overrides);
  const log = parentLog.child({ component: 'bus' });
  const owner = `${service}@${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const doorbell = new Bell();
  const ringer = ringerOf(pool);
  const waiter = new WaiterRow(pool, owner, config.waiterTtlMs, ringer.origin);
  const listener = new Listener({
    url: listenUrl,
    applicationName: config.listenApplicationName ?? `llmops-${service}-bus`,
    log,
    checkIntervalMs: config.listenCheckMs,
  });
  const ephemeral = new EphemeralStreams({
    pool,
    listener,
    log,
    tickMs: config.ephemeralTickMs,
    maxBytes: config.ephemeralMaxBytes,
  });
  const groups = new Set<ConsumerGroup<EventContract>>();
  const readers = new Set<BroadcastReader<EventContract>>();
  let state: 'new' | 'started' | 'stopping' | 'stopped' = 'new';
  let retentionTimer: NodeJS.Timeout | undefined;
  let retentionRun: Promise<unknown> = Promise.resolve();

  listener.onConnected(() => doorbell.ring()); // after a reconnect every reader catches up from the table
  // This process's commits on its pool are heard in-process, right after each commit (doorbell.ts,
  // Ringer), while a reader here waits for the doorbell (as a NOTIFY was sent only then); their NOTIFY,
  // if another process's wait sent one, is ignored when it comes back.
  const unhear = ringer.hear((topics) => {
    if (waiter.live) doorbell.ring(topics, true);
  });
  void listener.listen(DOORBELL_CHANNEL, (payload) => {
    const ring = parseRing(payload);
    if (ring.origin !== ringer.origin) doorbell.ring(ring.topics);
  });

  const deps = { pool, doorbell, waiter, log, config };

  const bus: Bus = {
    ephemeral,

    consume(options) {
      if (state === 'stopping' || state === 'stopped') throw new Error('the bus is stopped');
      const group = new ConsumerGroup({ ...deps, owner }, options) as unknown as ConsumerGroup<EventContract>;
      const release = waiter.read(options.events.map((contract) => contract.topic));
      groups.add(group);
      if (state === 'started') group.start();
      return {
        group: group.group,
        status: () => group.status(),
        stop: async () => {
          groups.delete(group);
          await group.stop();
          release();
        },
      };
    },

    async broadcast(options) {
      if (state !== 'started') throw new Error('start the bus before opening broadcast readers');
      const from = options.from ?? 'now';
      const now = from === 'now' ? await outbox.now(pool) : undefined;
      const start = now ? now.head : parsePosition(from);
      const status = now ? 'ok' : await positionStatus(pool, start);
      if (status === 'expired') throw new PositionExpiredError(from);
      if (status === 'ahead') throw new PositionAheadError(from);
      const reader = new BroadcastReader(deps, options, start, now);
      const release = waiter.read((options.events ?? []).map((contract) => contract.topic));
      const untyped = reader as unknown as BroadcastReader<EventContract>;
      readers.add(untyped);
      reader.start();
      void reader.done
        .catch(() => undefined)
        .finally(() => {
          readers.delete(untyped);
          release();
        });
      return reader;
    },

    async start() {
      if (state !== 'new') return;
      await listener.start();
      state = 'started';
      for (const group of groups) group.start();
      if (config.retention) {
        const { maxAgeMs, intervalMs, batchSize } = config.retention;
        const tick = () => {
          retentionRun = runRetention(pool, { maxAgeMs, batchSize })
            .then((result) => {
              if (result.deleted > 0) log.info({ deleted: result.deleted }, 'retention deleted processed outbox rows');
            })
            .catch((error: unknown) => log.warn({ err: error }, 'retention failed; it runs again next interval'));
        };
        retentionTimer = setInterval(tick, intervalMs);
        retentionTimer.unref();
      }
      log.info({ listening: listener.listening }, 'bus started');
    },

    async stop() {
      if (state === 'stopping' || state === 'stopped') return;
      const wasStarted = state === 'started';
      state = 'stopping';
      if (retentionTimer) clearInterval(retentionTimer);
      await Promise.all([...groups].map((group) => group.stop()));
      await Promise.all([...readers].map((reader) => reader.stop()));
      await retentionRun;
      await ephemeral.stop();
      if (wasStarted)
        await waiter.remove().catch((error: unknown) => log.warn({ err: error }, 'could not remove the waiter row; it expires'));
      await listener.stop();
      unhear();
      state = 'stopped';
      log.info('bus stopped');
    },

    status() {
      return {
        started: state === 'started',
        listening: listener.listening,
        consumers: [...groups].map((group) => group.status()),
        broadcastReaders: readers.size,
      };
    },
  };
  return bus;
}
