import { serve, type ServerType } from '@hono/node-server';
import { z } from 'zod';
import { configOrExit, httpUrl, loadConfig, logLevel, millis, poolSize, port, portBase, postgresUrl, secret } from './config.ts';
import { createBus, type Bus } from './bus/index.ts';
import { DEFAULT_BUS_CONFIG, type BusConfig } from './bus/config.ts';
import { createPool, DEFAULT_POOL_MAX, type Pool } from './db.ts';
import { createLogger, silenceLogger, type Logger } from './logger.ts';
import { createMetrics, observePool, type Metrics } from './metrics.ts';
import { observeBus } from './metrics-bus.ts';
import type { ServiceApp } from './http/app.ts';
import { answerClientError } from './http/client-error.ts';
import { SERVER_KEEP_ALIVE_MS } from './http/upstream.ts';
import type { ReadinessCheck } from './http/health.ts';
import { readSqlFiles, schemaStatus } from './schema.ts';
import type { IdempotencyTable } from './idempotency.ts';
import { deleteExpiredDeadLetters, deleteExpiredKeys, scheduleRetention, type RetentionJob } from './retention.ts';
import { DEFAULT_HOST, DEFAULT_PORT_BASE, PORT_OFFSETS, SERVICES, urlVariable, type ServiceName } from './services.ts';

/** How often every process runs retention (the outbox's included) unless LLMOPS_RETENTION_INTERVAL_MS says otherwise. */
export const DEFAULT_RETENTION_INTERVAL_MS = 10 * 60_000;

/** The environment every service reads (README lists it). Parsed once, at start. */
export const ServiceEnvSchema = z.object({
  DATABASE_URL: postgresUrl,
  /**
   * A direct connection to PostgreSQL when DATABASE_URL goes through a pooler in transaction mode: the
   * bus's LISTEN connection needs a session of its own (docs/operations.md). Unset: DATABASE_URL.
   */
  DATABASE_DIRECT_URL: postgresUrl.optional(),
  /** `off` behind a transaction-mode pooler that cannot keep prepared statements (PgBouncer before 1.21). */
  DATABASE_NAMED_STATEMENTS: z.enum(['on', 'off'], { message: 'expected on or off' }).default('on'),
  /** Each service's pool size (the runner's RUNNER_DB_POOL_MAX is checked against its connection budget by its own config). */
  REGISTRY_DB_POOL_MAX: poolSize.optional(),
  PROMPT_DB_POOL_MAX: poolSize.optional(),
  RUNNER_DB_POOL_MAX: poolSize.optional(),
  GATEWAY_DB_POOL_MAX: poolSize.optional(),
  WORKFLOW_DB_POOL_MAX: poolSize.optional(),
  LLMOPS_INTERNAL_SECRET: secret,
  LLMOPS_HOST: z.string().min(1).default(DEFAULT_HOST),
  LLMOPS_PORT_BASE: portBase.default(DEFAULT_PORT_BASE),
  /** Overrides the port this process binds (0 = any free port; tests use it). */
  PORT: port.optional(),
  LOG_LEVEL: logLevel,
  WEB_URL: httpUrl.optional(),
  GATEWAY_URL: httpUrl.optional(),
  REGISTRY_URL: httpUrl.optional(),
  PROMPT_URL: httpUrl.optional(),
  RUNNER_URL: httpUrl.optional(),
  WORKFLOW_URL: httpUrl.optional(),
  /** Event bus timings (docs/events.md); unset means the bus's defaults. */
  LLMOPS_BUS_SWEEP_MS: millis().optional(),
  LLMOPS_BUS_LEASE_MS: millis().optional(),
  LLMOPS_BUS_BACKOFF_BASE_MS: millis().optional(),
  LLMOPS_BUS_BACKOFF_MAX_MS: millis().optional(),
  LLMOPS_BUS_MAX_ATTEMPTS: z.coerce.number({ message: 'expected a whole number of attempts' }).int().min(1).max(100).optional(),
  /** The bearer token a Prometheus scrape of /metrics must send; unset, /metrics answers 403 (docs/operations.md#metrics). */
  LLMOPS_METRICS_TOKEN: secret.optional(),
  LLMOPS_BUS_RETENTION_HOURS: z.coerce
    .number({ message: 'expected a number of hours (0 turns retention off)' })
    .min(0)
    .optional(),
  /** Dead letters are removed (as a skip) this many hours after they died; 0 keeps them (docs/operations.md#retention). */
  LLMOPS_DEAD_LETTER_RETENTION_HOURS: z.coerce
    .number({ message: 'expected a number of hours (0 keeps dead letters)' })
    .min(0)
    .default(720),
  /** Idempotency keys are forgotten this many hours after their first use; 0 keeps them (docs/operations.md#retention). */
  LLMOPS_IDEMPOTENCY_RETENTION_HOURS: z.coerce
    .number({ message: 'expected a number of hours (0 keeps idempotency keys)' })
    .min(0)
    .default(168),
  /** How often each process runs retention, every kind of it (docs/operations.md#retention). */
  LLMOPS_RETENTION_INTERVAL_MS: millis()
    .min(1_000, 'expected at least 1000 milliseconds (retention runs every 10 minutes by default: 600000)')
    .default(DEFAULT_RETENTION_INTERVAL_MS),
});
export type ServiceEnv = z.output<typeof ServiceEnvSchema>;

