import { doorbellColumns, outboxInsert, ringing, type Envelope } from '@llmops/kit/bus/publish';
import type { Pool } from '@llmops/kit/db';
import type { Logger } from '@llmops/kit/logger';
import { carriedOutput, taskCancelled, taskFailed, taskRetrying, taskSucceeded } from '@llmops/kit/events/runner';
import { usdText, usdUnits } from '@llmops/kit/money';
import { storedWire } from '../tasks/attempts.ts';
import * as cost from '../tasks/cost.ts';
import { taskEvent } from '../tasks/events.ts';
import * as lifecycle from '../tasks/lifecycle.ts';
import type { TaskError, TaskRow } from '../tasks/task.ts';
import { attemptClosing, finishAttempt, usedEvent, type AttemptEnd, type AttemptRecord } from './outcome.ts';

/*
 * Attempts that end together are recorded together: one statement in autocommit (data-modifying CTEs)
 * closes every attempt, moves each task to its next state with its totals, pauses a provider that
 * answered 429 with Retry-After, and inserts the events — one commit and at most one doorbell for
 * all of them, and no row lock held across round trips. While one such statement runs, the attempts
 * that end meanwhile gather for the next (graphile-worker batches its completions the same way).
 *
 * It covers the attempts whose task is still as the claim left it for this process — running under its
 * lease and attempt, no spend reserved (so nothing to charge or release: only capped providers keep
 * spend), no cancel asked (unless the attempt was cancelled), the same cost so far — which is the
 * common case of every outcome. Anything else (images to store, a reservation, a lost lease, a cancel
 * that arrived meanwhile, a statement that failed) goes through `finishAttempt`'s locked transaction.
 */

/** The most attempts one statement records. */
const MAX_BATCH = 200;

/** One attempt's ending as the statement takes it (a row of its jsonb input). */
interface Ending {
  task_id: string;
  attempt_id: string;
  attempt: number;
  cost_before: string;
  /** Also when a cancel was asked (the attempt was cancelled). */
  any_cancel: boolean;
  a_status: string;
  wire: unknown;
  response_text: string | null;
  a_finish_reason: string | null;
  provider_finish_reason: string | null;
  response_id: string | null;
  a_usage: unknown;
  a_error: TaskError | null;
  a_provider_ms: number | null;
  latency_ms: number;
  ttft: number | null;
  price: cost.Price | null;
  cost_usd: string;
  /** The task's next state. */
  status: 'succeeded' | 'queued' | 'failed' | 'cancelled';
  output_text: string | null;
  finish_reason: string | null;
  usage: unknown;
  error: TaskError | null;
  /** queued: due after this many milliseconds. */
  delay_ms: number;
  next_model_id: string | null;
  next_provider_id: string | null;
  model_attempts: 'keep' | 'reset' | 'give_back';
  provider_ms: number;
  overhead_ms: number;
  /** The task's time to first token: the attempt's, unless the attempt is given back uncounted. */
  task_ttft: number | null;
  pause_ms: number | null;
  pause_provider_id: string | null;
}

/**
 * The ending of an attempt whose task is as the claim left it, with its events; null when it needs the
 * locked transaction (a success with images, a task holding a reservation).
 */
