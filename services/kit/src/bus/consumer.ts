import type { Pool } from '../db.ts';
import type { Logger } from '../logger.ts';
import { Bell, concerns, delay } from './bell.ts';
import type { BusConfig } from './config.ts';
import { EventPayloadError, type EventContract, type EventOf } from './contract.ts';
import * as cursors from './cursors.ts';
import { pollLoop, type StepResult } from './loop.ts';
import type * as outbox from './outbox.ts';
import * as parked from './parked.ts';
import { formatPosition, laterPosition } from './position.ts';
import type { WaiterRow } from './waiters.ts';

export interface HandlerContext {
  /** 1 on first delivery, then 2, 3 ... on retries. */
  attempt: number;
  /** Aborted when this instance lost the lease (another instance will redo the work). */
  signal: AbortSignal;
  log: Logger;
}

export type EventHandler<C extends EventContract> = (event: EventOf<C>, context: HandlerContext) => unknown;
export type BatchHandler<C extends EventContract> = (events: EventOf<C>[], context: HandlerContext) => unknown;

interface ConsumeCommon<C extends EventContract> {
  /** Durable name of the group: `<service>.<purpose>`, e.g. `runner.provider-cache`. Instances of one group share the work. */
  group: string;
  /** The contracts of the topics the group reads. */
  events: readonly C[];
  /** Where a group that has never run starts: every retained event (default) or from the commit-safe "now" (see headPosition). */
  startFrom?: 'beginning' | 'now';
  batchSize?: number;
  concurrency?: number;
  maxAttempts?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  leaseMs?: number;
}

/**
 * A per-event `handler`, or a `batchHandler` for throughput (called with up to batchSize events of one
 * partition in order; when it throws, the batch is re-run one event at a time to find the failing ones).
 */
export type ConsumeOptions<C extends EventContract> = ConsumeCommon<C> &
  ({ handler: EventHandler<C>; batchHandler?: undefined } | { batchHandler: BatchHandler<C>; handler?: undefined });

export interface ConsumerStatus {
  group: string;
  running: boolean;
  batches: number;
  retries: number;
}

interface GroupDeps {
  pool: Pool;
  doorbell: Bell;
  waiter: WaiterRow;
  log: Logger;
  config: BusConfig;
  /** This process's id: prefix of every lease token. */
  owner: string;
}

type Decoded<C extends EventContract> = { event: EventOf<C>; error?: undefined } | { event?: undefined; error: string };

const GROUP_NAME = /^[a-z][a-z0-9_.-]*$/;

/** Events per batch a consumer group under sustained load gathers for before it leases again (see #gatherMs). */
const GATHER_TARGET = 32;

/**
 * How recent an exhaustive read must be for the end of its batches to need no read of its own (see #step):
 * below the waiter row's settling time (1 s, waiters.ts), so that a row found settled now was live
 * since before the read, and every commit after the read rang.
 */
const QUIET_FOR_MS = 500;

/**
 * One instance of a durable consumer group: leases partitions that have work, reads a batch of each,
 * runs the handler, parks what failed, and moves the cursor. A second loop retries parked events.
 */
export class ConsumerGroup<C extends EventContract> {
  readonly group: string;
  readonly #deps: GroupDeps;
  readonly #log: Logger;
  readonly #topics: string[];
  readonly #byTopic: Map<string, C>;
  readonly #options: ConsumeOptions<C>;
  readonly #batchSize: number;
  readonly #concurrency: number;
  readonly #maxAttempts: number;
  readonly #leaseMs: number;
  readonly #backoff: cursors.Backoff;
  readonly #bell = new Bell();
  readonly #retryBell = new Bell();
  readonly #stop = new AbortController();
  readonly #lanes = new Set<Promise<void>>();
  readonly #retries = new Set<Promise<void>>();
  #loops: Promise<void> | undefined;
  #sequence = 0;
  /** Events per batch read, a moving mean: how well events gather under sustained load. */
  #meanBatch: number = GATHER_TARGET;
  /** Doorbell rings for the group's topics so far (a reconnect's ring included). */
  #rings = 0;
  /**
   * The last read found everything there was (see #step): when it was sent, and the rings counted then.
   * Undefined when the next step must read.
   */
  #quiet: { at: number; rings: number } | undefined;
  /** The group may have parked events that can run: set by a park and by a read that saw some, cleared by the retry loop. */
  #mayHaveParked = true;
  /** When the retry loop last looked for due events (performance.now()). */
  #retryLookedAt = Number.NEGATIVE_INFINITY;