export type Urls = Record<ServiceName | 'web', string>;

/** Where each part of the system is reached: `<SERVICE>_URL`, else host + base + offset (ADR 0008). */
export function resolveUrls(env: Pick<ServiceEnv, 'LLMOPS_HOST' | 'LLMOPS_PORT_BASE'> & Partial<Record<string, unknown>>): Urls {
  const entries = (['web', ...SERVICES] as const).map((name) => {
    const override = env[urlVariable(name)];
    const url =
      typeof override === 'string' ? override : `http://${env.LLMOPS_HOST}:${env.LLMOPS_PORT_BASE + PORT_OFFSETS[name]}`;
    return [name, url.replace(/\/$/, '')];
  });
  return Object.fromEntries(entries) as Urls;
}

/** The bus settings of the environment, over the bus's own defaults. */
export function busConfigFrom(env: ServiceEnv): Partial<BusConfig> {
  const config: Partial<BusConfig> = {};
  if (env.LLMOPS_BUS_SWEEP_MS !== undefined) config.sweepMs = env.LLMOPS_BUS_SWEEP_MS;
  if (env.LLMOPS_BUS_LEASE_MS !== undefined) config.leaseMs = env.LLMOPS_BUS_LEASE_MS;
  if (env.LLMOPS_BUS_BACKOFF_BASE_MS !== undefined) config.backoffBaseMs = env.LLMOPS_BUS_BACKOFF_BASE_MS;
  if (env.LLMOPS_BUS_BACKOFF_MAX_MS !== undefined) config.backoffMaxMs = env.LLMOPS_BUS_BACKOFF_MAX_MS;
  if (env.LLMOPS_BUS_MAX_ATTEMPTS !== undefined) config.maxAttempts = env.LLMOPS_BUS_MAX_ATTEMPTS;
  // The outbox's retention runs at the interval of every other kind; its age is the bus's unless set.
  const hours = env.LLMOPS_BUS_RETENTION_HOURS;
  const { retention } = DEFAULT_BUS_CONFIG;
  if (hours === 0 || !retention) config.retention = false;
  else
    config.retention = {
      maxAgeMs: hours === undefined ? retention.maxAgeMs : hours * 3_600_000,
      intervalMs: env.LLMOPS_RETENTION_INTERVAL_MS,
      batchSize: retention.batchSize,
    };
  if (config.sweepMs !== undefined) config.waiterTtlMs = Math.max(3_000, config.sweepMs * 3);
  return config;
}

/** Each service's idempotency keys (the gateway keeps none). */
const KEY_TABLES: Partial<Record<ServiceName, IdempotencyTable>> = {
  registry: 'registry.idempotency_keys',
  prompt: 'prompt.idempotency_keys',
  runner: 'runner.idempotency_keys',
  workflow: 'workflow.idempotency_keys',
};

/** The retention jobs every service runs: dead letters (bus-wide) and the service's own idempotency keys. */
export function retentionJobs(service: ServiceName, env: ServiceEnv, pool: Pool, log: Logger): RetentionJob[] {
  const jobs: RetentionJob[] = [];
  if (env.LLMOPS_DEAD_LETTER_RETENTION_HOURS > 0) {
    const maxAgeMs = env.LLMOPS_DEAD_LETTER_RETENTION_HOURS * 3_600_000;
    jobs.push({
      kind: 'dead_letters',
      run: () =>
        deleteExpiredDeadLetters(pool, {
          maxAgeMs,
          service,
          onRemoved: (removed) => {
            for (const letter of removed)
              log.warn({ ...letter }, 'retention removed a dead letter (as a skip): it was never handled');
          },
        }),
    });
  }
  const table = KEY_TABLES[service];
  if (table && env.LLMOPS_IDEMPOTENCY_RETENTION_HOURS > 0) {
    const maxAgeMs = env.LLMOPS_IDEMPOTENCY_RETENTION_HOURS * 3_600_000;
    jobs.push({ kind: 'idempotency_keys', run: () => deleteExpiredKeys(pool, table, { maxAgeMs }) });
  }
  return jobs;
}

