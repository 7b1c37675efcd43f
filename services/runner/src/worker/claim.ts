import { envelope, publishMany } from '@llmops/kit/bus/index';
import { withTransaction, type Pool, type PoolClient } from '@llmops/kit/db';
import { taskFailed, taskStarted } from '@llmops/kit/events/runner';
import { uuidv7 } from '@llmops/kit/ids';
import type { ChainModel, TaskError, TaskRow } from '../tasks/task.ts';
import { ensureSpendRow, MONTH_OF_NOW } from './spend.ts';

/** A task this process now runs: the row as claimed, the attempt it opened, and the model it calls. */
export interface ClaimedTask {
  row: TaskRow;
  model: ChainModel;
  attempt: { id: string; number: number; started_at: Date; queue_wait_ms: number };
}

export interface ClaimOptions {
  owner: string;
  limit: number;
  leaseMs: number;
  rateWindowMs: number;
  defaultMaxOutputTokens: number;
}

export interface ClaimResult {
  claimed: ClaimedTask[];
  /** Due tasks were left queued because their provider is at a limit (a finishing task frees a slot). */
  held: boolean;
  /** Milliseconds until the next queued task is due, when none was due now (null: none queued). */
  nextDueMs: number | null;
}

interface Candidate {
  id: string;
  provider_id: string;
  model_id: string;
  kind: 'chat' | 'image';
  reserved_usd: string;
  estimated_input_tokens: number;
  max_output_tokens: number | null;
  images: number;
}

interface ProviderLimits {
  id: string;
  max_concurrency: number | null;
  rpm_limit: number | null;
  monthly_spend_cap_usd: string | null;
  paused: boolean;
  running: number;
  recent: number;
}

/**
 * Queued, due tasks, best first (the order of tasks_queued_idx), locked with SKIP LOCKED so concurrent
 * claimers take different ones. Tasks of a provider that is paused (Retry-After) or already at its
 * concurrency or rpm limit are skipped here, so they never crowd out other providers' tasks. The test
 * is an anti-join, which the planner estimates well and runs along the index; as a `NOT (… = ANY
 * (ARRAY(…)))` it was estimated to keep one row and planned as a scan and full sort of every task, history
 * included (measured by the bench: 180–370 ms per claim against 0.3 ms). Only the snapshot's figures the
 * claim needs are read here; the snapshot itself comes back from the update of the tasks it starts.
 */
const CANDIDATES = `
  SELECT t.id, t.provider_id, t.model_id, t.kind, t.reserved_usd,
         coalesce((t.snapshot ->> 'estimated_input_tokens')::int, 0) AS estimated_input_tokens,
         (t.snapshot -> 'parameters' ->> 'max_output_tokens')::int AS max_output_tokens,
         coalesce((t.snapshot -> 'image' ->> 'n')::int, 1) AS images
  FROM runner.tasks t
  WHERE t.status = 'queued' AND t.run_after <= now()
    AND NOT EXISTS (
      SELECT 1 FROM runner.providers p
      WHERE p.id = t.provider_id
        AND (p.paused_until > now()
          OR (p.max_concurrency IS NOT NULL
              AND p.max_concurrency <= (SELECT count(*) FROM runner.tasks r WHERE r.status = 'running' AND r.provider_id = p.id))
          OR (p.rpm_limit IS NOT NULL
              AND p.rpm_limit <= (SELECT count(*) FROM runner.attempts a
                                  WHERE a.provider_id = p.id AND a.started_at > now() - make_interval(secs => $2::float8 / 1000)))))
  ORDER BY t.priority DESC, t.run_after, t.id
  LIMIT $1
  FOR UPDATE OF t SKIP LOCKED`;

/** Providers with a limit among the candidates', locked in id order: their claims go one at a time. */
const LOCK_LIMITED = `
  SELECT p.id FROM runner.providers p
  WHERE p.id = ANY ($1::uuid[])
    AND (p.max_concurrency IS NOT NULL OR p.rpm_limit IS NOT NULL OR p.monthly_spend_cap_usd IS NOT NULL OR p.paused_until > now())
  ORDER BY p.id
  FOR UPDATE OF p`;

