import { createHash, timingSafeEqual } from 'node:crypto';
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Histogram,
  Registry,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
} from 'prom-client';
import type { Pool } from './db.ts';
import { withTimeout } from './http/health.ts';
import type { Logger } from './logger.ts';

/*
 * Prometheus metrics of one service (docs/operations.md#metrics). Each service has a registry of its
 * own (several run in one process in tests), with prom-client's process metrics (event-loop delay, heap,
 * CPU, GC) and what kit measures for every service: HTTP latency by route, the pool, the bus. A service
 * adds its own through `counter`, `gauge`, `histogram`. Values that live in the database are read by a
 * gauge's `collect` at scrape time — a cheap query per scrape, never work on the hot path.
 */

/** The path every service serves its metrics at, protected by LLMOPS_METRICS_TOKEN. */
export const METRICS_PATH = '/metrics';

/** Latency buckets (seconds) of HTTP requests and provider calls: 5 ms to 2 minutes. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** The longest a scrape waits for a database-backed value; past it that series is left out of this scrape. */
const COLLECT_TIMEOUT_MS = 2_000;

export interface Metrics {
  readonly registry: Registry;
  readonly service: string;
  /** LLMOPS_METRICS_TOKEN: a scrape must send it as a bearer token; without one, /metrics is off. */
  readonly token: string | undefined;
  counter<L extends string>(config: Omit<CounterConfiguration<L>, 'registers'>): Counter<L>;
  gauge<L extends string>(config: Omit<GaugeConfiguration<L>, 'registers'>): Gauge<L>;
  histogram<L extends string>(config: Omit<HistogramConfiguration<L>, 'registers'>): Histogram<L>;
  /** Records one HTTP request: its route pattern (never the raw path), method, status and seconds to the response. */
  observeRequest(request: { method: string; route: string; status: number; seconds: number }): void;
  /**
   * A gauge read at scrape time: `read` gives the value of each label set, and a set it no longer gives
   * disappears. A read that fails or takes longer than 2 s leaves the series out of that scrape (logged).
   */
  collected<L extends string>(
    config: Omit<GaugeConfiguration<L>, 'registers' | 'collect'>,
    read: () => Promise<readonly { labels?: Partial<Record<L, string>>; value: number }[]>,
  ): Gauge<L>;
  /** The text exposition format, and its content type. */
  scrape(): Promise<{ body: string; contentType: string }>;
}

export interface MetricsOptions {
  service: string;
  /** The bearer token scrapes must send (LLMOPS_METRICS_TOKEN); none: /metrics answers 403. */
  token?: string | undefined;
  log?: Logger;
}

export function createMetrics({ service, token, log }: MetricsOptions): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  // Event-loop delay percentiles among them (nodejs_eventloop_lag_p99_seconds): sampled every 10 ms by perf_hooks.
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const http = new Histogram({
    name: 'llmops_http_request_duration_seconds',
    help: 'HTTP requests by route pattern, method and status: seconds until the response started (an event stream counts until its headers)',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const metrics: Metrics = {
    registry,
    service,
    token,
    counter: (config) => new Counter({ ...config, registers }),
    gauge: (config) => new Gauge({ ...config, registers }),
    histogram: (config) => new Histogram({ ...config, registers }),
    observeRequest({ method, route, status, seconds }) {
      http.observe({ method, route, status: String(status) }, seconds);
    },
    collected(config, read) {
      return new Gauge({
        ...config,
        registers,
        async collect() {
          const values = await withTimeout(read(), COLLECT_TIMEOUT_MS).catch((error: unknown) => {
            log?.warn(
              { err: error, metric: config.name },
              'could not read a metric at scrape time; it is left out of this scrape',
            );
            return undefined;
          });
          this.reset();
          for (const { labels, value } of values ?? []) {
            if (labels) this.set(labels, value);
            else this.set(value);
          }
        },
      });
    },
    async scrape() {
      return { body: await registry.metrics(), contentType: registry.contentType };
    },
  };
  return metrics;
}

/** Pool usage, read from the pool at scrape time: open, idle and max connections, and queries waiting for one. */
export function observePool(metrics: Metrics, pool: Pool): void {
  const read = (value: () => number) => async () => [{ value: value() }];
  metrics.collected(
    { name: 'llmops_db_pool_connections', help: 'Open connections of the service’s pool' },
    read(() => pool.totalCount),
  );
  metrics.collected(
    { name: 'llmops_db_pool_idle_connections', help: 'Open connections of the pool not in use' },
    read(() => pool.idleCount),
  );
  metrics.collected(
    { name: 'llmops_db_pool_waiting_clients', help: 'Queries and transactions waiting for a connection of the pool' },
    read(() => pool.waitingCount),
  );
  metrics.gauge({ name: 'llmops_db_pool_max_connections', help: 'The pool’s size (its most connections)' }).set(pool.options.max);
}

/**
 * True when `header` (an Authorization header) carries `Bearer <token>`. Compared in constant time over
 * hashes, so neither the token nor its length leaks through timing.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match) return false;
  const digest = (text: string) => createHash('sha256').update(text).digest();
  return timingSafeEqual(digest(match[1] as string), digest(token));
}