/** What a service's composition root hands to its pieces. */
export interface ServiceContext {
  service: ServiceName;
  env: ServiceEnv;
  /** The environment as given, for a service's own settings (e.g. the registry's LLMOPS_MASTER_KEYS). */
  rawEnv: Readonly<Record<string, string | undefined>>;
  log: Logger;
  pool: Pool;
  /** The process's event bus: publish in your transactions, consume, broadcast (docs/events.md). */
  bus: Bus;
  urls: Urls;
  /** Readiness checks every service has (database, schema); a service adds its own (bus). */
  readiness: Record<string, ReadinessCheck>;
  /** The service's Prometheus metrics (pool, bus and process already in): give it to the app, add the service's own. */
  metrics: Metrics;
}

/** The variable that sizes a service's pool. */
export const poolMaxVariable = (service: ServiceName) =>
  `${service.toUpperCase() as Uppercase<ServiceName>}_DB_POOL_MAX` as const;

/**
 * A service's composition root. `poolMax`, when present, sizes the service's pool from its environment
 * (called before the pool is made; it may throw a ConfigError); otherwise `<SERVICE>_DB_POOL_MAX` does,
 * else the pool has DEFAULT_POOL_MAX (10) connections.
 */
export type ServiceBuild = ((ctx: ServiceContext) => ServiceParts | Promise<ServiceParts>) & {
  poolMax?: (rawEnv: Readonly<Record<string, string | undefined>>) => number;
};

/** What a service builds from its context: its app, and what starts and stops with it. */
export interface ServiceParts {
  app: ServiceApp;
  /** Started after the HTTP server listens (consumers, workers). */
  start?: () => Promise<void>;
  /** Stopped after the HTTP server stops taking requests, before the pool closes. */
  stop?: () => Promise<void>;
  /**
   * Called as shutdown begins, before the HTTP server closes: ends responses that never end by
   * themselves (event streams), which closing would otherwise wait out (5 s) before cutting them.
   */
  closing?: () => void;
}

export interface RunningService {
  service: ServiceName;
  url: string;
  port: number;
  /** Ordered, idempotent shutdown: HTTP, then the service's own parts, then the pool. */
  stop(reason?: string): Promise<void>;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  log?: Logger;
}

/** Starts one service: config, logger, pool, app, serve, then consumers. Used by main.ts and startStack. */
export async function runService(
  service: ServiceName,
  build: ServiceBuild,
  { env: rawEnv = process.env, log: givenLog }: RunOptions = {},
): Promise<RunningService> {
  const env = loadConfig(ServiceEnvSchema, rawEnv);
  const log = givenLog ?? createLogger({ service, level: env.LOG_LEVEL });
  const pool = createPool({
    connectionString: env.DATABASE_URL,
    applicationName: `llmops-${service}`,
    log,
    max: build.poolMax?.(rawEnv) ?? env[poolMaxVariable(service)] ?? DEFAULT_POOL_MAX,
    namedStatements: env.DATABASE_NAMED_STATEMENTS === 'on',
  });
  const metrics = createMetrics({ service, token: env.LLMOPS_METRICS_TOKEN, log });
  observePool(metrics, pool);
  const urls = resolveUrls({ ...rawEnv, ...env });
  const files = readSqlFiles();
  const readiness: Record<string, ReadinessCheck> = {
    database: async () => {
      await pool.query('SELECT 1');
      return { ok: true };
    },
    schema: async () => {
      const status = await schemaStatus(pool, files);
      if (status.current) return { ok: true };
      const detail = [
        status.pending.length ? `not applied: ${status.pending.join(', ')}` : '',
        status.unknown.length ? `unknown to this code: ${status.unknown.join(', ')}` : '',
      ]
        .filter(Boolean)
        .join('; ');
      return { ok: false, detail };
    },
  };
  // LISTEN holds a session: never through a transaction-mode pooler.
  const listenUrl = env.DATABASE_DIRECT_URL ?? env.DATABASE_URL;
  const bus = createBus({ pool, listenUrl, log, service, config: busConfigFrom(env) });
  readiness.bus = async () => {
    const status = bus.status();
    return status.listening ? { ok: true } : { ok: false, detail: 'the LISTEN connection is down; reconnecting' };
  };
  observeBus(metrics, bus, pool);
  const parts = await build({ service, env, rawEnv, log, pool, bus, urls, readiness, metrics });
  const own = new URL(urls[service]);
  const listenPort = env.PORT ?? Number(own.port);
  const server = await listen(parts.app, env.LLMOPS_HOST, listenPort);
  const address = server.address();
  const boundPort = typeof address === 'object' && address ? address.port : listenPort;
  const url = `http://${env.LLMOPS_HOST}:${boundPort}`;
  log.info({ url, port: boundPort }, 'listening');
  const retention = scheduleRetention({
    jobs: retentionJobs(service, env, pool, log.child({ component: 'retention' })),
    intervalMs: env.LLMOPS_RETENTION_INTERVAL_MS,
    log: log.child({ component: 'retention' }),
    metrics,
  });
  try {
    await bus.start();
    await parts.start?.();
  } catch (error) {
    await retention.stop();
    await closeServer(server);
    await bus.stop();
    await pool.end();
    throw error;
  }
  log.info({ url, port: boundPort }, 'started');

  let stopping: Promise<void> | undefined;
  const stop = (reason = 'stop requested') => {
    stopping ??= (async () => {
      log.info({ reason }, 'shutting down: closing HTTP');
      parts.closing?.();
      await closeServer(server);
      log.info('shutting down: stopping consumers and workers');
      await parts.stop?.();
      await retention.stop();
      // The bus waits for running handlers; a handler that hangs must not hold the shutdown forever.
      await boundedBy(bus.stop(), BUS_STOP_TIMEOUT_MS, () =>
        log.warn({ timeoutMs: BUS_STOP_TIMEOUT_MS }, 'the bus did not stop in time; closing anyway'),
      );
      log.info('shutting down: closing database pool');
      await pool.end();
      log.info('stopped');
    })();
    return stopping;
  };
  return { service, url, port: boundPort, stop };
}