/**
 * What the locked providers have in use. A statement of its own, after the lock is held: in READ
 * COMMITTED each statement sees what committed before it started, so the counts include the tasks an
 * instance that held the lock just before us has started (counted in the locking statement, they would
 * come from the snapshot taken before the wait).
 */
const IN_USE = `
  SELECT p.id, p.max_concurrency, p.rpm_limit, p.monthly_spend_cap_usd, coalesce(p.paused_until > now(), false) AS paused,
    (SELECT count(*) FROM runner.tasks r WHERE r.status = 'running' AND r.provider_id = p.id)::int AS running,
    (SELECT count(*) FROM runner.attempts a
     WHERE a.provider_id = p.id AND a.started_at > clock_timestamp() - make_interval(secs => $2::float8 / 1000))::int AS recent
  FROM runner.providers p
  WHERE p.id = ANY ($1::uuid[])`;

/** Estimated cost of each task on its model at today's price: input estimate plus the most it may write. */
const ESTIMATES = `
  SELECT c.id, coalesce(round(
      (c.input_tokens * pr.input_per_mtok + c.output_tokens * pr.output_per_mtok) / 1000000
      + c.images * coalesce(pr.per_image, 0), 6), 0)::text AS estimate
  FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::int[], $5::int[]) AS c(id, model_id, input_tokens, output_tokens, images)
  LEFT JOIN LATERAL (
    SELECT input_per_mtok, output_per_mtok, per_image FROM runner.model_prices p
    WHERE p.model_id = c.model_id AND p.effective_from <= now()
    ORDER BY p.effective_from DESC LIMIT 1) pr ON true`;

/** Marks the tasks running; an attempt starts at the statement's clock (after any wait for a provider's lock). */
const START = `
  UPDATE runner.tasks t SET status = 'running', lease_owner = $2, lease_expires_at = now() + make_interval(secs => $3::float8 / 1000),
    attempts = t.attempts + 1, model_attempts = t.model_attempts + 1, started_at = coalesce(t.started_at, now()),
    queue_wait_ms = t.queue_wait_ms + greatest(0, round(extract(epoch FROM now() - t.run_after) * 1000))::int,
    updated_at = now()
  WHERE t.id = ANY ($1::uuid[])
  RETURNING t.*, greatest(0, round(extract(epoch FROM now() - t.run_after) * 1000))::int AS wait_ms,
    clock_timestamp() AS claimed_at`;

const OPEN_ATTEMPTS = `
  INSERT INTO runner.attempts (id, task_id, number, model_index, model_id, provider_id, provider_model_id, worker, status,
    request, queue_wait_ms, started_at)
  SELECT a.id, a.task_id, a.number, a.model_index, a.model_id, a.provider_id, a.provider_model_id, $2, 'running',
    a.request, a.queue_wait_ms, a.started_at
  FROM jsonb_to_recordset($1::jsonb) AS a(id uuid, task_id uuid, number integer, model_index integer, model_id uuid,
    provider_id uuid, provider_model_id text, request jsonb, queue_wait_ms integer, started_at timestamptz)`;

function maxOutput(candidate: Candidate, fallback: number): number {
  return candidate.max_output_tokens ?? fallback;
}

/** What the attempt asks, normalized (roles and texts, model, parameters): what a preview shows (ADR 0010). */
function normalizedRequest(row: TaskRow, model: ChainModel): Record<string, unknown> {
  const snapshot = row.snapshot;
  if (row.kind === 'image')
    return { model: model.provider_model_id, prompt: imagePrompt(snapshot.messages), ...(snapshot.image ?? {}) };
  return { model: model.provider_model_id, messages: snapshot.messages, parameters: snapshot.parameters };
}

/** An image model takes one prompt: the user messages' text, in order. */
export function imagePrompt(messages: TaskRow['snapshot']['messages']): string {
  return messages
    .filter((message) => message.role !== 'assistant')
    .map((message) => message.content)
    .join('\n\n');
}

