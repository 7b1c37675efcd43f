import type { Pool } from '../db.ts';

// A waiter row that has been live this long has been seen by every producer's doorbell check that
// could still be committing, so a consumer that goes idle again need not linger for stragglers.
const SETTLED_AFTER_MS = 1_000;

/**
 * This process's row in bus.waiters: "a consumer here waits for the doorbell". Written when a consumer
 * goes idle (at most about twice per TTL), expiring by itself when nobody goes idle for a while, and
 * deleted as soon as every reader that waited for the doorbell is under sustained load (they poll), so
 * producers stop ringing while every consumer is busy.
 */
export class WaiterRow {
  readonly #pool: Pool;
  readonly #id: string;
  readonly #ttlMs: number;
  #writtenAt = Number.NEGATIVE_INFINITY;
  #liveSince = Number.POSITIVE_INFINITY;
  #writing: Promise<void> | undefined;
  #deleting: Promise<void> | undefined;
  /** The readers of this process that went idle and rely on the doorbell (until they report sustained load). */
  readonly #waiting = new Set<object>();

  constructor(pool: Pool, id: string, ttlMs: number) {
    this.#pool = pool;
    this.#id = id;
    this.#ttlMs = ttlMs;
  }

  /**
   * Marks the process as waiting. Resolves true when the row was already live long enough that no
   * producer can have missed it ("settled"); false when it just became live, and the caller must
   * re-read and linger briefly to catch a producer that checked before the row was there.
   */
  async markWaiting(reader?: object): Promise<boolean> {
    if (reader) this.#waiting.add(reader);
    if (this.#deleting) await this.#deleting;
    const now = performance.now();
    if (now - this.#writtenAt < this.#ttlMs / 2) return now - this.#liveSince >= SETTLED_AFTER_MS;
    this.#writing ??= this.#write().finally(() => {
      this.#writing = undefined;
    });
    await this.#writing;
    return performance.now() - this.#liveSince >= SETTLED_AFTER_MS;
  }

  async #write(): Promise<void> {
    const started = performance.now();
    await this.#pool.query(
      `INSERT INTO bus.waiters (waiter, expires_at) VALUES ($1, now() + $2 * interval '1 millisecond')
       ON CONFLICT (waiter) DO UPDATE SET expires_at = EXCLUDED.expires_at`,
      [this.#id, this.#ttlMs],
    );
    // If the previous write is older than (most of) the TTL, the row may have lapsed in between.
    if (started - this.#writtenAt > this.#ttlMs * 0.8) this.#liveSince = performance.now();
    this.#writtenAt = started;
  }

  /**
   * `reader` is under sustained load: it polls, so it no longer needs the doorbell. When no reader of the
   * process waits for it any more, the row is deleted at once, rather than left to lapse (up to the TTL,
   * during which every producer's commit that sees it rings, and each ring wakes these readers for a
   * statement of their own). The next reader to go idle writes it again, and lingers as after a lapse.
   */
  busy(reader: object): void {
    this.#waiting.delete(reader);
    if (this.#waiting.size > 0 || this.#writing || this.#deleting) return;
    if (performance.now() - this.#writtenAt >= this.#ttlMs) return; // lapsed already, or never written
    this.#writtenAt = Number.NEGATIVE_INFINITY;
    this.#liveSince = Number.POSITIVE_INFINITY;
    this.#deleting = this.#pool
      .query(`DELETE FROM bus.waiters WHERE waiter = $1`, [this.#id])
      .then(
        () => undefined,
        () => undefined, // a row left behind only lapses: producers ring a little longer
      )
      .finally(() => {
        this.#deleting = undefined;
      });
  }

  async remove(): Promise<void> {
    this.#waiting.clear();
    if (this.#deleting) await this.#deleting;
    this.#writtenAt = Number.NEGATIVE_INFINITY;
    this.#liveSince = Number.POSITIVE_INFINITY;
    await this.#pool.query(`DELETE FROM bus.waiters WHERE waiter = $1`, [this.#id]);
  }
}