const BUS_STOP_TIMEOUT_MS = 10_000;
const SHUTDOWN_TIMEOUT_MS = 20_000;

function boundedBy(promise: Promise<void>, ms: number, onTimeout: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      resolve();
    }, ms);
    promise.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

function listen(app: ServiceApp, hostname: string, port: number): Promise<ServerType> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname, port }, () => resolve(server));
    server.on('clientError', answerClientError);
    // Set, not left to Node's default: our clients' idle time is kept below it (http/upstream.ts).
    if ('keepAliveTimeout' in server) server.keepAliveTimeout = SERVER_KEEP_ALIVE_MS;
    server.once('error', (error: NodeJS.ErrnoException) => {
      reject(
        error.code === 'EADDRINUSE'
          ? new Error(
              `port ${port} on ${hostname} is already in use; stop what uses it or set LLMOPS_PORT_BASE (or PORT) to another value`,
            )
          : error,
      );
    });
  });
}

function closeServer(server: ServerType): Promise<void> {
  return new Promise((resolve) => {
    // Idle keep-alive sockets would hold close() open; active requests finish first, and their
    // connections, idle from then on, are closed as they become so (close() closes only those idle now).
    const closeIdle = () => {
      if ('closeIdleConnections' in server) server.closeIdleConnections();
    };
    closeIdle();
    const idle = setInterval(closeIdle, 100);
    const cut = setTimeout(() => {
      if ('closeAllConnections' in server) server.closeAllConnections();
    }, 5_000);
    server.close(() => {
      clearInterval(idle);
      clearTimeout(cut);
      resolve();
    });
    idle.unref();
    cut.unref();
  });
}

/**
 * The entry of a service process: runs it, and stops it in order on SIGINT/SIGTERM (once; a second
 * signal forces the exit). Configuration errors exit at once with the variable named.
 */
export async function runMain(service: ServiceName, build: ServiceBuild): Promise<void> {
  const env = configOrExit(() => loadConfig(ServiceEnvSchema));
  const log = createLogger({ service, level: env.LOG_LEVEL });
  // Signals are handled from the first moment: one that arrives during start-up stops the service as
  // soon as it has started, in order, instead of killing it half-way.
  const starting = runService(service, build, { log });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    // A shutdown that cannot finish (its database is gone for good) must not leave the process behind.
    setTimeout(() => {
      log.error({ timeoutMs: SHUTDOWN_TIMEOUT_MS }, 'shutdown did not finish in time; exiting');
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS).unref();
    starting
      .then((running) => running.stop(signal))
      .then(
        () => process.exit(0),
        (error: unknown) => {
          log.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  await starting.catch((error: unknown) => {
    log.fatal({ err: error }, 'could not start');
    process.exit(1);
  });
  // Started by the supervisor: when it is gone (even by kill -9), stop too rather than linger as an orphan.
  // Its pipes went with it, so this process's log lines have no reader any more.
  if (process.send)
    process.on('disconnect', () => {
      silenceLogger(log);
      onSignal('SIGTERM');
    });
}
