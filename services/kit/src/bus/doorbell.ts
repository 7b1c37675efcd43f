import type { Pool } from '../db.ts';

/**
 * The doorbell channel: rung after a producer's commit, heard on the process's one LISTEN connection
 * (listener.ts). Kept here, not beside the listener, so what publishes never loads pg-listen.
 */
export const DOORBELL_CHANNEL = 'llmops_bus';

/** Sends one ring with its payload; resolves when it was sent (or failed: a ring is only a hint, the sweep is the fallback). */
export type SendRing = (payload: string) => Promise<unknown>;

// Longer payloads ring for every topic: NOTIFY takes under 8,000 bytes, and a ring is only a hint.
const MAX_PAYLOAD = 4_000;

/**
 * A ring's payload: the topics of the events it announces, so a process wakes only the readers of
 * those topics (every ring used to wake every reader and consumer group of every process, a statement
 * each). `undefined` (events of unknown topics) gives '', which wakes every reader, as does a ring from
 * a producer that names no topics.
 */
export function ringPayload(topics: Iterable<string> | undefined): string {
  if (topics === undefined) return '';
  const payload = [...new Set(topics)].sort().join(',');
  return payload.length > MAX_PAYLOAD ? '' : payload;
}

/** The topics a ring announces, or undefined when it names none (wake every reader). */
export function ringTopics(payload: string): string[] | undefined {
  return payload === '' ? undefined : payload.split(',');
}

/**
 * Rings coalesced per tick (docs/adr/0009-event-bus.md, "The doorbell"): the first ring is sent at once
 * (the leading edge, so a waiting consumer wakes without delay), rings asked for while it is on its way
 * are folded into one more ring sent after it. However many producers commit together, at most two
 * NOTIFYs are in flight per tick and none waits for another's.
 */
export class Ringer {
  readonly #send: SendRing;
  #sending: Promise<void> | undefined;
  #again = false;
  /** The topics of the rings folded into the next one; undefined when one of them named none. */
  #againTopics: Set<string> | undefined = new Set();
  #leading = false;
  /** NOTIFYs sent so far. */
  sent = 0;

  constructor(send: SendRing) {
    this.#send = send;
  }

  /** Rings for events of `topics` (undefined: of topics not known here, which wakes every reader). */
  ring(topics?: Iterable<string>): void {
    if (this.#sending) {
      if (!this.#again) this.#againTopics = new Set();
      this.#again = true;
      if (topics === undefined) this.#againTopics = undefined;
      else if (this.#againTopics) for (const topic of topics) this.#againTopics.add(topic);
      return;
    }
    this.sent++;
    this.#sending = this.#send(ringPayload(topics)).then(
      () => this.#sent(),
      () => this.#sent(),
    );
  }

  /**
   * Takes the lead for a producing statement that may NOTIFY inside its own transaction (delivered by
   * its commit, a round trip sooner than a ring after it): true when no ring is on its way and no other
   * statement of this process holds the lead, so a burst of commits puts at most one of them behind
   * NOTIFY's cluster-wide lock; the others ring after their commit as before. `release` when the
   * statement's transaction has ended.
   */
  lead(): boolean {
    if (this.#sending || this.#leading) return false;
    this.#leading = true;
    return true;
  }

  release(): void {
    this.#leading = false;
  }

  /** Resolves once every ring asked for so far has been sent. */
  async settled(): Promise<void> {
    while (this.#sending) await this.#sending;
  }

  #sent(): void {
    this.#sending = undefined;
    if (this.#again) {
      this.#again = false;
      this.ring(this.#againTopics);
    }
  }
}

const ringers = new WeakMap<Pool, Ringer>();

/**
 * Rings the doorbell from this process on `pool`: a statement that only NOTIFYs, in autocommit, so it
 * writes no WAL and holds NOTIFY's cluster-wide lock for microseconds, not through a producer's fsync.
 */
export function ringDoorbell(pool: Pool, topics?: Iterable<string>): void {
  ringerOf(pool).ring(topics);
}

/** The ringer of this process's producers on `pool`. */
export function ringerOf(pool: Pool): Ringer {
  let ringer = ringers.get(pool);
  if (!ringer) {
    ringer = new Ringer((payload) => pool.query(`SELECT pg_notify('${DOORBELL_CHANNEL}', $1)`, [payload]));
    ringers.set(pool, ringer);
  }
  return ringer;
}

/** Resolves once the rings asked for on `pool` so far have been sent (tests, the bench). */
export async function doorbellSettled(pool: Pool): Promise<void> {
  await ringers.get(pool)?.settled();
}
