// Helpers for the bus's own tests (and later cross-service tests): real PostgreSQL, short timings.
import { afterAll } from 'vitest';
import { createPool, type Pool } from '../db.ts';
import { createLogger, type Logger } from '../logger.ts';
import type { ServiceName } from '../services.ts';
import type { TestDatabase } from '../testing/database.ts';
import { createBus, type Bus } from './bus.ts';
import type { BusConfig } from './config.ts';

/** Timings short enough for tests, long enough for two busy cores. */
export const FAST: Partial<BusConfig> = {
  sweepMs: 200,
  waiterTtlMs: 1_000,
  leaseMs: 1_500,
  backoffBaseMs: 20,
  backoffMaxMs: 200,
  listenCheckMs: 2_000,
  retention: false,
};

export function testLogger(service = 'bus-test'): Logger {
  return createLogger({ service, level: process.env.LOG_LEVEL ?? 'silent' });
}

export interface BusHarness {
  /** A pool as the service's own role, closed after the file. */
  servicePool(service?: ServiceName, applicationName?: string): Pool;
  /** A started bus as a service role (one "process"), stopped after the file. */
  startBus(options?: {
    service?: ServiceName;
    config?: Partial<BusConfig>;
    name?: string;
  }): Promise<{ bus: Bus; pool: Pool; applicationName: string }>;
}

/** Call at the top of a test file, after useTestDatabase(), so buses stop before the database is dropped. */
export function useBuses(db: TestDatabase): BusHarness {
  const pools: Pool[] = [];
  const buses: Bus[] = [];
  afterAll(async () => {
    await Promise.all(buses.map((bus) => bus.stop().catch(() => undefined)));
    await Promise.all(pools.map((pool) => pool.end().catch(() => undefined)));
  });
  const servicePool = (service: ServiceName = 'runner', applicationName = `test-${service}`) => {
    const pool = createPool({ connectionString: db.urlFor(service), applicationName, max: 8 });
    pools.push(pool);
    return pool;
  };
  return {
    servicePool,
    async startBus({ service = 'runner', config = {}, name } = {}) {
      const applicationName = `${name ?? service}-bus-${Math.random().toString(36).slice(2, 8)}`;
      const pool = servicePool(service);
      const bus = createBus({
        pool,
        listenUrl: db.urlFor(service),
        log: testLogger(service),
        service,
        config: { ...FAST, listenApplicationName: applicationName, ...config },
      });
      buses.push(bus);
      await bus.start();
      return { bus, pool, applicationName };
    },
  };
}

/** Collects items and lets a test await a count, with a generous bound and a message that says what was missing. */
export class Collector<T> {
  readonly items: T[] = [];
  #waiters: Array<{ count: number; resolve: () => void }> = [];

  push(...items: T[]): void {
    this.items.push(...items);
    this.#waiters = this.#waiters.filter((waiter) => {
      if (this.items.length < waiter.count) return true;
      waiter.resolve();
      return false;
    });
  }

  /** Resolves when at least `count` items arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs = 15_000, what = 'items'): Promise<T[]> {
    if (this.items.length >= count) return Promise.resolve(this.items);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${count} ${what}, got ${this.items.length}`)),
        timeoutMs,
      );
      this.#waiters.push({
        count,
        resolve: () => {
          clearTimeout(timer);
          resolve(this.items);
        },
      });
    });
  }
}

/** Polls `check` until it returns a value other than undefined (bounded), for states nobody announces. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  { timeoutMs = 15_000, intervalMs = 25, what = 'a condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