export function planEnding(
  claimed: lifecycle.ClaimedTask,
  record: AttemptRecord,
  price: cost.Price | null,
): { ending: Ending; events: Envelope[] } | null {
  const { row, attempt, model } = claimed;
  const { outcome } = record;
  if (row.reserved_provider_id !== null) return null;
  if (outcome.kind === 'succeeded' && outcome.images.length > 0) return null;
  const { closed, costUsd, providerMs, overheadMs } = attemptClosing(record, true, price);
  const totalUsd = usdText(usdUnits(row.cost_usd) + usdUnits(costUsd));
  const events: Envelope[] = record.announce_use ? [usedEvent(claimed)] : [];
  const base: Ending = {
    task_id: row.id,
    attempt_id: attempt.id,
    attempt: attempt.number,
    cost_before: row.cost_usd,
    any_cancel: false,
    a_status: closed.status,
    wire: closed.wire && storedWire(closed.wire),
    response_text: closed.response_text,
    a_finish_reason: closed.finish_reason,
    provider_finish_reason: closed.provider_finish_reason,
    response_id: closed.response_id,
    a_usage: closed.usage,
    a_error: closed.error,
    a_provider_ms: closed.provider_ms,
    latency_ms: closed.latency_ms,
    ttft: closed.time_to_first_token_ms,
    price: closed.price,
    cost_usd: costUsd,
    status: 'failed',
    output_text: null,
    finish_reason: null,
    usage: null,
    error: null,
    delay_ms: 0,
    next_model_id: null,
    next_provider_id: null,
    model_attempts: 'keep',
    provider_ms: providerMs,
    overhead_ms: overheadMs,
    task_ttft: closed.time_to_first_token_ms,
    pause_ms: null,
    pause_provider_id: null,
  };
  if (outcome.kind === 'succeeded') {
    const usage = outcome.usage ?? { input_tokens: 0, output_tokens: 0, cached_input_tokens: 0 };
    events.push(
      taskEvent(taskSucceeded, row, {
        output_chars: outcome.text.length,
        ...carriedOutput(row.kind, outcome.text),
        finish_reason: outcome.finish_reason,
        usage,
        cost_usd: totalUsd,
        images: 0,
      }),
    );
    const ending = { ...base, status: 'succeeded' as const, output_text: outcome.text, finish_reason: outcome.finish_reason };
    return { ending: { ...ending, usage: outcome.usage }, events };
  }
  if (outcome.kind === 'cancelled') {
    events.push(taskEvent(taskCancelled, row, { was: 'running' }));
    return { ending: { ...base, status: 'cancelled', any_cancel: true }, events };
  }
  if (outcome.kind === 'abandoned') {
    // The process is stopping: the task goes back to the queue at once, its attempt not counted, and says
    // so (other instances' workers wake for it).
    events.push(lifecycle.queuedEvent(row));
    return {
      ending: { ...base, status: 'queued', model_attempts: 'give_back', provider_ms: 0, overhead_ms: 0, task_ttft: null },
      events,
    };
  }
  const { error } = outcome;
  const pause =
    error.kind === 'rate_limit' && error.retry_after_ms !== null
      ? { pause_ms: error.retry_after_ms, pause_provider_id: model.provider_id }
      : {};
  const plan = lifecycle.afterFailurePlan(row, error);
  if (plan.to === 'requeue') {
    // run_after is the statement's clock: the payload's is replaced by the row's (see endAttempts).
    const runAfter = new Date(Date.now() + plan.delayMs).toISOString();
    events.push(taskEvent(taskRetrying, row, { error, run_after: runAfter, fallback: false }));
    return { ending: { ...base, ...pause, status: 'queued', error, delay_ms: plan.delayMs }, events };
  }
  if (plan.to === 'fallback') {
    const moved: TaskRow = { ...row, model_id: plan.next.model_id, provider_id: plan.next.provider_id };
    events.push(taskEvent(taskRetrying, moved, { error, run_after: new Date().toISOString(), fallback: true }));
    const next = { next_model_id: plan.next.model_id, next_provider_id: plan.next.provider_id };
    return { ending: { ...base, ...pause, ...next, status: 'queued', error, model_attempts: 'reset' }, events };
  }
  events.push(taskEvent(taskFailed, row, { error, cost_usd: totalUsd }));
  return { ending: { ...base, ...pause, status: 'failed', error }, events };
}

const INPUT_COLUMNS = `task_id uuid, attempt_id uuid, attempt integer, cost_before numeric, any_cancel boolean, a_status text,
  wire jsonb, response_text text, a_finish_reason text, provider_finish_reason text, response_id text, a_usage jsonb, a_error jsonb,
  a_provider_ms integer, latency_ms integer, ttft integer, price jsonb, cost_usd numeric, status text, output_text text,
  finish_reason text, usage jsonb, error jsonb, delay_ms float8, next_model_id uuid, next_provider_id uuid, model_attempts text,
  provider_ms integer, overhead_ms integer, task_ttft integer, pause_ms float8, pause_provider_id uuid`;

/** A timestamptz as JavaScript's toISOString writes it (what event payloads carry). */
const ISO = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

