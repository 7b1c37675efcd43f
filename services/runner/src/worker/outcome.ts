import { publishMany, type Envelope } from '@llmops/kit/bus/index';
import { envelope } from '@llmops/kit/bus/publish';
import { withTransaction, type Pool } from '@llmops/kit/db';
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

/**
 * What recording an attempt settled: its cost, and its task's state after it (`lost`: another claim
 * holds the task now, so this attempt moved nothing).
 */
export interface AttemptEnd {
  costUsd: string;
  task: TaskRow['status'] | 'lost';
}

/** The error of an attempt that is abandoned: retryable, like any lost lease. */
function abandonment(message: string): TaskError {
  return { kind: 'lease_expired', message, retryable: true, status: null, retry_after_ms: null, provider_code: null };
}

/**
 * Records how an attempt ended, in one locked transaction: the attempt (always, even when the task is
 * no longer ours: every call is logged) with its cost, charged to the provider's month where the
 * provider has a cap, and, when this process still holds the task's lease, the task's next state and
 * its event. The common cases go through `Endings` (endings.ts), one statement for the attempts that
 * end together; this is for the rest — images, a reservation, a lost lease, a cancel that came
 * meanwhile. `price` is the price in force when the attempt started, when the caller read it already.
 */
export async function finishAttempt(
  pool: Pool,
  owner: string,
  claimed: lifecycle.ClaimedTask,
  record: AttemptRecord,
  price?: cost.Price | null,
): Promise<AttemptEnd> {
  const { model, attempt } = claimed;
  const { outcome } = record;
  if (price === undefined)
    price = (await cost.pricesInForce(pool, [model.model_id], attempt.started_at)).get(model.model_id) ?? null;
  return withTransaction(pool, async (tx): Promise<AttemptEnd> => {
    // The task row first, locked: whether this process still holds it decides what the attempt was.
    const row = (await store.lock(tx, claimed.row.id)) as TaskRow;
    const ours = lifecycle.heldBy(row, owner, attempt.number);
    const closing = attemptClosing(record, ours, price);
    await attempts.close(tx, attempt.id, closing.closed);
    const { costUsd, providerMs, overheadMs } = closing;
    // Only capped providers keep spend (their tasks hold a reservation); a lost task is charged anyway.
    if (row.reserved_provider_id !== null || !ours) await cost.charge(tx, model.provider_id, attempt.started_at, costUsd);
    if (record.announce_use) await publishMany(tx, [usedEvent(claimed)]);

    if (!ours) {
      if (usdUnits(costUsd) > 0n) await store.addCost(tx, row.id, costUsd);
      return { costUsd, task: 'lost' };
    }
    // Stopping: give the task back now rather than after its lease expires, unless its cancel was asked
    // for (then it ends cancelled, below: back in the queue, another instance would run it again).
    if (outcome.kind === 'abandoned' && row.cancel_requested_at === null) {
      const back = await lifecycle.giveBack(tx, row, costUsd);
      return { costUsd, task: back.status };
    }
    const current = await store.addAttempt(tx, row.id, {
      provider_ms: providerMs,
      overhead_ms: overheadMs,
      time_to_first_token_ms: record.time_to_first_token_ms,
      cost_usd: costUsd,
    });
    if (outcome.kind === 'succeeded') {
      const done = await lifecycle.succeed(tx, current, attempt.id, outcome);
      return { costUsd, task: done.status };
    }
    if (outcome.kind === 'cancelled' || outcome.kind === 'abandoned') {
      const done = await cancelled(tx, current, 'running');
      return { costUsd, task: done.status };
    }
    const next = await lifecycle.afterFailure(tx, current, outcome.error);
    if (outcome.error.kind === 'rate_limit' && outcome.error.retry_after_ms !== null)
      await limits.pauseFor(tx, model.provider_id, outcome.error.retry_after_ms);
    return { costUsd, task: next.status };
  });
}

export function usedEvent({ model, attempt, row }: lifecycle.ClaimedTask): Envelope {
  return envelope(modelUsed, {
    provider_id: model.provider_id,
    model_id: model.model_id,
    task_id: row.id,
    at: attempt.started_at.toISOString(),
  });
}

/**
 * How the attempt's row is closed, with everything the call produced, and its cost at the price in force
 * when it started. An attempt whose task this process lost is `abandoned` whatever it got back, so a task
 * never has two successes. Answers its cost and its time, rounded as the row has them (so a task's sums
 * agree with its attempts).
 */
export function attemptClosing(
  record: AttemptRecord,
  ours: boolean,
  price: cost.Price | null,
): { closed: attempts.ClosedAttempt; costUsd: string; providerMs: number; overheadMs: number } {
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
  const costUsd = cost.attemptCost(price, answered?.usage ?? null, succeeded?.images.length ?? 0);
  const providerMs = record.provider_ms === null ? null : Math.round(record.provider_ms);
  const latencyMs = Math.round(record.latency_ms);
  return {
    closed: {
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
    },
    costUsd,
    providerMs: providerMs ?? 0,
    overheadMs: Math.max(0, latencyMs - (providerMs ?? 0)),
  };
}
