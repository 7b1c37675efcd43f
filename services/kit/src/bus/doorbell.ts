import type { Pool } from '../db.ts';

/**
 * The doorbell channel: rung after a producer's commit, heard on the process's one LISTEN connection
 * (listener.ts). Kept here, not beside the listener, so what publishes never loads pg-listen.
 */
export const DOORBELL_CHANNEL = 'llmops_bus';

/** Sends one ring; resolves when it was sent (or failed: a ring is only a hint, the sweep is the fallback). */
export type SendRing = () => Promise<unknown>;

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
  #leading = false;
  /** NOTIFYs sent so far. */
  sent = 0;

  constructor(send: SendRing) {
    this.#send = send;
  }

  ring(): void {
    if (this.#sending) {
      this.#again = true;
      return;
    }
    this.sent++;
    this.#sending = this.#send().then(
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
      this.ring();
    }
  }
}

const ringers = new WeakMap<Pool, Ringer>();

/**
 * Rings the doorbell from this process on `pool`: a statement that only NOTIFYs, in autocommit, so it
 * writes no WAL and holds NOTIFY's cluster-wide lock for microseconds, not through a producer's fsync.
 */
export function ringDoorbell(pool: Pool): void {
  ringerOf(pool).ring();
}

/** The ringer of this process's producers on `pool`. */
export function ringerOf(pool: Pool): Ringer {
  let ringer = ringers.get(pool);
  if (!ringer) {
    ringer = new Ringer(() => pool.query(`SELECT pg_notify('${DOORBELL_CHANNEL}', '')`));
    ringers.set(pool, ringer);
  }
  return ringer;
}

/** Resolves once the rings asked for on `pool` so far have been sent (tests, the bench). */
export async function doorbellSettled(pool: Pool): Promise<void> {
  await ringers.get(pool)?.settled();
}
