import { envelope, publishMany, type Envelope } from '@llmops/kit/bus/index';
import { withTransaction, type Pool, type Queryable } from '@llmops/kit/db';
import type { GeneratedImage, Usage, WireRequest } from '@llmops/kit/adapters/types';
import { modelUsed, taskCancelled, taskFailed, taskRetrying, taskSucceeded } from '@llmops/kit/events/runner';
import { uuidv7 } from '@llmops/kit/ids';
import type { ChainModel, TaskError, TaskRow } from '../tasks/task.ts';
import type { ClaimedTask } from './claim.ts';
import { charge, releaseReservation } from './spend.ts';

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
  | { kind: 'failed'; error: TaskError; text: string }
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
 * Closes the attempt row with everything the call produced and its cost: the price in force when the
 * attempt started, from the runner's own price history; input tokens include cached ones, which cost
 * the cached price when the model has one.
 */
const CLOSE_ATTEMPT = `
  UPDATE runner.attempts a SET status = $2, wire = $3, response_text = $4, finish_reason = $5, provider_finish_reason = $6,
    response_id = $7, usage = $8, error = $9, provider_ms = $10, latency_ms = $11,
    overhead_ms = greatest(0, $11 - coalesce($10, 0)), time_to_first_token_ms = $12,
    ended_at = coalesce(a.ended_at, now()),
    price = pr.price,
    cost_usd = coalesce(round(
      ((coalesce(($8::jsonb ->> 'input_tokens')::numeric, 0) - coalesce(($8::jsonb ->> 'cached_input_tokens')::numeric, 0))
          * (pr.price ->> 'input_per_mtok')::numeric
        + coalesce(($8::jsonb ->> 'cached_input_tokens')::numeric, 0)
          * coalesce((pr.price ->> 'cached_input_per_mtok')::numeric, (pr.price ->> 'input_per_mtok')::numeric)
        + coalesce(($8::jsonb ->> 'output_tokens')::numeric, 0) * (pr.price ->> 'output_per_mtok')::numeric) / 1000000
      + $13::int * coalesce((pr.price ->> 'per_image')::numeric, 0), 6), 0)
  FROM (SELECT (SELECT to_jsonb(p) FROM (
          SELECT input_per_mtok::text, output_per_mtok::text, cached_input_per_mtok::text, per_image::text, effective_from
          FROM runner.model_prices WHERE model_id = $14 AND effective_from <= $15::timestamptz
          ORDER BY effective_from DESC LIMIT 1) p) AS price) pr
  WHERE a.id = $1
  RETURNING a.cost_usd::text AS cost_usd`;

function taskFields(row: TaskRow, model: ChainModel | null, attempt: number) {
  return {
    task_id: row.id,
    group_id: row.group_id,
    correlation: row.correlation,
    model_id: model?.model_id ?? row.model_id,
    provider_id: model?.provider_id ?? row.provider_id,
    attempt,
    at: new Date().toISOString(),
  };
}

/** Backoff before the next attempt on the same model: exponential, "equal jitter", never before Retry-After. */
export function backoffMs(
  policy: TaskRow['snapshot']['retry_policy'],
  attemptsOnModel: number,
  retryAfterMs: number | null,
): number {
  const exponential = Math.min(
    policy.max_backoff_ms,
    policy.initial_backoff_ms * policy.backoff_multiplier ** Math.max(0, attemptsOnModel - 1),
  );
  const jittered = exponential / 2 + Math.random() * (exponential / 2);
  return Math.round(Math.max(jittered, retryAfterMs ?? 0));
}

export interface Decision {
  events: Envelope[];
  row: TaskRow;
}

/**
 * What happens to a task after a failed or abandoned attempt (the task row locked by the caller): back
 * to the queue with backoff while attempts on this model remain and the error is retryable; else the
 * next model of its fallback list; else failed with the last error. A cancel request wins over all.
 */
