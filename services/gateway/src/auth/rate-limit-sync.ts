import type { Pool } from '@llmops/kit/db';
import type { Logger } from '@llmops/kit/logger';
import * as rateBuckets from '../db/rate-buckets.ts';
import type { RateLimiter } from './rate-limit.ts';

const FORGET_EVERY_MS = 60_000;

/**
 * Makes the gateway instances on one database hold one quota per key: every `syncMs` this instance
 * adds what it allowed to the shared bucket of each key it serves (gateway.rate_buckets, one statement)
 * and adopts the level every instance's requests left. Requests never wait for it. Between two
 * settlements each instance spends from the level it last saw, so the instances together may allow past
 * the quota what the others allowed meanwhile (one interval's worth); that excess is recorded as debt,
 * which later requests pay back. While the database is unreachable each instance limits alone, and its
 * count is settled when it is back.
 */
export class SharedRateWindow {
  readonly #limiter: RateLimiter;
  readonly #pool: Pool;
  readonly #log: Logger;
  readonly #syncMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #forgotAt = Date.now();
  #failing = false;

  constructor({ limiter, pool, log, syncMs }: { limiter: RateLimiter; pool: Pool; log: Logger; syncMs: number }) {
    this.#limiter = limiter;
    this.#pool = pool;
    this.#log = log;
    this.#syncMs = syncMs;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.settle(), this.#syncMs);
    this.#timer.unref();
  }

  /** Stops settling, after settling once more what this instance allowed. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.settle();
  }

  /** One settlement (the timer's; tests call it to settle at a point of their choosing). One at a time. */
  settle(): Promise<void> {
    this.#running ??= this.#settle().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #settle(): Promise<void> {
    const taken = this.#limiter.unsettled();
    if (taken.length === 0) return;
    try {
      this.#limiter.adopt(await rateBuckets.settle(this.#pool, taken));
      if (Date.now() - this.#forgotAt >= FORGET_EVERY_MS) {
        this.#forgotAt = Date.now();
        await rateBuckets.deleteFull(this.#pool);
      }
      if (this.#failing) this.#log.info('rate limits are shared again');
      this.#failing = false;
    } catch (error) {
      this.#limiter.unsettle(taken);
      if (!this.#failing)
        this.#log.warn({ err: error }, 'could not settle rate limits with the other instances; limiting alone until it works');
      this.#failing = true;
    }
  }
}
