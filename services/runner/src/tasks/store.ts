import type { Queryable } from '@llmops/kit/db';
import type { FieldProblem } from '@llmops/kit/problem';
import {
  TASK_COLUMNS_T,
  TASK_COLUMNS,
  type ChainModel,
  type Lineage,
  type ModelSkip,
  type NewTask,
  type TaskError,
  type TaskOrigin,
  type TaskRow,
} from './task.ts';
import { dispatching, leaseExpiry } from './starting.ts';

/*
 * The SQL verbs of a task (runner.tasks), one statement each, the `Queryable` first; import them as a
 * namespace (`store.requeue(tx, …)`). Each state change answers the row as it left it, which is what
 * its event reports (lifecycle.ts pairs them). Durations are PostgreSQL's clock, never a worker's.
 */

const json = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));

/** A task group: the tasks of one request run on several models side by side. */
export async function insertGroup(
  tx: Queryable,
  group: { id: string; requester: string; correlation: Record<string, unknown> | null },
): Promise<void> {
  await tx.query(`INSERT INTO runner.task_groups (id, requester, correlation) VALUES ($1, $2, $3)`, [
    group.id,
    group.requester,
    json(group.correlation),
  ]);
}

/** One task to insert as queued: what it runs, where its messages came from, and who asked. */
export interface QueuedTask extends NewTask, Lineage {
  id: string;
  group_id: string | null;
  retry_of: string | null;
  requester: string;
  source: TaskOrigin['source'];
  idempotency_key: string | null;
  request_hash: string | null;
  priority: number;
  correlation: Record<string, unknown> | null;
  inputs: Record<string, unknown>;
}

/** SQL parameters of a create that starts its new tasks itself when a claim would (create/insert.ts). */
export interface DispatchParams {
  /** The lease owner: the creating process's worker. */
  owner: string;
  leaseMs: string;
  /** How many of them its worker has a slot for (0: none starts). */
  slots: string;
}

/**
 * The INSERT of queued tasks from the jsonb array `param` (QueuedTask objects), for `insertQueued` and
 * for a statement that inserts them along with their events (create/insert.ts). With `dispatch`, the
 * tasks a claim made now would start (tasks/starting.ts `dispatching`) are inserted started instead:
 * running under the owner's lease, one attempt counted, started now, having waited 0 ms (their
 * `run_after` is `now()`).
 */
export function insertQueuedText(param: string, dispatch?: DispatchParams): string {
  const rows = `jsonb_to_recordset(${param}::jsonb) AS t(id uuid, group_id uuid, retry_of uuid, requester text, source text,
          idempotency_key text, request_hash text, kind text, priority integer, correlation jsonb, template_id uuid,
          template_version integer, template_label text, part_versions jsonb, preset_id uuid, inputs jsonb, snapshot jsonb,
          model_id uuid, provider_id uuid)`;
  const started = dispatch
    ? {
        columns: ', lease_owner, lease_expires_at, attempts, model_attempts, started_at',
        status: `CASE WHEN t.go THEN 'running' ELSE 'queued' END`,
        values: `, CASE WHEN t.go THEN ${dispatch.owner} END, CASE WHEN t.go THEN ${leaseExpiry(dispatch.leaseMs)} END,
            t.go::int, t.go::int, CASE WHEN t.go THEN now() END`,
        from: dispatching(rows, dispatch.slots),
      }
    : { columns: '', status: `'queued'`, values: '', from: rows };
  return `INSERT INTO runner.tasks
       (id, group_id, retry_of, requester, source, idempotency_key, request_hash, status, kind, priority, correlation,
        template_id, template_version, template_label, part_versions, preset_id, inputs, snapshot, model_id, provider_id${started.columns})
     SELECT t.id, t.group_id, t.retry_of, t.requester, t.source, t.idempotency_key, t.request_hash, ${started.status}, t.kind, t.priority,
            t.correlation, t.template_id, t.template_version, t.template_label, t.part_versions, t.preset_id, t.inputs, t.snapshot,
            t.model_id, t.provider_id${started.values}
     FROM ${started.from}`;
}

/** Inserts queued tasks in one statement; answers them in id (creation) order. */
export async function insertQueued(tx: Queryable, tasks: readonly QueuedTask[]): Promise<TaskRow[]> {
  const { rows } = await tx.query<TaskRow>(`${insertQueuedText('$1')} RETURNING ${TASK_COLUMNS}`, [JSON.stringify(tasks)]);
  return rows.sort((a, b) => (a.id < b.id ? -1 : 1));
}