/**
 * Records these endings in one statement; answers the ids of the tasks it moved on (the others were
 * not as their claim left them, and nothing of theirs was written). The ids also come as arrays, so
 * the planner reaches the rows by primary key (a join to the jsonb input alone was estimated at 100 rows
 * and could scan every task and attempt). The tasks are not asked for `status = 'running'`: a lease
 * owner implies it (a CHECK of runner.tasks), and with it the statement's generic plan, which
 * PostgreSQL keeps after five executions, walked tasks_running_idx and read every running task of every
 * process at each finish (docs/bench.md, "What PostgreSQL writes per task").
 */
export async function endAttempts(
  pool: Pool,
  owner: string,
  planned: readonly { ending: Ending; events: Envelope[] }[],
): Promise<Set<string>> {
  const events = planned.flatMap((p) => p.events);
  const topics = events.map((event) => event.topic);
  const insert = outboxInsert(events, 6, {
    tags: planned.flatMap((p) => p.events.map(() => p.ending.task_id)),
    when: 'e.tag::uuid IN (SELECT id FROM done)',
    // A retry's run_after as the row has it (PostgreSQL's clock, not this process's).
    payload: `CASE WHEN e.topic = '${taskRetrying.topic}'
                THEN e.payload || jsonb_build_object('run_after',
                  (SELECT to_char(d.run_after AT TIME ZONE 'UTC', ${ISO}) FROM done d WHERE d.id = e.tag::uuid))
                ELSE e.payload END`,
  });
  const row = await ringing(
    pool,
    async (lead, payload) => {
      const { rows } = await pool.query<{ done: string[]; waiting: boolean; rang: boolean }>({
        name: 'runner.finish.attempts',
        text: `WITH i AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS i(${INPUT_COLUMNS})),
           task AS (
             SELECT t.id FROM runner.tasks t JOIN i ON i.task_id = t.id
             WHERE t.id = ANY ($4::uuid[]) AND t.lease_owner = $2 AND t.attempts = i.attempt
               AND (i.any_cancel OR t.cancel_requested_at IS NULL) AND t.reserved_provider_id IS NULL
               AND t.cost_usd = i.cost_before
             ORDER BY t.id
             FOR UPDATE OF t
           ),
           closed AS (
             UPDATE runner.attempts a SET status = i.a_status, wire = i.wire, response_text = i.response_text,
               finish_reason = i.a_finish_reason, provider_finish_reason = i.provider_finish_reason, response_id = i.response_id,
               usage = i.a_usage, error = i.a_error, provider_ms = i.a_provider_ms, latency_ms = i.latency_ms,
               overhead_ms = greatest(0, i.latency_ms - coalesce(i.a_provider_ms, 0)), time_to_first_token_ms = i.ttft,
               ended_at = coalesce(a.ended_at, now()), price = i.price, cost_usd = i.cost_usd
             FROM i JOIN task k ON k.id = i.task_id
             WHERE a.id = i.attempt_id AND a.id = ANY ($5::uuid[])
             RETURNING i.task_id
           ),
           done AS (
             UPDATE runner.tasks t SET status = i.status, lease_owner = NULL, lease_expires_at = NULL,
               output_text = CASE WHEN i.status = 'succeeded' THEN i.output_text ELSE t.output_text END,
               finish_reason = CASE WHEN i.status = 'succeeded' THEN i.finish_reason ELSE t.finish_reason END,
               usage = CASE WHEN i.status = 'succeeded' THEN i.usage ELSE t.usage END,
               error = CASE WHEN i.status = 'succeeded' THEN NULL ELSE coalesce(i.error, t.error) END,
               cancel_requested_at = CASE WHEN i.status = 'cancelled' THEN coalesce(t.cancel_requested_at, now())
                                          ELSE t.cancel_requested_at END,
               finished_at = CASE WHEN i.status = 'queued' THEN t.finished_at ELSE now() END,
               run_after = CASE WHEN i.status = 'queued' THEN now() + make_interval(secs => i.delay_ms / 1000) ELSE t.run_after END,
               model_index = t.model_index + CASE WHEN i.next_model_id IS NULL THEN 0 ELSE 1 END,
               model_attempts = CASE i.model_attempts WHEN 'reset' THEN 0 WHEN 'give_back' THEN greatest(0, t.model_attempts - 1)
                                     ELSE t.model_attempts END,
               model_id = coalesce(i.next_model_id, t.model_id), provider_id = coalesce(i.next_provider_id, t.provider_id),
               provider_ms = t.provider_ms + i.provider_ms, overhead_ms = t.overhead_ms + i.overhead_ms,
               time_to_first_token_ms = coalesce(i.task_ttft, t.time_to_first_token_ms), cost_usd = t.cost_usd + i.cost_usd,
               updated_at = now()
             FROM i JOIN closed c ON c.task_id = i.task_id
             WHERE t.id = i.task_id AND t.id = ANY ($4::uuid[])
             RETURNING t.id, t.run_after
           ),
           paused AS (
             UPDATE runner.providers p
             SET paused_until = greatest(coalesce(p.paused_until, now()), now() + make_interval(secs => m.pause_ms / 1000))
             FROM (SELECT i.pause_provider_id, max(i.pause_ms) AS pause_ms FROM i JOIN done d ON d.id = i.task_id
                   WHERE i.pause_ms IS NOT NULL GROUP BY i.pause_provider_id) m
             WHERE p.id = m.pause_provider_id
             RETURNING 1
           ),
           published AS (${insert.text} RETURNING 1)
           SELECT coalesce((SELECT array_agg(id) FROM done), '{}') AS done,
             ${doorbellColumns('($3::boolean AND EXISTS (SELECT 1 FROM done))', `$${6 + insert.values.length}`)}`,
        values: [
          JSON.stringify(planned.map((p) => p.ending)),
          owner,
          lead,
          planned.map((p) => p.ending.task_id),
          planned.map((p) => p.ending.attempt_id),
          ...insert.values,
          payload,
        ],
      });
      return rows[0];
    },
    topics,
  );
  return new Set(row?.done ?? []);
}