async function refuseOverBudget(tx: PoolClient, ids: string[], caps: Map<string, string>): Promise<void> {
  if (ids.length === 0) return;
  const { rows } = await tx.query<TaskRow>(
    `UPDATE runner.tasks SET status = 'failed', finished_at = now(), updated_at = now(),
       error = jsonb_build_object('kind', 'budget_exceeded', 'retryable', false, 'status', null, 'retry_after_ms', null,
         'provider_code', null, 'message', $2::text)
     WHERE id = ANY ($1::uuid[]) RETURNING *`,
    [ids, 'this task would take the provider past its monthly spend cap; no request was made'],
  );
  const at = new Date().toISOString();
  await publishMany(
    tx,
    rows.map((row) =>
      envelope(taskFailed, {
        task_id: row.id,
        group_id: row.group_id,
        correlation: row.correlation,
        model_id: row.model_id,
        provider_id: row.provider_id,
        attempt: row.attempts,
        at,
        error: {
          ...(row.error as TaskError),
          message: `${(row.error as TaskError).message} (cap ${caps.get(row.provider_id ?? '') ?? '?'} USD this month)`,
        },
        cost_usd: row.cost_usd,
      }),
    ),
  );
}

/**
 * Claims up to `limit` due tasks in one transaction: honours every provider's max concurrency and
 * requests per minute across all runner instances (counted in PostgreSQL under the provider's row
 * lock), reserves the estimated cost under spend caps (failing a task that would pass the cap), marks
 * the tasks running with a lease, opens their attempts and publishes `runner.task.started`. No lock is
 * held once it returns: the provider call happens outside any transaction.
 */