/** A request that did not validate, as a terminal `rejected` task with its problems. */
export async function insertRejected(
  tx: Queryable,
  id: string,
  origin: TaskOrigin,
  problems: readonly FieldProblem[],
): Promise<TaskRow> {
  const { rows } = await tx.query<TaskRow>(
    `INSERT INTO runner.tasks (id, requester, source, idempotency_key, request_hash, status, kind, priority, correlation, inputs,
       snapshot, problems, finished_at)
     VALUES ($1, $2, $3, $4, $5, 'rejected', 'chat', $6, $7, $8, $9, $10, now())
     RETURNING ${TASK_COLUMNS}`,
    [
      id,
      origin.requester,
      origin.source,
      origin.idempotency_key ?? null,
      origin.request_hash ?? null,
      origin.priority,
      json(origin.correlation),
      JSON.stringify(origin.inputs),
      JSON.stringify({ messages: [], parameters: {}, chain: [], rejected: true }),
      JSON.stringify(problems),
    ],
  );
  return rows[0] as TaskRow;
}

/** The task, locked for the caller's transaction (a transition decides from the row it holds). */
export async function lock(tx: Queryable, id: string): Promise<TaskRow | undefined> {
  const { rows } = await tx.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM runner.tasks WHERE id = $1 FOR UPDATE`, [id]);
  return rows[0];
}

/** What a claim needs of a due task: its model and the snapshot's figures for a spend-cap estimate. */
export interface Candidate {
  id: string;
  provider_id: string;
  model_id: string;
  kind: 'chat' | 'image';
  reserved_usd: string;
  estimated_input_tokens: number;
  max_output_tokens: number | null;
  images: number;
}

/**
 * Queued, due tasks, best first (the order of tasks_queued_idx), locked with SKIP LOCKED so concurrent
 * claimers take different ones. Tasks of a provider that is paused (Retry-After) or already at its
 * concurrency or rpm limit are skipped here, so they never crowd out other providers' tasks. The test
 * is an anti-join, which the planner estimates well and runs along the index; as a `NOT (… = ANY
 * (ARRAY(…)))` it was estimated to keep one row and planned as a scan and full sort of every task, history
 * included (measured by the bench: 180–370 ms per claim against 0.3 ms). Only the snapshot's figures the
 * claim needs are read here; the snapshot itself comes back from `start`.
 */
export async function lockDue(tx: Queryable, limit: number, rateWindowMs: number): Promise<Candidate[]> {
  const { rows } = await tx.query<Candidate>({
    name: 'runner.claim.candidates',
    text: `SELECT t.id, t.provider_id, t.model_id, t.kind, t.reserved_usd,
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
           FOR UPDATE OF t SKIP LOCKED`,
    values: [limit, rateWindowMs],
  });
  return rows;
}

/** Whether queued tasks are due now, and in how many milliseconds the next one is (null: none queued later). */
export async function nextDue(tx: Queryable): Promise<{ due: boolean; next_ms: number | null }> {
  const { rows } = await tx.query<{ next_ms: number | null; due: boolean | null }>(
    `SELECT (extract(epoch FROM min(run_after) FILTER (WHERE run_after > now()) - now()) * 1000)::float8 AS next_ms,
            bool_or(run_after <= now()) AS due
     FROM runner.tasks WHERE status = 'queued'`,
  );
  return { due: rows[0]?.due ?? false, next_ms: rows[0]?.next_ms ?? null };
}

/** A task as `start` answers it: how long it waited, and the moment its attempt started. */
export type StartedRow = TaskRow & { wait_ms: number; claimed_at: Date };

/**
 * queued → running, with a lease for `owner`, and one more attempt on its model. The attempt starts at
 * the statement's clock (after any wait for a provider's lock).
 */
export async function start(tx: Queryable, ids: readonly string[], owner: string, leaseMs: number): Promise<StartedRow[]> {
  const { rows } = await tx.query<StartedRow>({
    name: 'runner.claim.start',
    text: `UPDATE runner.tasks t SET status = 'running', lease_owner = $2,
             lease_expires_at = now() + make_interval(secs => $3::float8 / 1000),
             attempts = t.attempts + 1, model_attempts = t.model_attempts + 1, started_at = coalesce(t.started_at, now()),
             queue_wait_ms = t.queue_wait_ms + greatest(0, round(extract(epoch FROM now() - t.run_after) * 1000))::int,
             updated_at = now()
           WHERE t.id = ANY ($1::uuid[])
           RETURNING ${TASK_COLUMNS_T}, greatest(0, round(extract(epoch FROM now() - t.run_after) * 1000))::int AS wait_ms,
             clock_timestamp() AS claimed_at`,
    values: [ids, owner, leaseMs],
  });
  return rows;
}

/** running → queued on the same model, due after `delayMs`, keeping the error that sent it back. */
export async function requeue(tx: Queryable, id: string, error: TaskError, delayMs: number): Promise<TaskRow> {
  const { rows } = await tx.query<TaskRow>(
    `UPDATE runner.tasks SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, error = $2,
       run_after = now() + make_interval(secs => $3::float8 / 1000), updated_at = now()
     WHERE id = $1 RETURNING ${TASK_COLUMNS}`,
    [id, JSON.stringify(error), delayMs],
  );
  return rows[0] as TaskRow;
}

/** running → queued at once on the next model of its chain, with a fresh count of attempts on it. */
export async function fallBack(tx: Queryable, id: string, error: TaskError, next: ChainModel): Promise<TaskRow> {
  const { rows } = await tx.query<TaskRow>(
    `UPDATE runner.tasks SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, error = $2,
       model_index = model_index + 1, model_attempts = 0, model_id = $3, provider_id = $4, run_after = now(), updated_at = now()
     WHERE id = $1 RETURNING ${TASK_COLUMNS}`,
    [id, JSON.stringify(error), next.model_id, next.provider_id],
  );
  return rows[0] as TaskRow;
}

/**
 * A queued task moves past its current model without a request (its provider is at its spend cap): on
 * to `next` at once with a fresh count of attempts, or, with no model left (`next` null), → failed. The
 * skip is noted on the task either way (`skipped_models`, stamped with the statement's clock).
 */
export async function skipModel(
  tx: Queryable,
  id: string,
  error: TaskError,
  skip: Omit<ModelSkip, 'at'>,
  next: ChainModel | null,
): Promise<TaskRow> {
  const { rows } = await tx.query<TaskRow>(
    `UPDATE runner.tasks SET error = $2,
       skipped_models = skipped_models || jsonb_build_array($3::jsonb || jsonb_build_object('at', now())),
       status = CASE WHEN $4::uuid IS NULL THEN 'failed' ELSE 'queued' END,
       finished_at = CASE WHEN $4::uuid IS NULL THEN now() END,
       model_index = model_index + CASE WHEN $4::uuid IS NULL THEN 0 ELSE 1 END,
       model_attempts = CASE WHEN $4::uuid IS NULL THEN model_attempts ELSE 0 END,
       model_id = coalesce($4, model_id), provider_id = coalesce($5, provider_id), run_after = now(), updated_at = now()
     WHERE id = $1 RETURNING ${TASK_COLUMNS}`,
    [id, JSON.stringify(error), JSON.stringify(skip), next?.model_id ?? null, next?.provider_id ?? null],
  );
  return rows[0] as TaskRow;
}

/** Tasks by id, as they are (the caller holds their locks). */
export async function getMany(tx: Queryable, ids: readonly string[]): Promise<TaskRow[]> {
  const { rows } = await tx.query<TaskRow>(`SELECT ${TASK_COLUMNS} FROM runner.tasks WHERE id = ANY ($1::uuid[]) ORDER BY id`, [
    ids,
  ]);
  return rows;
}

/** → failed with `error` (running tasks with no attempt or model left, or queued ones refused before any request). */
export async function fail(tx: Queryable, ids: readonly string[], error: TaskError): Promise<TaskRow[]> {
  const { rows } = await tx.query<TaskRow>(
    `UPDATE runner.tasks SET status = 'failed', lease_owner = NULL, lease_expires_at = NULL, error = $2,
       finished_at = now(), updated_at = now()
     WHERE id = ANY ($1::uuid[]) RETURNING ${TASK_COLUMNS}`,
    [ids, JSON.stringify(error)],
  );
  return rows;
}

/** running → succeeded with the output. */
export async function succeed(
  tx: Queryable,
  id: string,
  output: { text: string; finish_reason: string | null; usage: TaskRow['usage'] },
): Promise<TaskRow> {
  const { rows } = await tx.query<TaskRow>(
    `UPDATE runner.tasks SET status = 'succeeded', lease_owner = NULL, lease_expires_at = NULL, output_text = $2,
       finish_reason = $3, usage = $4, error = NULL, finished_at = now(), updated_at = now()
     WHERE id = $1 RETURNING ${TASK_COLUMNS}`,
    [id, output.text, output.finish_reason, json(output.usage)],
  );
  return rows[0] as TaskRow;
}

/** queued or running → cancelled (the moment it was asked kept, when it was asked earlier). */
export async function cancel(tx: Queryable, id: string): Promise<TaskRow> {
  const { rows } = await tx.query<TaskRow>(
    `UPDATE runner.tasks SET status = 'cancelled', cancel_requested_at = coalesce(cancel_requested_at, now()),
       lease_owner = NULL, lease_expires_at = NULL, finished_at = now(), updated_at = now()
     WHERE id = $1 RETURNING ${TASK_COLUMNS}`,
    [id],
  );
  return rows[0] as TaskRow;
}

/** A running task is asked to stop: the instance running it sees the mark at its next heartbeat, if not sooner. */
export async function requestCancel(tx: Queryable, id: string): Promise<TaskRow> {
  const { rows } = await tx.query<TaskRow>(
    `UPDATE runner.tasks SET cancel_requested_at = coalesce(cancel_requested_at, now()), updated_at = now()
     WHERE id = $1 RETURNING ${TASK_COLUMNS}`,
    [id],
  );
  return rows[0] as TaskRow;
}

/**
 * running → queued at once, by a process that is stopping: the attempt it abandons does not count
 * against the model's attempts, and its cost (if any) is the task's.
 */
export async function giveBack(tx: Queryable, id: string, costUsd: string): Promise<TaskRow> {
  const { rows } = await tx.query<TaskRow>(
    `UPDATE runner.tasks SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL, run_after = now(),
       model_attempts = greatest(0, model_attempts - 1), cost_usd = cost_usd + $2::numeric, updated_at = now()
     WHERE id = $1 RETURNING ${TASK_COLUMNS}`,
    [id, costUsd],
  );
  return rows[0] as TaskRow;
}

/** What one ended attempt adds to its task's totals. */
export interface AttemptTotals {
  provider_ms: number;
  overhead_ms: number;
  time_to_first_token_ms: number | null;
  cost_usd: string;
}

/** Adds an attempt's time and cost to its task (the first token's time is the latest attempt's that had one). */
export async function addAttempt(tx: Queryable, id: string, totals: AttemptTotals): Promise<TaskRow> {
  const { rows } = await tx.query<TaskRow>(
    `UPDATE runner.tasks SET provider_ms = provider_ms + $2, overhead_ms = overhead_ms + $3,
       time_to_first_token_ms = coalesce($4, time_to_first_token_ms), cost_usd = cost_usd + $5::numeric
     WHERE id = $1 RETURNING ${TASK_COLUMNS}`,
    [id, totals.provider_ms, totals.overhead_ms, totals.time_to_first_token_ms, totals.cost_usd],
  );
  return rows[0] as TaskRow;
}

/** Adds the cost of an attempt that ended after its task was lost (another claim runs it now): every call is paid for. */
export async function addCost(tx: Queryable, id: string, costUsd: string): Promise<void> {
  await tx.query('UPDATE runner.tasks SET cost_usd = cost_usd + $2::numeric WHERE id = $1', [id, costUsd]);
}

/**
 * Extends the leases `owner` holds on these tasks, in one statement. Answers the ones it still holds,
 * each with whether a cancel was asked; a task missing from the answer was lost or has ended. The rows
 * are locked in id order, as the statement that records attempts ending together locks them, so the
 * two never deadlock.
 */
export async function extendLeases(
  db: Queryable,
  ids: readonly string[],
  owner: string,
  leaseMs: number,
): Promise<{ id: string; cancel: boolean }[]> {
  const { rows } = await db.query<{ id: string; cancel: boolean }>({
    name: 'runner.lease.extend',
    text: `WITH held AS (
             SELECT id FROM runner.tasks WHERE id = ANY ($1::uuid[]) AND lease_owner = $2 AND status = 'running'
             ORDER BY id FOR UPDATE
           )
           UPDATE runner.tasks t SET lease_expires_at = now() + make_interval(secs => $3::float8 / 1000)
           FROM held WHERE t.id = held.id AND t.lease_owner = $2 AND t.status = 'running'
           RETURNING t.id, t.cancel_requested_at IS NOT NULL AS cancel`,
    values: [ids, owner, leaseMs],
  });
  return rows;
}

/** Who holds the task's lease now (null: nobody; undefined: no such task). */
export async function leaseOwner(db: Queryable, id: string): Promise<string | null | undefined> {
  const { rows } = await db.query<{ lease_owner: string | null }>('SELECT lease_owner FROM runner.tasks WHERE id = $1', [id]);
  return rows[0]?.lease_owner;
}

/** Running tasks whose lease expired (their process died), oldest first, locked with SKIP LOCKED. */
export async function lockExpired(tx: Queryable, limit: number): Promise<TaskRow[]> {
  const { rows } = await tx.query<TaskRow>(
    `SELECT ${TASK_COLUMNS} FROM runner.tasks WHERE status = 'running' AND lease_expires_at < now()
     ORDER BY lease_expires_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
    [limit],
  );
  return rows;
}
