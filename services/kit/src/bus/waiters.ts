import type { Pool } from '../db.ts';

// A waiter row that has been live this long has been seen by every producer's doorbell check that
// could still be committing, so a consumer that goes idle again need not linger for stragglers.
const SETTLED_AFTER_MS = 1_000;

/**
 * This process's row in bus.waiters: "a consumer here waits for the doorbell". Written when a consumer
 * goes idle (at most about twice per TTL), expiring by itself when nobody goes idle for a while, and
 * deleted as soon as every reader that waited for the doorbell is under sustained load (they poll), so
 * producers stop ringing while every consumer is busy.
 *
 * The row names the process's `origin` (its pool's ringer: its own commits it hears in-process) and the
 * topics its readers read (`read`; NULL once one reads every topic): a producer NOTIFYs only when another
 * process waits for one of its topics (docs/adr/0001-commit-safe-bus-positions.md, "The doorbell").
 */
export class WaiterRow {
  readonly #pool: Pool;
  readonly #id: string;
  readonly #ttlMs: number;
  readonly #origin: string | null;
  /** The open readers and groups of the process per topic they read ('' for a reader of every topic). */
  readonly #topics = new Map<string, number>();
  /** Moves when the topics change, so a write that began before does not count as writing them. */
  #version = 0;
  /** The row lacks some topic of `#topics`: the next wait writes it and lingers. */
  #stale = false;
  #writtenAt = Number.NEGATIVE_INFINITY;
  #liveSince = Number.POSITIVE_INFINITY;
  #writing: Promise<void> | undefined;
  #deleting: Promise<void> | undefined;
  /** The readers of this process that went idle and rely on the doorbell (until they report sustained load). */
  readonly #waiting = new Set<object>();

  constructor(pool: Pool, id: string, ttlMs: number, origin?: string) {
    this.#pool = pool;
    this.#id = id;
    this.#ttlMs = ttlMs;
    this.#origin = origin ?? null;
  }

  /**
   * A reader or group of the process reads `topics` (empty: every topic) until the returned release is
   * called; call before it first waits. A topic the row does not name yet is written with the next wait,
   * which lingers as after a lapse (a producer may have checked the row without it), so no ring for it is
   * missed. A released topic leaves the row at its next write (producers ring for it a little longer).
   */
  read(topics: readonly string[]): () => void {
    const names = topics.length === 0 ? [''] : [...new Set(topics)];
    let added = false;
    for (const name of names) {
      const count = this.#topics.get(name) ?? 0;
      if (count === 0) added = true;
      this.#topics.set(name, count + 1);
    }
    if (added) {
      this.#version++;
      this.#stale = true;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const name of names) {
        const count = (this.#topics.get(name) ?? 1) - 1;
        if (count > 0) this.#topics.set(name, count);
        else this.#topics.delete(name);
      }
    };
  }

  /** The row's topics: NULL when a reader reads every topic. */
  #rowTopics(): string[] | null {
    return this.#topics.has('') ? null : [...this.#topics.keys()].sort();
  }

  /**
   * True while the row is live as far as this process knows (written within the TTL, not deleted): a
   * reader here waits for the doorbell, so this process's own commits ring its readers in-process.
   */
  get live(): boolean {
    return performance.now() - this.#writtenAt < this.#ttlMs;
  }

  /**
   * Marks the process as waiting. Resolves true when the row was already live long enough that no
   * producer can have missed it ("settled"); false when it just became live, and the caller must
   * re-read and linger briefly to catch a producer that checked before the row was there.
   */
  async markWaiting(reader?: object): Promise<boolean> {
    if (reader) this.#waiting.add(reader);
    if (this.#deleting) await this.#deleting;
    for (;;) {
      const now = performance.now();
      if (!this.#stale && now - this.#writtenAt < this.#ttlMs / 2) return now - this.#liveSince >= SETTLED_AFTER_MS;
      this.#writing ??= this.#write().finally(() => {
        this.#writing = undefined;
      });
      await this.#writing;
      // A write that began before a reader's new topics did not write them: write again.
      if (!this.#stale) return performance.now() - this.#liveSince >= SETTLED_AFTER_MS;
    }
  }

  async #write(): Promise<void> {
    const started = performance.now();
    const version = this.#version;
    const stale = this.#stale;
    await this.#pool.query(
      `INSERT INTO bus.waiters (waiter, expires_at, origin, topics) VALUES ($1, now() + $2 * interval '1 millisecond', $3, $4)
       ON CONFLICT (waiter) DO UPDATE SET expires_at = EXCLUDED.expires_at, origin = EXCLUDED.origin, topics = EXCLUDED.topics`,
      [this.#id, this.#ttlMs, this.#origin, this.#rowTopics()],
    );
    if (version !== this.#version) return; // new topics meanwhile: the next wait writes them
    // If the previous write is older than (most of) the TTL, the row may have lapsed in between; if it
    // lacked a topic, a producer of that topic may have checked it without: either way, linger.
    if (stale || started - this.#writtenAt > this.#ttlMs * 0.8) this.#liveSince = performance.now();
    this.#stale = false;
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
