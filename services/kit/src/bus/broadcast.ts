import type { Pool, Queryable } from '../db.ts';
import type { Logger } from '../logger.ts';
import { Bell, concerns } from './bell.ts';
import type { BusConfig } from './config.ts';
import { EventPayloadError, type BusEvent, type EventContract, type EventOf } from './contract.ts';
import { pollLoop, type StepResult } from './loop.ts';
import * as outbox from './outbox.ts';
import { comparePositions, formatPosition, parsePosition, type Position } from './position.ts';
import type { WaiterRow } from './waiters.ts';

/** The position is behind the retention horizon: events after it were deleted; the reader must resync. */
export class PositionExpiredError extends Error {
  override name = 'PositionExpiredError';
  readonly position: string;
  constructor(position: string) {
    super(`bus position ${position} is older than the retained events: start again from a fresh snapshot (resync)`);
    this.position = position;
  }
}

/** The position is past the commit-safe head: this database never gave it out (it was restored from a backup). */
export class PositionAheadError extends Error {
  override name = 'PositionAheadError';
  readonly position: string;
  constructor(position: string) {
    super(
      `bus position ${position} is ahead of every event of this database (was it restored?): start again from a fresh snapshot (resync)`,
    );
    this.position = position;
  }
}

/**
 * 'expired' when retention has deleted events after this position; 'ahead' when it is past the
 * commit-safe head, which every position a reader was given is below (a reader only reads below its
 * snapshot's xmin, and xmin only grows): the database went back in time (a restore), and a reader from
 * there would wait, silently, until the bus passed it again. Either way an SSE client must resync.
 */
export async function positionStatus(db: Queryable, position: string | Position): Promise<'ok' | 'expired' | 'ahead'> {
  const parsed = typeof position === 'string' ? parsePosition(position) : position;
  if (comparePositions(parsed, await outbox.retentionHorizon(db)) < 0) return 'expired';
  return comparePositions(parsed, await outbox.head(db)) > 0 ? 'ahead' : 'ok';
}

/**
 * The commit-safe head, "now", as a position string: a reader starting here sees everything that
 * commits from now on, plus possibly a few events that committed just before but are still held back
 * by an older open transaction (a position cannot split them off without risking the gap trap).
 */
export async function headPosition(db: Queryable): Promise<string> {
  return formatPosition(await outbox.head(db));
}

type Events<C extends EventContract> = [C] extends [never] ? BusEvent[] : EventOf<C>[];

export interface BroadcastOptions<C extends EventContract = never> {
  /**
   * 'now' (default): every event that commits from now on, none that committed before (unlike a
   * start from headPosition, which may include a few); or a position string from an earlier event
   * (e.g. SSE Last-Event-ID): delivery resumes exactly after it.
   */
  from?: 'now' | string;
  /** Only these topics, payloads validated (an invalid one is logged and skipped); omit for every topic, payloads as stored. */
  events?: readonly C[];
  /** Called with each batch, in position order; the reader's position moves past a batch once this resolves. */
  handler: (events: Events<C>) => unknown;
  /** Called once if the reader falls behind retention (it then stops). */
  onExpired?: (position: string) => void;
  batchSize?: number;
  /**
   * What wakes the reader: every commit of its topics (`'all'`, the default), or only other processes'
   * (`'others'`), for a reader whose process learns of its own commits another way (the runner's worker
   * wakes its loop itself). Such a reader reads on their rings, its sweep and its start, never for this
   * process's own commits: its position lags behind them, and it reads them with the next foreign ring
   * or sweep, still every event once and in order.
   */
  wakeFor?: 'all' | 'others';
}

interface BroadcastDeps {
  pool: Pool;
  doorbell: Bell;
  waiter: WaiterRow;
  log: Logger;
  config: BusConfig;
}

/**
 * A broadcast reader: every instance sees every event after its position, in position order, exactly
 * once per reader (at-least-once across processes: persist `position` with what you did to resume).
 */
export class BroadcastReader<C extends EventContract = never> {
  readonly #deps: BroadcastDeps;
  readonly #options: BroadcastOptions<C>;
  readonly #byTopic: Map<string, C>;
  readonly #bell = new Bell();
  readonly #stop = new AbortController();
  #position: Position;
  /** For a reader from 'now': events that committed before it began, skipped; undefined once past them. */
  #before: outbox.Now | undefined;
  #loop: Promise<void> | undefined;
  #failure: unknown;

  constructor(deps: BroadcastDeps, options: BroadcastOptions<C>, start: Position, now?: outbox.Now) {
    this.#deps = deps;
    this.#options = options;
    this.#byTopic = new Map((options.events ?? []).map((contract) => [contract.topic, contract]));
    this.#position = start;
    this.#before = now;
  }

  /**
   * Where the reader stands: at or after its last delivered event (it moves on to the snapshot's xmin
   * when it has read everything). A new reader from here resumes without gaps or repeats.
   */
  get position(): string {
    return formatPosition(this.#position);
  }

  /** Resolves when the reader stops; rejects with the handler's error if the handler threw. */
  get done(): Promise<void> {
    return (this.#loop ?? Promise.resolve()).then(() => {
      if (this.#failure !== undefined) throw this.#failure;
    });
  }

  start(): void {
    if (this.#loop) return;
    const wanted = new Set(this.#byTopic.keys());
    const othersOnly = this.#options.wakeFor === 'others';
    const unfollow = this.#deps.doorbell.follow((topics, own) => {
      if (!(own && othersOnly) && concerns(topics, wanted)) this.#bell.ring();
    });
    this.#loop = pollLoop({
      step: () => this.#step(),
      bell: this.#bell,
      waiter: this.#deps.waiter,
      timing: this.#deps.config,
      signal: this.#stop.signal,
      log: this.#deps.log,
    }).finally(unfollow);
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  async #step(): Promise<StepResult> {
    const topics = [...this.#byTopic.keys()];
    const { pool, log } = this.#deps;
    const limit = this.#options.batchSize ?? this.#deps.config.batchSize;
    const read = await outbox.readForBroadcast(pool, { after: this.#position, topics, limit });
    if (comparePositions(this.#position, read.horizon) < 0) {
      log.warn({ position: this.position }, 'a broadcast reader fell behind retention; it stops');
      this.#stop.abort();
      this.#options.onExpired?.(this.position);
      return 'idle';
    }
    const events: BusEvent[] = [];
    const before = this.#before;
    for (const row of read.rows) {
      if (before && outbox.committedBefore(before, row.position.txid)) continue;
      let payload = row.payload;
      const contract = this.#byTopic.get(row.topic);
      if (contract) {
        const result = contract.payload.safeParse(row.payload);
        if (!result.success) {
          log.warn(
            { eventId: row.eventId, err: new EventPayloadError(row.topic, result.error) },
            'broadcast reader skipped an invalid event',
          );
          continue;
        }
        payload = result.data;
      }
      events.push({
        id: row.eventId,
        topic: row.topic,
        key: row.key,
        partition: row.partition,
        payload,
        headers: row.headers,
        position: formatPosition(row.position),
        createdAt: row.createdAt,
      });
    }
    if (events.length > 0) {
      try {
        await this.#options.handler(events as Events<C>);
      } catch (error) {
        this.#failure = error;
        this.#stop.abort();
        log.warn({ err: error }, 'a broadcast handler threw; the reader stops');
        return 'idle';
      }
    }
    this.#position = read.next;
    if (before && this.#position.txid >= before.xmax) this.#before = undefined;
    if (read.rows.length > 0) return read.rows.length < limit && !read.held ? 'drained' : 'progress';
    return read.held ? 'held' : 'idle';
  }
}