interface Pending {
  claimed: lifecycle.ClaimedTask;
  record: AttemptRecord;
  resolve: (end: AttemptEnd) => void;
  reject: (error: unknown) => void;
}

/**
 * A process's endings: `finish` resolves once the attempt and its task's next state are recorded.
 * The first attempt to end goes at once; those ending while a statement runs go together in the next.
 */
export class Endings {
  readonly #pool: Pool;
  readonly #owner: string;
  readonly #log: Logger;
  #pending: Pending[] = [];
  #flushing = false;

  constructor(pool: Pool, owner: string, log: Logger) {
    this.#pool = pool;
    this.#owner = owner;
    this.#log = log;
  }

  finish(claimed: lifecycle.ClaimedTask, record: AttemptRecord): Promise<AttemptEnd> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ claimed, record, resolve, reject });
      if (!this.#flushing) void this.#flush();
    });
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0, MAX_BATCH);
      // #record settles every ending; should it ever throw, they fail (their leases expire and are
      // reaped) rather than wait for ever, and later endings still flow.
      await this.#record(batch).catch((error: unknown) => batch.forEach((p) => p.reject(error)));
    }
    this.#flushing = false;
  }

  /** Never throws: each ending settles its own promise. */
  async #record(batch: Pending[]): Promise<void> {
    let prices: (cost.Price | null)[] | undefined;
    let done = new Set<string>();
    const endings = new Map<string, Ending>();
    try {
      prices = await cost.pricesAtStart(
        this.#pool,
        batch.map((p) => ({ model_id: p.claimed.model.model_id, started_at: p.claimed.attempt.started_at })),
      );
      const planned = batch.flatMap((p, i) => planEnding(p.claimed, p.record, prices?.[i] ?? null) ?? []);
      for (const { ending } of planned) endings.set(ending.task_id, ending);
      if (planned.length > 0) done = await endAttempts(this.#pool, this.#owner, planned);
    } catch (error) {
      this.#log.warn(
        { err: error, attempts: batch.length, taskIds: batch.map((p) => p.claimed.row.id) },
        'recording attempts together failed; recording each on its own',
      );
    }
    batch.forEach((p, i) => {
      const ending = endings.get(p.claimed.row.id);
      if (ending && done.has(ending.task_id)) p.resolve({ costUsd: ending.cost_usd, task: ending.status });
      // The rest on their own, concurrently (each locks only its own task), without holding up the next batch.
      else finishAttempt(this.#pool, this.#owner, p.claimed, p.record, prices?.[i]).then(p.resolve, p.reject);
    });
  }
}