export async function claim(pool: Pool, options: ClaimOptions): Promise<ClaimResult> {
  return withTransaction(pool, async (tx) => {
    const { rows: candidates } = await tx.query<Candidate>({
      name: 'runner.claim.candidates',
      text: CANDIDATES,
      values: [options.limit, options.rateWindowMs],
    });
    if (candidates.length === 0) {
      const { rows } = await tx.query<{ next_ms: number | null; due: boolean }>(
        `SELECT (extract(epoch FROM min(run_after) FILTER (WHERE run_after > now()) - now()) * 1000)::float8 AS next_ms,
                bool_or(run_after <= now()) AS due
         FROM runner.tasks WHERE status = 'queued'`,
      );
      return { claimed: [], held: rows[0]?.due ?? false, nextDueMs: rows[0]?.next_ms ?? null };
    }

    const providerIds = [...new Set(candidates.map((c) => c.provider_id))];
    const { rows: locked } = await tx.query<{ id: string }>(LOCK_LIMITED, [providerIds]);
    const { rows: limited } =
      locked.length === 0
        ? { rows: [] as ProviderLimits[] }
        : await tx.query<ProviderLimits>(IN_USE, [locked.map((row) => row.id), options.rateWindowMs]);
    const limits = new Map(limited.map((row) => [row.id, row]));
    const room = new Map<string, number>();
    for (const row of limited) {
      let free = Number.POSITIVE_INFINITY;
      if (row.paused) free = 0;
      if (row.max_concurrency !== null) free = Math.min(free, row.max_concurrency - row.running);
      if (row.rpm_limit !== null) free = Math.min(free, row.rpm_limit - row.recent);
      room.set(row.id, Math.max(0, free));
    }
    const allowed: Candidate[] = [];
    let held = false;
    for (const candidate of candidates) {
      const left = room.get(candidate.provider_id);
      if (left === undefined) allowed.push(candidate);
      else if (left > 0) {
        allowed.push(candidate);
        room.set(candidate.provider_id, left - 1);
      } else held = true;
    }

    // Spend caps: reserve each task's estimate, or refuse it at once when it would pass the cap.
    const capped = allowed.filter(
      (c) => limits.get(c.provider_id)?.monthly_spend_cap_usd != null && Number(c.reserved_usd) === 0,
    );
    const refused: string[] = [];
    if (capped.length > 0) {
      const { rows: estimates } = await tx.query<{ id: string; estimate: string }>(ESTIMATES, [
        capped.map((c) => c.id),
        capped.map((c) => c.model_id),
        capped.map((c) => (c.kind === 'image' ? 0 : c.estimated_input_tokens)),
        capped.map((c) => (c.kind === 'image' ? 0 : maxOutput(c, options.defaultMaxOutputTokens))),
        capped.map((c) => (c.kind === 'image' ? c.images : 0)),
      ]);
      const estimateOf = new Map(estimates.map((row) => [row.id, row.estimate]));
      const byProvider = new Map<string, Candidate[]>();
      for (const c of capped) byProvider.set(c.provider_id, [...(byProvider.get(c.provider_id) ?? []), c]);
      for (const [providerId, tasks] of byProvider) {
        await ensureSpendRow(tx, providerId);
        const { rows } = await tx.query<{ spent_usd: string; reserved_usd: string }>(
          `SELECT spent_usd, reserved_usd FROM runner.provider_spend WHERE provider_id = $1 AND month = ${MONTH_OF_NOW} FOR UPDATE`,
          [providerId],
        );
        const cap = Number(limits.get(providerId)?.monthly_spend_cap_usd);
        let committed = Number(rows[0]?.spent_usd ?? 0) + Number(rows[0]?.reserved_usd ?? 0);
        const reserve: { id: string; amount: string }[] = [];
        for (const task of tasks) {
          const amount = estimateOf.get(task.id) ?? '0';
          if (committed + Number(amount) > cap) refused.push(task.id);
          else {
            committed += Number(amount);
            reserve.push({ id: task.id, amount });
          }
        }
        if (reserve.length > 0) {
          await tx.query(
            `UPDATE runner.provider_spend SET reserved_usd = reserved_usd + (SELECT sum(x) FROM unnest($2::numeric[]) x)
             WHERE provider_id = $1 AND month = ${MONTH_OF_NOW}`,
            [providerId, reserve.map((r) => r.amount)],
          );
          await tx.query(
            `UPDATE runner.tasks t SET reserved_usd = r.amount, reserved_provider_id = $3, reserved_month = ${MONTH_OF_NOW}
             FROM unnest($1::uuid[], $2::numeric[]) AS r(id, amount) WHERE t.id = r.id`,
            [reserve.map((r) => r.id), reserve.map((r) => r.amount), providerId],
          );
        }
      }
      const caps = new Map(limited.map((row) => [row.id, row.monthly_spend_cap_usd ?? '']));
      await refuseOverBudget(tx, refused, caps);
    }

    const starting = allowed.filter((c) => !refused.includes(c.id));
    if (starting.length === 0) return { claimed: [], held, nextDueMs: null };
    const { rows: started } = await tx.query<TaskRow & { wait_ms: number; claimed_at: Date }>({
      name: 'runner.claim.start',
      text: START,
      values: [starting.map((c) => c.id), options.owner, options.leaseMs],
    });
    const claimed: ClaimedTask[] = started.map((row) => {
      const model = row.snapshot.chain[row.model_index] as ChainModel;
      return {
        row,
        model,
        attempt: { id: uuidv7(), number: row.attempts, started_at: row.claimed_at, queue_wait_ms: row.wait_ms },
      };
    });
    await tx.query({
      name: 'runner.claim.attempts',
      text: OPEN_ATTEMPTS,
      values: [
        JSON.stringify(
          claimed.map(({ row, model, attempt }) => ({
            id: attempt.id,
            task_id: row.id,
            number: attempt.number,
            model_index: row.model_index,
            model_id: model.model_id,
            provider_id: model.provider_id,
            provider_model_id: model.provider_model_id,
            request: normalizedRequest(row, model),
            queue_wait_ms: attempt.queue_wait_ms,
            started_at: attempt.started_at,
          })),
        ),
        options.owner,
      ],
    });
    const at = new Date().toISOString();
    await publishMany(
      tx,
      claimed.map(({ row, model, attempt }) =>
        envelope(taskStarted, {
          task_id: row.id,
          group_id: row.group_id,
          correlation: row.correlation,
          model_id: model.model_id,
          provider_id: model.provider_id,
          attempt: attempt.number,
          at,
          worker: options.owner,
          queue_wait_ms: attempt.queue_wait_ms,
        }),
      ),
    );
    return { claimed, held, nextDueMs: null };
  });
}
