import { z } from 'zod';
import { configErrorOf, loadConfig, millis, poolSize } from '@llmops/kit/config';

/**
 * The runner's own settings, on top of every service's (kit/runtime). Leases, heartbeats and rate
 * windows are configuration so tests can make them short (ADR 0014); the defaults suit production.
 * The retry backoff is not a setting: it is each task's retry policy, from its preset, frozen in the
 * task at creation (tasks/backoff.ts). Every duration is measured by PostgreSQL's clock, never a
 * worker's (ADR 0013).
 */
export const RunnerEnvSchema = z.object({
  /** Tasks one runner process runs at once (each is mostly waiting on a provider). */
  RUNNER_CONCURRENCY: z.coerce.number().int().min(1).max(10_000).default(64),
  /**
   * Connections of the runner's own pool (default the smaller of RUNNER_CONCURRENCY and 16): finishes are
   * batched and claims are one transaction, so running tasks need far fewer connections than there are tasks.
   */
  RUNNER_DB_POOL_MAX: poolSize.optional(),
  /**
   * The most connections one runner process may open: its pool plus the bus's LISTEN connection. Start-up
   * refuses a pool that does not fit; size it so that every process of every service fits PostgreSQL's
   * max_connections.
   */
  RUNNER_DB_CONNECTION_BUDGET: z.coerce
    .number({ message: 'expected a whole number of connections' })
    .int()
    .min(2)
    .max(10_000)
    .default(32),
  /** Tasks claimed per claim statement. */
  RUNNER_CLAIM_BATCH: z.coerce.number().int().min(1).max(500).default(32),
  /** How long a claim holds a task; a process that stops extending it loses the task to another. */
  RUNNER_LEASE_MS: millis().default(30_000),
  /** How often a process extends the leases of its running tasks (default a third of the lease). */
  RUNNER_HEARTBEAT_MS: millis().optional(),
  /** Queued tasks are also looked for this often, whatever the bus says (a slow safety net). */
  RUNNER_POLL_MS: millis().default(2_000),
  /** The requests-per-minute window of providers' rpm limits (60 s; shorter only in tests). */
  RUNNER_RATE_WINDOW_MS: millis().default(60_000),
  /** How long a fetched provider key is kept in memory at most (dropped earlier on registry events). */
  RUNNER_KEY_TTL_MS: millis().default(300_000),
  /** On stop, how long running attempts may still finish before the rest are aborted and handed back. */
  RUNNER_STOP_DRAIN_MS: z.coerce.number({ message: 'expected a number of milliseconds' }).int().min(0).default(5_000),
  /**
   * How long the usage rollup's consumer gathers ended tasks before it adds them to their buckets (one
   * statement per gathering, not per task; the rollup reads tasks not added yet itself, so it stays exact).
   */
  RUNNER_USAGE_GATHER_MS: z.coerce
    .number({ message: 'expected a number of milliseconds' })
    .int()
    .min(0)
    .max(60_000)
    .default(1_000),
  /** Output tokens assumed for a spend-cap reservation when neither the task nor the model sets a maximum. */
  RUNNER_DEFAULT_MAX_OUTPUT_TOKENS: z.coerce.number().int().min(1).max(1_000_000).default(4_096),
  /**
   * Opt-in, unset by default: remove attempts' wire bodies and response texts this many days after they
   * ended, except for tasks a workflow revision or suggestion refers to. A waiver of the rule that every
   * call is kept exactly (docs/operations.md#retention).
   */
  RUNNER_ATTEMPT_PAYLOAD_RETENTION_DAYS: z.coerce
    .number({ message: 'expected a number of days (unset keeps every payload)' })
    .min(1, { message: 'expected at least 1 day (unset keeps every payload)' })
    .optional(),
});

export type RunnerEnv = z.output<typeof RunnerEnvSchema>;

export interface RunnerConfig {
  concurrency: number;
  /** Connections of the runner's pool. */
  poolMax: number;
  claimBatch: number;
  leaseMs: number;
  heartbeatMs: number;
  pollMs: number;
  rateWindowMs: number;
  keyTtlMs: number;
  defaultMaxOutputTokens: number;
  stopDrainMs: number;
  /** The usage rollup consumer's gathering time (RUNNER_USAGE_GATHER_MS). */
  usageGatherMs: number;
  /** Attempt payload retention (milliseconds after an attempt ended); undefined keeps every payload. */
  payloadRetentionMs: number | undefined;
}

/** Connections a runner process opens besides its pool: the bus's one LISTEN connection. */
const OTHER_CONNECTIONS = 1;

export function runnerConfig(rawEnv: Readonly<Record<string, string | undefined>>): RunnerConfig {
  const env = loadConfig(RunnerEnvSchema, { ...rawEnv });
  const poolMax = env.RUNNER_DB_POOL_MAX ?? Math.min(env.RUNNER_CONCURRENCY, 16);
  if (poolMax + OTHER_CONNECTIONS > env.RUNNER_DB_CONNECTION_BUDGET) {
    const given =
      env.RUNNER_DB_POOL_MAX === undefined ? `its default, min(RUNNER_CONCURRENCY, 16) = ${poolMax}` : String(poolMax);
    throw configErrorOf([
      `RUNNER_DB_POOL_MAX: a pool of ${given} connections plus the bus's LISTEN connection exceeds ` +
        `RUNNER_DB_CONNECTION_BUDGET (${env.RUNNER_DB_CONNECTION_BUDGET}); set RUNNER_DB_POOL_MAX to at most ` +
        `${env.RUNNER_DB_CONNECTION_BUDGET - OTHER_CONNECTIONS}, or raise the budget if PostgreSQL's max_connections allows it`,
    ]);
  }
  return {
    concurrency: env.RUNNER_CONCURRENCY,
    poolMax,
    claimBatch: env.RUNNER_CLAIM_BATCH,
    leaseMs: env.RUNNER_LEASE_MS,
    heartbeatMs: env.RUNNER_HEARTBEAT_MS ?? Math.max(50, Math.floor(env.RUNNER_LEASE_MS / 3)),
    pollMs: env.RUNNER_POLL_MS,
    rateWindowMs: env.RUNNER_RATE_WINDOW_MS,
    keyTtlMs: env.RUNNER_KEY_TTL_MS,
    defaultMaxOutputTokens: env.RUNNER_DEFAULT_MAX_OUTPUT_TOKENS,
    stopDrainMs: env.RUNNER_STOP_DRAIN_MS,
    usageGatherMs: env.RUNNER_USAGE_GATHER_MS,
    payloadRetentionMs:
      env.RUNNER_ATTEMPT_PAYLOAD_RETENTION_DAYS === undefined
        ? undefined
        : env.RUNNER_ATTEMPT_PAYLOAD_RETENTION_DAYS * 86_400_000,
  };
}
