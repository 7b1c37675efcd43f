import { publish } from '@llmops/kit/bus/index';
import { withTransaction, type Pool, type Queryable } from '@llmops/kit/db';
import type { GeneratedImage, Usage, WireRequest } from '@llmops/kit/adapters/types';
import { modelUsed } from '@llmops/kit/events/runner';
import { usdUnits } from '@llmops/kit/money';
import * as limits from '../db/provider-limits.ts';
import * as attempts from '../tasks/attempts.ts';
import { cancelled } from '../tasks/cancel.ts';
import * as cost from '../tasks/cost.ts';
import * as lifecycle from '../tasks/lifecycle.ts';
import * as store from '../tasks/store.ts';
import type { TaskError, TaskRow } from '../tasks/task.ts';

/** How an attempt ended, as the worker saw it. */
export type Outcome =
  | {
      kind: 'succeeded';
      text: string;
      finish_reason: string | null;
      provider_finish_reason: string | null;
      response_id: string | null;
      usage: Usage | null;
      images: GeneratedImage[];
    }
  | {
      kind: 'failed';
      error: TaskError;
      text: string;
      /** What the provider answered, when it answered in full but the reply failed the runner's check (invalid_output): it is paid for. */
      reply?: Pick<Extract<Outcome, { kind: 'succeeded' }>, 'finish_reason' | 'provider_finish_reason' | 'response_id' | 'usage'>;
    }
  | { kind: 'cancelled'; text: string }
  /** The process stops or lost the lease: the attempt is abandoned; another claim runs the task again. */
  | { kind: 'abandoned'; reason: string; text: string };

export interface AttemptRecord {
  outcome: Outcome;
  wire: WireRequest | null;
  provider_ms: number | null;
  latency_ms: number;
  time_to_first_token_ms: number | null;
  /**
   * Publish `runner.model.used`: the request reached the provider, and this process has not said so
   * for this model lately (the registry needs "used, and about when", not one event per call).
   */
  announce_use: boolean;
}

/** The error of an attempt that is abandoned: retryable, like any lost lease. */
function abandonment(message: string): TaskError {
  return { kind: 'lease_expired', message, retryable: true, status: null, retry_after_ms: null, provider_code: null };
}

/**
 * Records how an attempt ended, in one transaction: the attempt (always, even when the task is no
 * longer ours: every call is logged) with its cost, charged to the provider's month, and, when this
 * process still holds the task's lease, the task's next state and its event. Answers the task row
 * after it (null when the task is no longer this process's).
 */
export async function finishAttempt(
  pool: Pool,
  owner: string,
  claimed: lifecycle.ClaimedTask,
  record: AttemptRecord,
): Promise<TaskRow | null> {
  const { model, attempt } = claimed;
  const { outcome } = record;
  return withTransaction(pool, async (tx) => {
    // The task row first, locked: whether this process still holds it decides what the attempt was.
    const row = (await store.lock(tx, claimed.row.id)) as TaskRow;
    const ours = lifecycle.heldBy(row, owner, attempt.number);
    const { costUsd, providerMs, overheadMs } = await closeAttempt(tx, claimed, record, ours);
    // Only capped providers keep spend (their tasks hold a reservation); a lost task is charged anyway.
    if (row.reserved_provider_id !== null || !ours) await cost.charge(tx, model.provider_id, attempt.started_at, costUsd);
    if (record.announce_use)
      await publish(tx, modelUsed, {
        provider_id: model.provider_id,
        model_id: model.model_id,
        task_id: row.id,
        at: attempt.started_at.toISOString(),
      });

    if (!ours) {
      if (usdUnits(costUsd) > 0n) await store.addCost(tx, row.id, costUsd);
      return null;
    }
    // Stopping: give the task back now rather than after its lease expires, unless its cancel was asked
    // for (then it ends cancelled, below: back in the queue, another instance would run it again).
    if (outcome.kind === 'abandoned' && row.cancel_requested_at === null) {
      await lifecycle.giveBack(tx, row, costUsd);
      return null;
    }
    const current = await store.addAttempt(tx, row.id, {
      provider_ms: providerMs,
      overhead_ms: overheadMs,
      time_to_first_token_ms: record.time_to_first_token_ms,
      cost_usd: costUsd,
    });
    if (outcome.kind === 'succeeded') return lifecycle.succeed(tx, current, attempt.id, outcome);
    if (outcome.kind === 'cancelled' || outcome.kind === 'abandoned') return cancelled(tx, current, 'running');
    const next = await lifecycle.afterFailure(tx, current, outcome.error);
    if (outcome.error.kind === 'rate_limit' && outcome.error.retry_after_ms !== null)
      await limits.pauseFor(tx, model.provider_id, outcome.error.retry_after_ms);
    return next;
  });
}

/**
 * Closes the attempt's row with everything the call produced, and its cost at the price in force when
 * it started. An attempt whose task this process lost is `abandoned` whatever it got back, so a task
 * never has two successes. Answers its cost and its time, rounded as the row has them (so a task's
 * sums agree with its attempts).
 */
async function closeAttempt(
  tx: Queryable,
  { model, attempt }: lifecycle.ClaimedTask,
  record: AttemptRecord,
  ours: boolean,
): Promise<{ costUsd: string; providerMs: number; overheadMs: number }> {
  const { outcome } = record;
  const error = !ours
    ? abandonment('this process lost the task’s lease before the attempt ended; another claim runs the task')
    : outcome.kind === 'abandoned'
      ? abandonment(outcome.reason)
      : outcome.kind === 'failed'
        ? outcome.error
        : null;
  const succeeded = outcome.kind === 'succeeded' ? outcome : null;
  // A reply the provider gave in full, whether it met the task's checks or not: its usage is billed.
  const answered = succeeded ?? (outcome.kind === 'failed' ? (outcome.reply ?? null) : null);
  const price = (await cost.pricesInForce(tx, [model.model_id], attempt.started_at)).get(model.model_id) ?? null;
  const costUsd = cost.attemptCost(price, answered?.usage ?? null, succeeded?.images.length ?? 0);
  const providerMs = record.provider_ms === null ? null : Math.round(record.provider_ms);
  const latencyMs = Math.round(record.latency_ms);
  await attempts.close(tx, attempt.id, {
    status: ours ? outcome.kind : 'abandoned',
    wire: record.wire,
    response_text: outcome.text === '' && !succeeded ? null : outcome.text,
    finish_reason: answered?.finish_reason ?? null,
    provider_finish_reason: answered?.provider_finish_reason ?? null,
    response_id: answered?.response_id ?? null,
    usage: answered?.usage ?? null,
    error,
    provider_ms: providerMs,
    latency_ms: latencyMs,
    time_to_first_token_ms: record.time_to_first_token_ms,
    price,
    cost_usd: costUsd,
  });
  return { costUsd, providerMs: providerMs ?? 0, overheadMs: Math.max(0, latencyMs - (providerMs ?? 0)) };
}
