import { taskStarted } from '@llmops/kit/events/runner';
import type { ClaimedTask } from './lifecycle.ts';
import type { StartedRow } from './store.ts';
import type { ChainModel } from './task.ts';

/*
 * The SQL of queued → running that the claim (worker/claim.ts) and a create that starts its own tasks
 * (create/insert.ts) share, so both start a task the same way: which providers let a task start without
 * their lock, the lease, the attempt opened with its request, and `runner.task.started`. Fragments of
 * one statement each; `t` is the alias of the rows they read.
 */

/** A provider whose claims must be counted under its lock (provider-limits.ts): `p` is a runner.providers row. */
export const LIMITED = `(p.max_concurrency IS NOT NULL OR p.rpm_limit IS NOT NULL OR p.monthly_spend_cap_usd IS NOT NULL
                  OR p.paused_until > now())`;

/**
 * True when the task's provider (`column`) has no limit, cap or pause, so the task may start without
 * the provider's lock. The limited providers are one hashed set (`NOT … IN (SELECT …)`, computed once),
 * not an anti-join: see claimFree for why. `coalesce` keeps NOT EXISTS's answer for a task with no provider.
 */
export function unlimitedProvider(column: string): string {
  return `NOT coalesce(${column} IN (SELECT p.id FROM runner.providers p WHERE ${LIMITED}), false)`;
}

/** When a lease taken now for `leaseMsParam` milliseconds expires. */
export const leaseExpiry = (leaseMsParam: string) => `now() + make_interval(secs => ${leaseMsParam}::float8 / 1000)`;

/** How long the task `t` waited in the queue, in whole milliseconds, at this statement's `now()`. */
export const WAIT_MS = `greatest(0, round(extract(epoch FROM now() - t.run_after) * 1000))::int`;

/** The columns a started row adds to the task's (StartedRow): its wait, and the clock when its attempt started. */
export const STARTED_COLUMNS = `${WAIT_MS} AS wait_ms, clock_timestamp() AS claimed_at`;

/**
 * The attempt's request as `normalizedRequest(attemptRequest(row, model))` makes it (tasks/request.ts),
 * from the snapshot of a row `t` and its chain model `m`; checked against it in claim.integration.test.ts.
 */
const ATTEMPT_REQUEST = `CASE WHEN t.kind = 'image'
    THEN jsonb_build_object('model', m.m ->> 'provider_model_id', 'prompt',
           coalesce((SELECT string_agg(x.msg ->> 'content', E'\\n\\n' ORDER BY x.n)
                     FROM jsonb_array_elements(t.snapshot -> 'messages') WITH ORDINALITY AS x(msg, n)
                     WHERE x.msg ->> 'role' <> 'assistant'), ''))
         || coalesce(nullif(t.snapshot -> 'image', 'null'::jsonb), '{}'::jsonb)
    ELSE jsonb_build_object('model', m.m ->> 'provider_model_id', 'messages', t.snapshot -> 'messages',
           'parameters', t.snapshot -> 'parameters')
         || CASE WHEN (m.m ->> 'reasoning')::boolean THEN '{"reasoning": true}'::jsonb ELSE '{}'::jsonb END
         || CASE WHEN coalesce((m.m ->> 'max_output_tokens')::numeric, 0) <> 0
              THEN jsonb_build_object('defaultMaxOutputTokens', m.m -> 'max_output_tokens') ELSE '{}'::jsonb END
    END`;

/**
 * The INSERT of one running attempt per started task of `source` (a CTE of started rows: the task's
 * columns, `attempt_id`, `wait_ms`, `claimed_at`), run by `ownerParam`, with the request the adapter is given.
 */
export function openAttempts(source: string, ownerParam: string): string {
  return `INSERT INTO runner.attempts (id, task_id, number, model_index, model_id, provider_id, provider_model_id, worker, status,
             request, queue_wait_ms, started_at)
           SELECT t.attempt_id, t.id, t.attempts, t.model_index, (m.m ->> 'model_id')::uuid, (m.m ->> 'provider_id')::uuid,
             m.m ->> 'provider_model_id', ${ownerParam}, 'running', ${ATTEMPT_REQUEST}, t.wait_ms, t.claimed_at
           FROM ${source} t CROSS JOIN LATERAL (SELECT t.snapshot -> 'chain' -> t.model_index AS m) m`;
}

/**
 * The INSERT of `runner.task.started` for each started task of `source` (as for `openAttempts`, with
 * `event_id`), in id order, with the payload `taskEvent` gives it (worker `ownerParam`, at `atParam`).
 * `when`: a condition on the whole insert (e.g. one that reads another CTE's RETURNING, so that CTE's
 * events are inserted first).
 */
export function publishStarted(source: string, ownerParam: string, atParam: string, when = 'true'): string {
  return `INSERT INTO bus.outbox (event_id, topic, key, payload, headers)
           SELECT t.event_id, '${taskStarted.topic}', t.id::text,
             jsonb_build_object('task_id', t.id, 'group_id', t.group_id, 'correlation', t.correlation, 'requester', t.requester,
               'model_id', t.model_id, 'provider_id', t.provider_id, 'attempt', t.attempts, 'at', ${atParam}::text,
               'worker', ${ownerParam}::text, 'queue_wait_ms', t.wait_ms),
             '{}'::jsonb
           FROM ${source} t WHERE ${when} ORDER BY t.id`;
}

/** A task started by one of these statements, as the worker runs it. */
export function startedTask(row: StartedRow, attemptId: string): ClaimedTask {
  const { wait_ms, claimed_at, ...task } = row;
  return {
    row: task,
    model: task.snapshot.chain[task.model_index] as ChainModel,
    attempt: { id: attemptId, number: task.attempts, started_at: claimed_at, queue_wait_ms: wait_ms },
  };
}

/**
 * The new tasks of `rows` (a FROM item that names them `t`; their `run_after` will be the statement's
 * `now()`), each with `go`: whether a claim made now would start it, so the create inserting it may start
 * it instead, within `slotsParam` free slots of its worker. A claim would when its provider has no limit,
 * cap or pause (`unlimitedProvider`, as claimFree's) and no due queued task comes before it in claim order
 * (priority DESC, run_after, id: the head of tasks_queued_idx, one index probe), so a backlog is never
 * jumped. A queued task of a limited provider counts as ahead too, even when its limit holds it back.
 * Several tasks start as a prefix in id order, the order a claim takes them in.
 */
export function dispatching(rows: string, slotsParam: string): string {
  const ahead = `h.priority > t.priority OR (h.priority = t.priority AND (h.run_after, h.id) < (now(), t.id))`;
  return `(SELECT t.*, coalesce(row_number() OVER w <= ${slotsParam}::int
             AND bool_and(${unlimitedProvider('t.provider_id')} AND NOT coalesce(${ahead}, false)) OVER w, false) AS go
           FROM ${rows}
           LEFT JOIN (SELECT q.priority, q.run_after, q.id FROM runner.tasks q
                      WHERE ${slotsParam}::int > 0 AND q.status = 'queued' AND q.run_after <= now()
                      ORDER BY q.priority DESC, q.run_after, q.id LIMIT 1) h ON true
           WINDOW w AS (ORDER BY t.id)) t`;
}
