import { randomBytes } from 'node:crypto';
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

// Between a ring's origin and its topics; neither an origin (hex) nor a topic (TOPIC_PATTERN) has it.
const ORIGIN_END = ';';

/**
 * A ring's payload: the origin that rang (the ringer of one process's pool, so that process can ignore
 * its own ring: it heard its commit in-process already), then the topics of the events it announces, so
 * a process wakes only the readers of those topics (every ring used to wake every reader and consumer
 * group of every process, a statement each). `undefined` topics (events of unknown topics) give none,
 * which wakes every reader, as does a ring from a producer that names no topics. Without an origin
 * (a producer that does not say) the payload is the topics alone, a ring every process hears.
 */
export function ringPayload(topics: Iterable<string> | undefined, origin?: string): string {
  let names = topics === undefined ? '' : [...new Set(topics)].sort().join(',');
  if (names.length > MAX_PAYLOAD) names = '';
  return origin === undefined ? names : `${origin}${ORIGIN_END}${names}`;
}

/** A ring as heard: who rang (undefined: a producer that does not say) and its topics (undefined: wake every reader). */
export interface Ring {
  origin: string | undefined;
  topics: string[] | undefined;
}

/** Reads a ring's payload (ringPayload's, or the bare topics of a producer that names no origin). */
export function parseRing(payload: string): Ring {
  const end = payload.indexOf(ORIGIN_END);
  const names = end < 0 ? payload : payload.slice(end + 1);
  return { origin: end < 0 ? undefined : payload.slice(0, end), topics: names === '' ? undefined : names.split(',') };
}

/** Hears the rings of this process's own commits, in-process: topics as in a ring (undefined: any). */
export type Hearer = (topics: readonly string[] | undefined) => void;

/**
 * The rings of one process's producers on one pool (docs/adr/0009-event-bus.md, "The doorbell").
 *
 * Its own process hears them in-process, at once: a bus on the same pool registers with `hear` and is
 * told of every ring right after the commit it announces, with no NOTIFY round trip, and it ignores the
 * NOTIFY when it comes back (the payload names this ringer's `origin`).
 *
 * Other processes hear the NOTIFY, coalesced per tick: the first ring is sent at once (the leading edge,
 * so a waiting consumer wakes without delay), rings asked for while it is on its way are folded into one
 * more ring sent after it. However many producers commit together, at most two NOTIFYs are in flight per
 * tick and none waits for another's.
 */
export class Ringer {
  /** Names this ringer's rings, so the process that rang can ignore them when they come back. */
  readonly origin: string;
  readonly #send: SendRing;
  readonly #hearers = new Set<Hearer>();
  #sending: Promise<void> | undefined;
  #again = false;
  /** The topics of the rings folded into the next one; undefined when one of them named none. */
  #againTopics: Set<string> | undefined = new Set();
  #leading = false;
  /** NOTIFYs sent so far. */
  sent = 0;

  constructor(send: SendRing, origin = randomBytes(6).toString('hex')) {
    this.#send = send;
    this.origin = origin;
  }

  /** Rings for events of `topics` just committed (undefined: of topics not known here, which wakes every reader). */
  ring(topics?: Iterable<string>): void {
    const names = topics === undefined ? undefined : [...topics];
    this.heard(names);
    this.notify(names);
  }

  /**
   * Tells this process's own readers of events of `topics` just committed, and nobody else: for a commit
   * whose NOTIFY went out with it (a ring inside the statement, `lead`).
   */
  heard(topics?: readonly string[]): void {
    for (const hear of this.#hearers) hear(topics);
  }

  /** Registers a bus of this process: it hears every ring of this pool in-process. Returns the removal. */
  hear(hearer: Hearer): () => void {
    this.#hearers.add(hearer);
    return () => this.#hearers.delete(hearer);
  }

  /** The payload of a NOTIFY that rings for `topics` inside a producing statement: it names this origin. */
  payload(topics?: Iterable<string>): string {
    return ringPayload(topics, this.origin);
  }

  /** Rings other processes only (NOTIFY, coalesced), for a commit this process has heard of already. */
  notify(topics?: readonly string[]): void {
    if (this.#sending) {
      if (!this.#again) this.#againTopics = new Set();
      this.#again = true;
      if (topics === undefined) this.#againTopics = undefined;
      else if (this.#againTopics) for (const topic of topics) this.#againTopics.add(topic);
      return;
    }
    this.sent++;
    this.#sending = this.#send(this.payload(topics)).then(
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
      this.notify(this.#againTopics === undefined ? undefined : [...this.#againTopics]);
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