export async function afterFailure(tx: Queryable, row: TaskRow, error: TaskError, extra: { costUsd: string }): Promise<Decision> {
  const snapshot = row.snapshot;
  const attempt = row.attempts;
  if (row.cancel_requested_at) return cancelled(tx, row, 'running');
  await releaseReservation(tx, row);
  if (error.retryable && row.model_attempts < snapshot.retry_policy.max_attempts) {
    const delay = backoffMs(snapshot.retry_policy, row.model_attempts, error.retry_after_ms);
    const { rows } = await tx.query<TaskRow>(
      `UPDATE runner.tasks SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, error = $2,
         run_after = now() + make_interval(secs => $3::float8 / 1000), updated_at = now()
       WHERE id = $1 RETURNING *`,
      [row.id, JSON.stringify(error), delay],
    );
    const next = rows[0] as TaskRow;
    return {
      row: next,
      events: [
        envelope(taskRetrying, {
          ...taskFields(next, null, attempt),
          error,
          run_after: next.run_after.toISOString(),
          fallback: false,
        }),
      ],
    };
  }
  const nextModel = snapshot.chain[row.model_index + 1];
  if (nextModel) {
    const { rows } = await tx.query<TaskRow>(
      `UPDATE runner.tasks SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, error = $2,
         model_index = model_index + 1, model_attempts = 0, model_id = $3, provider_id = $4, run_after = now(), updated_at = now()
       WHERE id = $1 RETURNING *`,
      [row.id, JSON.stringify(error), nextModel.model_id, nextModel.provider_id],
    );
    const next = rows[0] as TaskRow;
    return {
      row: next,
      events: [
        envelope(taskRetrying, {
          ...taskFields(next, nextModel, attempt),
          error,
          run_after: next.run_after.toISOString(),
          fallback: true,
        }),
      ],
    };
  }
  const { rows } = await tx.query<TaskRow>(
    `UPDATE runner.tasks SET status = 'failed', lease_owner = NULL, lease_expires_at = NULL, error = $2,
       finished_at = now(), updated_at = now()
     WHERE id = $1 RETURNING *`,
    [row.id, JSON.stringify(error)],
  );
  const failed = rows[0] as TaskRow;
  return {
    row: failed,
    events: [envelope(taskFailed, { ...taskFields(failed, null, attempt), error, cost_usd: extra.costUsd })],
  };
}

async function cancelled(tx: Queryable, row: TaskRow, was: 'queued' | 'running'): Promise<Decision> {
  await releaseReservation(tx, row);
  const { rows } = await tx.query<TaskRow>(
    `UPDATE runner.tasks SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL, finished_at = now(), updated_at = now()
     WHERE id = $1 RETURNING *`,
    [row.id],
  );
  const done = rows[0] as TaskRow;
  return { row: done, events: [envelope(taskCancelled, { ...taskFields(done, null, done.attempts), was })] };
}

/**
 * Records how an attempt ended, in one transaction: the attempt (always, even when the task is no
 * longer ours: every call is logged), its cost charged to the provider's month, and, when this process
 * still holds the task's lease, the task's next state and its events. Answers the task row after it.
 */