  constructor(deps: GroupDeps, options: ConsumeOptions<C>) {
    if (!GROUP_NAME.test(options.group) || options.group.length > 100) {
      throw new Error(`consumer group name ${JSON.stringify(options.group)} must be lower case: letters, digits, _ . -`);
    }
    if (options.events.length === 0) throw new Error(`consumer group ${options.group} must read at least one event`);
    if (!options.handler === !options.batchHandler)
      throw new Error(`consumer group ${options.group} needs exactly one of handler, batchHandler`);
    this.group = options.group;
    this.#deps = deps;
    this.#options = options;
    this.#log = deps.log.child({ group: options.group });
    this.#byTopic = new Map(options.events.map((contract) => [contract.topic, contract]));
    this.#topics = [...this.#byTopic.keys()];
    this.#batchSize = options.batchSize ?? deps.config.batchSize;
    this.#concurrency = options.concurrency ?? deps.config.concurrency;
    this.#maxAttempts = options.maxAttempts ?? deps.config.maxAttempts;
    this.#leaseMs = options.leaseMs ?? deps.config.leaseMs;
    this.#backoff = {
      baseMs: options.backoffBaseMs ?? deps.config.backoffBaseMs,
      maxMs: options.backoffMaxMs ?? deps.config.backoffMaxMs,
    };
  }

  start(): void {
    this.#loops ??= this.#run();
  }

  /** Stops taking work, lets running batches finish (a per-event batch stops before its next event), releases leases. */
  async stop(): Promise<void> {
    this.#stop.abort();
    this.#bell.ring();
    this.#retryBell.ring();
    await this.#loops;
    await Promise.all([...this.#lanes, ...this.#retries]);
  }

  status(): ConsumerStatus {
    return {
      group: this.group,
      running: this.#loops !== undefined && !this.#stop.signal.aborted,
      batches: this.#lanes.size,
      retries: this.#retries.size,
    };
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    for (let wait = 100; !signal.aborted; wait = Math.min(wait * 2, 10_000)) {
      try {
        await cursors.register(this.#deps.pool, this.group, this.#topics, this.#options.startFrom ?? 'beginning');
        break;
      } catch (error) {
        this.#log.error({ err: error }, `could not register the consumer group; retrying in ${wait} ms`);
        await delay(wait, signal);
      }
    }
    const wanted = new Set(this.#topics);
    const unfollow = this.#deps.doorbell.follow((topics) => {
      if (!concerns(topics, wanted)) return;
      this.#rings++;
      this.#bell.ring();
    });
    try {
      await Promise.all([
        pollLoop({
          step: () => this.#step(),
          gatherMs: () => this.#gatherMs(),
          bell: this.#bell,
          waiter: this.#deps.waiter,
          timing: this.#deps.config,
          signal,
          log: this.#log,
        }),
        this.#retryLoop(),
      ]);
    } finally {
      unfollow();
    }
  }

  async #step(): Promise<StepResult> {
    if (this.#stop.signal.aborted) return 'idle';
    if (this.#lanes.size >= this.#concurrency) {
      await Promise.race(this.#lanes);
      return 'progress';
    }
    // The batches of an exhaustive read have all ended, no doorbell rang since it was sent and it is recent:
    // a read now would find nothing (what committed after it rang; what it saw was all there was), so the
    // group is idle without one — at low load that read was every other statement of the group's.
    const quiet = this.#quiet;
    this.#quiet = undefined;
    if (quiet && this.#lanes.size === 0 && quiet.rings === this.#rings && performance.now() - quiet.at < QUIET_FOR_MS) {
      return 'idle';
    }
    const limit = this.#concurrency - this.#lanes.size;
    const sent = { at: performance.now(), rings: this.#rings };
    const {
      batches: leases,
      held,
      parked: mayHaveParked,
    } = await cursors.acquireAndRead(this.#deps.pool, {
      group: this.group,
      topics: this.#topics,
      limit,
      owner: `${this.#deps.owner}:${++this.#sequence}`,
      leaseMs: this.#leaseMs,
      batchSize: this.#batchSize,
    });
    if (mayHaveParked && !this.#mayHaveParked) {
      // Parked by another instance, or replayed: the retry loop looks, at most once per sweep for this.
      this.#mayHaveParked = true;
      if (performance.now() - this.#retryLookedAt >= this.#deps.config.sweepMs) this.#retryBell.ring();
    }
    // Exhaustive: fewer partitions than asked for had work, each batch shorter than a full one, nothing held back.
    if (leases.length > 0 && leases.length < limit && !held && leases.every((l) => l.read.rows.length < this.#batchSize)) {
      this.#quiet = sent;
    }
    for (const leased of leases) {
      const lane: Promise<void> = this.#runBatch(leased).finally(() => {
        this.#lanes.delete(lane);
        this.#bell.ring();
      });
      this.#lanes.add(lane);
    }
    // Fewer partitions than asked for: none else had work in this snapshot, so wait for a batch to end
    // (it rings) or the doorbell rather than look again at once.
    if (leases.length > 0) return leases.length < limit ? 'started' : 'progress';
    if (this.#lanes.size > 0) return 'busy';
    return held ? 'held' : 'idle';
  }

  /**
   * How long to let events gather before the next lease under sustained load: the bus's short poll while
   * batches hold GATHER_TARGET events or more, longer in proportion while they hold fewer (up to
   * gatherMaxMs). A lease-and-read and a cursor move per batch are the group's statements: a handler that
   * keeps up with one event per batch would cost two statements an event, taken from the producers.
   */
  #gatherMs(): number {
    const { busyPollMs, gatherMaxMs } = this.#deps.config;
    const target = Math.min(GATHER_TARGET, this.#batchSize);
    if (this.#meanBatch >= target) return busyPollMs;
    return Math.min(Math.max(gatherMaxMs, busyPollMs), (busyPollMs * target) / Math.max(1, this.#meanBatch));
  }

  async #runBatch({ lease, read, blocked }: cursors.LeasedBatch): Promise<void> {
    const { pool } = this.#deps;
    this.#meanBatch = this.#meanBatch * 0.8 + read.rows.length * 0.2;
    const log = this.#log.child({ partition: lease.partition });
    const lost = new AbortController();
    const keeper = this.#keepLease(() => cursors.extend(pool, this.group, lease, this.#leaseMs), lost, log);
    try {
      const { through, parks } = this.#options.handler
        ? await this.#handleEach(read.rows, blocked, lost.signal, log)
        : await this.#handleBatch(read.rows, blocked, lost.signal, log);
      if (lost.signal.aborted) {
        this.#quiet = undefined;
        log.warn('lost the lease during a batch; another instance redoes it (handlers are at-least-once)');
        return;
      }
      const reached =
        through === read.rows.length
          ? read.next
          : through > 0
            ? (read.rows[through - 1] as outbox.OutboxRow).position
            : lease.position;
      const done = await cursors.complete(pool, {
        group: this.group,
        lease,
        position: laterPosition(reached, lease.position),
        parks,
        backoff: this.#backoff,
      });
      if (!done) {
        this.#quiet = undefined;
        log.warn('lost the lease before moving the cursor; another instance redoes the batch');
      } else if (parks.length > 0) {
        this.#mayHaveParked = true;
        this.#retryBell.ring();
      }
    } catch (error) {
      this.#quiet = undefined;
      log.error({ err: error }, 'a batch failed outside its handlers; the partition is released and read again');
      await cursors.release(pool, this.group, lease).catch(() => undefined);
      await delay(Math.min(1_000, this.#deps.config.sweepMs), this.#stop.signal);
    } finally {
      keeper();
    }
  }

  async #handleEach(rows: outbox.OutboxRow[], blocked: Set<string>, signal: AbortSignal, log: Logger) {
    const handler = this.#options.handler as EventHandler<C>;
    const parks: cursors.ParkRow[] = [];
    let through = 0;
    for (const row of rows) {
      if (this.#stop.signal.aborted || signal.aborted) break;
      through++;
      if (blocked.has(row.key)) {
        parks.push(parkRow(row, 'waiting', null));
        continue;
      }
      const decoded = this.#decode(row);
      if (decoded.error !== undefined) {
        log.warn({ eventId: row.eventId, topic: row.topic }, 'dead-lettered an event whose payload does not match its contract');
        parks.push(parkRow(row, 'dead', decoded.error));
        blocked.add(row.key);
        continue;
      }
      const eventLog = log.child({ eventId: row.eventId, topic: row.topic });
      try {
        await handler(decoded.event, { attempt: 1, signal, log: eventLog });
      } catch (error) {
        const status = this.#maxAttempts <= 1 ? 'dead' : 'retrying';
        eventLog.warn({ err: error, status }, 'handler failed; the event is parked and its key waits');
        parks.push(parkRow(row, status, errorText(error)));
        blocked.add(row.key);
      }
    }
    return { through, parks };
  }

  async #handleBatch(rows: outbox.OutboxRow[], blocked: Set<string>, signal: AbortSignal, log: Logger) {
    const handler = this.#options.batchHandler as BatchHandler<C>;
    const parks: cursors.ParkRow[] = [];
    const runnable: Array<{ row: outbox.OutboxRow; event: EventOf<C> }> = [];
    for (const row of rows) {
      if (blocked.has(row.key)) {
        parks.push(parkRow(row, 'waiting', null));
        continue;
      }
      const decoded = this.#decode(row);
      if (decoded.error !== undefined) {
        log.warn({ eventId: row.eventId, topic: row.topic }, 'dead-lettered an event whose payload does not match its contract');
        parks.push(parkRow(row, 'dead', decoded.error));
        blocked.add(row.key);
        continue;
      }
      runnable.push({ row, event: decoded.event });
    }
    if (runnable.length === 0) return { through: rows.length, parks };
    try {
      await handler(
        runnable.map((r) => r.event),
        { attempt: 1, signal, log },
      );
      return { through: rows.length, parks };
    } catch (error) {
      log.warn({ err: error, events: runnable.length }, 'batch handler failed; re-running the batch one event at a time');
    }
    const failed = new Set<string>();
    for (const { row, event } of runnable) {
      if (signal.aborted) break;
      if (failed.has(row.key)) {
        parks.push(parkRow(row, 'waiting', null));
        continue;
      }
      const eventLog = log.child({ eventId: row.eventId, topic: row.topic });
      try {
        await handler([event], { attempt: 1, signal, log: eventLog });
      } catch (error) {
        const status = this.#maxAttempts <= 1 ? 'dead' : 'retrying';
        eventLog.warn({ err: error, status }, 'handler failed; the event is parked and its key waits');
        parks.push(parkRow(row, status, errorText(error)));
        failed.add(row.key);
      }
    }
    return { through: rows.length, parks };
  }

  async #retryLoop(): Promise<void> {
    const signal = this.#stop.signal;
    const { pool, config } = this.#deps;
    while (!signal.aborted) {
      const since = this.#retryBell.count;
      try {
        if (this.#retries.size >= this.#concurrency) {
          await Promise.race([...this.#retries, this.#retryBell.wait(config.sweepMs, since, signal)]);
          continue;
        }
        // Nothing parked that can run (the group's reads tell, and its own parks): no statement, only a wait.
        if (!this.#mayHaveParked && this.#retries.size === 0) {
          await this.#retryBell.wait(config.sweepMs, since, signal);
          continue;
        }
        this.#retryLookedAt = performance.now();
        const claims = await parked.claimDue(pool, {
          group: this.group,
          limit: this.#concurrency - this.#retries.size,
          owner: `${this.#deps.owner}:r${++this.#sequence}`,
          leaseMs: this.#leaseMs,
        });
        for (const claim of claims) {
          const retry: Promise<void> = this.#runParked(claim).finally(() => {
            this.#retries.delete(retry);
            this.#retryBell.ring();
          });
          this.#retries.add(retry);
        }
        if (claims.length > 0) continue;
        const dueIn = await parked.nextDueInMs(pool, this.group);
        // No head left to run: until a park or a read says otherwise. A park meanwhile rang (the count moved).
        if (dueIn === undefined && this.#retries.size === 0 && this.#retryBell.count === since) this.#mayHaveParked = false;
        await this.#retryBell.wait(Math.max(5, Math.min(dueIn ?? config.sweepMs, config.sweepMs)), since, signal);
      } catch (error) {
        if (signal.aborted) break;
        this.#log.error({ err: error }, 'the retry loop failed; trying again');
        await delay(Math.min(1_000, config.sweepMs), signal);
      }
    }
  }

  async #runParked(claim: parked.Claim): Promise<void> {
    const { pool } = this.#deps;
    const { row } = claim;
    const log = this.#log.child({ eventId: row.eventId, topic: row.topic, attempt: claim.attempts + 1 });
    const lost = new AbortController();
    const keeper = this.#keepLease(() => parked.extend(pool, this.group, claim, this.#leaseMs), lost, log);
    try {
      const decoded = this.#decode(row);
      const fail = (error: string, dead = false) =>
        parked.failed(pool, { group: this.group, claim, error, maxAttempts: this.#maxAttempts, backoff: this.#backoff, dead });
      if (decoded.error !== undefined) {
        await fail(decoded.error, true);
        log.warn('dead-lettered an event whose payload does not match its contract');
        return;
      }
      const context = { attempt: claim.attempts + 1, signal: lost.signal, log };
      try {
        if (this.#options.handler) await this.#options.handler(decoded.event, context);
        else await (this.#options.batchHandler as BatchHandler<C>)([decoded.event], context);
      } catch (error) {
        const status = await fail(errorText(error));
        log.warn(
          { err: error, status },
          status === 'dead' ? 'handler failed for the last time: the event is dead and its key parked' : 'handler failed again',
        );
        return;
      }
      if (!(await parked.succeeded(pool, this.group, claim))) log.warn('lost the lease of a parked event; it may run again');
    } catch (error) {
      log.error({ err: error }, 'retrying a parked event failed outside its handler; it is released');
      await parked.release(pool, this.group, claim).catch(() => undefined);
    } finally {
      keeper();
    }
  }

  /** Extends a lease every third of its length; aborts `lost` when it is gone. Returns the stop. */
  #keepLease(extend: () => Promise<boolean>, lost: AbortController, log: Logger): () => void {
    const timer = setInterval(
      () => {
        extend().then(
          (held) => {
            if (!held) lost.abort(new Error('lease lost'));
          },
          (error: unknown) => log.warn({ err: error }, 'could not extend a lease; trying again'),
        );
      },
      Math.max(10, Math.floor(this.#leaseMs / 3)),
    );
    return () => clearInterval(timer);
  }

  #decode(row: outbox.OutboxRow): Decoded<C> {
    const contract = this.#byTopic.get(row.topic);
    if (!contract) return { error: `no contract for topic ${row.topic} in group ${this.group}` };
    const result = contract.payload.safeParse(row.payload);
    if (!result.success) return { error: new EventPayloadError(row.topic, result.error).message };
    const event = {
      id: row.eventId,
      topic: row.topic,
      key: row.key,
      partition: row.partition,
      payload: result.data,
      headers: row.headers,
      position: formatPosition(row.position),
      createdAt: row.createdAt,
    };
    return { event: event as EventOf<C> };
  }
}

function parkRow(row: outbox.OutboxRow, status: cursors.ParkRow['status'], error: string | null): cursors.ParkRow {
  return {
    eventId: row.eventId,
    outboxId: row.outboxId,
    txid: row.txid,
    key: row.key,
    partition: row.partition,
    topic: row.topic,
    status,
    error,
  };
}

function errorText(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.slice(0, 4_000);
}