export async function finishAttempt(
  pool: Pool,
  owner: string,
  claimed: ClaimedTask,
  record: AttemptRecord,
): Promise<TaskRow | null> {
  const { row: claimedRow, model, attempt } = claimed;
  const { outcome } = record;
  return withTransaction(pool, async (tx) => {
    // The task row first, locked: whether this process still holds it decides what the attempt was.
    const { rows } = await tx.query<TaskRow>('SELECT * FROM runner.tasks WHERE id = $1 FOR UPDATE', [claimedRow.id]);
    const row = rows[0] as TaskRow;
    // Fenced by the lease: a process that lost it (another claimed the task since) changes nothing else,
    // and its attempt is `abandoned` whatever it got back, so a task never has two successes.
    const ours = row.status === 'running' && row.lease_owner === owner && row.attempts === attempt.number;
    const abandonedBecause = !ours
      ? 'this process lost the task’s lease before the attempt ended; another claim runs the task'
      : outcome.kind === 'abandoned'
        ? outcome.reason
        : null;
    const error: TaskError | null =
      abandonedBecause !== null
        ? {
            kind: 'lease_expired',
            message: abandonedBecause,
            retryable: true,
            status: null,
            retry_after_ms: null,
            provider_code: null,
          }
        : outcome.kind === 'failed'
          ? outcome.error
          : null;
    const usage = outcome.kind === 'succeeded' ? outcome.usage : null;
    const images = outcome.kind === 'succeeded' ? outcome.images.length : 0;
    const { rows: closed } = await tx.query<{ cost_usd: string }>({
      name: 'runner.finish.attempt',
      text: CLOSE_ATTEMPT,
      values: [
        attempt.id,
        ours ? outcome.kind : 'abandoned',
        record.wire === null ? null : JSON.stringify(record.wire),
        outcome.text === '' && outcome.kind !== 'succeeded' ? null : outcome.text,
        outcome.kind === 'succeeded' ? outcome.finish_reason : null,
        outcome.kind === 'succeeded' ? outcome.provider_finish_reason : null,
        outcome.kind === 'succeeded' ? outcome.response_id : null,
        usage === null ? null : JSON.stringify(usage),
        error === null ? null : JSON.stringify(error),
        record.provider_ms === null ? null : Math.round(record.provider_ms),
        Math.round(record.latency_ms),
        record.time_to_first_token_ms,
        images,
        model.model_id,
        attempt.started_at,
      ],
    });
    const cost = closed[0]?.cost_usd ?? '0';
    // Only capped providers keep spend (their tasks hold a reservation); a lost task is charged anyway.
    if (row.reserved_provider_id !== null || !ours) await charge(tx, model.provider_id, attempt.started_at, cost);

    const events: Envelope[] = [];
    if (record.announce_use)
      events.push(
        envelope(modelUsed, {
          provider_id: model.provider_id,
          model_id: model.model_id,
          task_id: row.id,
          at: attempt.started_at.toISOString(),
        }),
      );
    if (!ours || outcome.kind === 'abandoned') {
      if (ours) {
        // Stopping: give the task back now rather than after its lease expires.
        const { rows: back } = await tx.query<TaskRow>(
          `UPDATE runner.tasks SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, run_after = now(),
             model_attempts = greatest(0, model_attempts - 1),
             cost_usd = cost_usd + $2::numeric, updated_at = now()
           WHERE id = $1 RETURNING *`,
          [row.id, cost],
        );
        await releaseReservation(tx, back[0] as TaskRow);
      } else if (Number(cost) > 0) {
        await tx.query('UPDATE runner.tasks SET cost_usd = cost_usd + $2::numeric WHERE id = $1', [row.id, cost]);
      }
      await publishMany(tx, events);
      return null;
    }

    const timing = [
      row.id,
      record.provider_ms === null ? 0 : Math.round(record.provider_ms),
      // The same rounding as the attempt's own overhead, so the task's sum agrees with its attempts.
      Math.max(0, Math.round(record.latency_ms) - (record.provider_ms === null ? 0 : Math.round(record.provider_ms))),
      record.time_to_first_token_ms,
      cost,
    ];
    await tx.query(
      `UPDATE runner.tasks SET provider_ms = provider_ms + $2, overhead_ms = overhead_ms + $3,
         time_to_first_token_ms = coalesce($4, time_to_first_token_ms), cost_usd = cost_usd + $5::numeric
       WHERE id = $1`,
      timing,
    );
    let decision: Decision;
    if (outcome.kind === 'succeeded') {
      await releaseReservation(tx, row);
      const { rows: done } = await tx.query<TaskRow>(
        `UPDATE runner.tasks SET status = 'succeeded', lease_owner = NULL, lease_expires_at = NULL, output_text = $2,
           finish_reason = $3, usage = $4, error = NULL, finished_at = now(), updated_at = now()
         WHERE id = $1 RETURNING *`,
        [row.id, outcome.text, outcome.finish_reason, usage === null ? null : JSON.stringify(usage)],
      );
      const succeeded = done[0] as TaskRow;
      for (const [index, image] of outcome.images.entries()) {
        await tx.query(
          `INSERT INTO runner.images (id, task_id, attempt_id, index, content_type, size_bytes, revised_prompt, data)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
          [uuidv7(), row.id, attempt.id, index, image.mime_type, image.data.length, image.revised_prompt, image.data],
        );
      }
      decision = {
        row: succeeded,
        events: [
          envelope(taskSucceeded, {
            ...taskFields(succeeded, model, attempt.number),
            output_chars: outcome.text.length,
            finish_reason: outcome.finish_reason,
            usage: usage ?? { input_tokens: 0, output_tokens: 0, cached_input_tokens: 0 },
            cost_usd: succeeded.cost_usd,
            images: outcome.images.length,
          }),
        ],
      };
    } else if (outcome.kind === 'cancelled') {
      decision = await cancelled(tx, row, 'running');
    } else {
      const current = { ...row, cost_usd: String(Number(row.cost_usd) + Number(cost)) };
      decision = await afterFailure(tx, current, outcome.error, { costUsd: current.cost_usd });
      // A provider that said when to come back is not asked again before then, by any task.
      if (outcome.error.kind === 'rate_limit' && outcome.error.retry_after_ms !== null)
        await tx.query(
          `UPDATE runner.providers SET paused_until = greatest(coalesce(paused_until, now()), now() + make_interval(secs => $2::float8 / 1000))
           WHERE id = $1`,
          [model.provider_id, outcome.error.retry_after_ms],
        );
    }
    await publishMany(tx, [...events, ...decision.events]);
    return decision.row;
  });
}
