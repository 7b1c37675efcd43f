import { doorbellColumns, outboxInsert, ringing } from '@llmops/kit/bus/publish';
import { isPgError, PgCode, type Pool } from '@llmops/kit/db';
import { earlierUse, requestHash, type KeyOutcome, type KeyUse } from '@llmops/kit/idempotency';
import { taskStarted } from '@llmops/kit/events/runner';
import { uuidv7 } from '@llmops/kit/ids';
import { queuedEvent, queuedRows, type ClaimedTask } from '../tasks/lifecycle.ts';
import { openAttempts, publishStarted, STARTED_COLUMNS, startedTask } from '../tasks/starting.ts';
import { insertQueuedText, type QueuedTask } from '../tasks/store.ts';
import { TASK_COLUMNS, type Lineage, type NewTask, type TaskOrigin, type TaskRow } from '../tasks/task.ts';

/*
 * A create is one statement in autocommit (data-modifying CTEs): the task group (for several tasks),
 * the tasks, their `runner.task.queued` events and the request's idempotency key, committed together
 * with no transaction left open between round trips. Everything that can be checked is checked
 * before (prepare.ts); the statement only writes. A key already taken (by a committed or a concurrent
 * create) makes the insert of its row fail with a unique violation, which undoes the whole statement;
 * the earlier use is then read and replayed or refused, as kit's `once` does in a transaction.
 *
 * Direct dispatch: when the creating process's worker has free slots (`Dispatch`), the same statement
 * starts the new tasks a claim made now would start (tasks/starting.ts `dispatching`: an unlimited
 * provider, no due queued task ahead), as the claim does — running under the worker's lease, an attempt
 * opened with its request, `runner.task.started` after `runner.task.queued` — so the worker runs them
 * with no claim statement. The others are queued for a claim, as without it.
 */

/** The answer a create gives: stored with its key (when it has one) and replayed for the same request. */
export interface Answer<T> {
  status: number;
  body: T;
}

export interface Creation<T> {
  tasks: readonly NewTask[];
  lineage: Lineage;
  origin: TaskOrigin;
  /** The request's key: the table's actor, key, operation and the request itself (hashed, never stored). */
  key: Omit<KeyUse, 'key'> & { key: string | null };
  /**
   * The answer for these rows. With a key it is also stored, computed from the rows as the insert will
   * leave them; their times (`created_at`, `updated_at`, `run_after`), which only the statement knows,
   * are set in the stored answer by the statement itself (each element of the body's `tasks` with its
   * `id`; a body without `tasks` is stored as it is), and so are a started task's `status`,
   * `attempt_count` and `started_at` (a replay answers what the first answer said).
   */
  answer: (rows: readonly TaskRow[]) => Answer<T>;
}

/** A queued task as the insert leaves it (the times are placeholders: the statement's own clock sets them). */
function asInserted(task: QueuedTask, at: Date): TaskRow {
  return {
    ...task,
    status: 'queued',
    model_index: 0,
    model_attempts: 0,
    attempts: 0,
    run_after: at,
    lease_owner: null,
    lease_expires_at: null,
    cancel_requested_at: null,
    reserved_usd: '0',
    reserved_provider_id: null,
    reserved_month: null,
    output_text: null,
    finish_reason: null,
    usage: null,
    cost_usd: '0',
    error: null,
    problems: null,
    skipped_models: [],
    queue_wait_ms: 0,
    provider_ms: 0,
    overhead_ms: 0,
    time_to_first_token_ms: null,
    created_at: at,
    started_at: null,
    finished_at: null,
    updated_at: at,
  };
}

/** The creating process's worker, with free slots reserved for tasks the create may start (0: it starts none). */
export interface Dispatch {
  owner: string;
  leaseMs: number;
  slots: number;
}

/** A row the create answers: the task, and for one it started, its attempt's id, wait and start. */
type Inserted = TaskRow & { attempt_id: string | null; wait_ms: number | null; claimed_at: Date | null };

/** A timestamptz as JavaScript's toISOString writes it (both truncate to the millisecond). */
const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * The tasks' key (if any), group, rows and events in one statement, those a claim would start now
 * started (within `dispatch.slots`). Answers `first` with the answer for the inserted rows and the tasks
 * started (`started`, for the worker to run), or the earlier use of the key (`replay` with its stored
 * answer, or `reused` when it came with another request: nothing was written).
 */
export async function insertTasks<T>(
  pool: Pool,
  creation: Creation<T>,
  dispatch: Dispatch = { owner: '', leaseMs: 0, slots: 0 },
): Promise<KeyOutcome<T> & { rows?: TaskRow[]; started?: ClaimedTask[] }> {
  const hash = creation.key.key === null ? null : requestHash(creation.key.operation, creation.key.request);
  const origin = { ...creation.origin, idempotency_key: creation.key.key, request_hash: hash };
  const { groupId, rows: queued } = queuedRows(creation.tasks, creation.lineage, origin);
  const events = queued.map(queuedEvent);
  const stored = hash === null ? null : creation.answer(queued.map((task) => asInserted(task, new Date(0))));
  const insert = outboxInsert(events, 12);
  const topics = [...events.map((event) => event.topic), ...(dispatch.slots > 0 ? [taskStarted.topic] : [])];
  const param = (i: number) => `$${12 + insert.values.length + i}`;
  const [payloadParam, owner, leaseMs, slots] = [param(0), param(1), param(2), param(3)];
  const [taskIds, attemptIds, eventIds, at] = [param(4), param(5), param(6), param(7)];
  const starts = queued.slice(0, dispatch.slots).map((task) => ({ task: task.id, attempt: uuidv7(), event: uuidv7() }));
  try {
    const result = await ringing(
      pool,
      async (lead, payload) => {
        const { rows } = await pool.query<Inserted & { waiting: boolean; rang: boolean }>({
          name: 'runner.create.tasks',
          text: `WITH grp AS (
             INSERT INTO runner.task_groups (id, requester, correlation)
             SELECT $2::uuid, $3, $4::jsonb WHERE $2::uuid IS NOT NULL
             RETURNING id
           ),
           ins AS (${insertQueuedText('$1', { owner, leaseMs, slots })} RETURNING ${TASK_COLUMNS}),
           started AS (
             SELECT t.*, d.attempt_id, d.event_id, ${STARTED_COLUMNS}
             FROM ins t JOIN unnest(${taskIds}::uuid[], ${attemptIds}::uuid[], ${eventIds}::uuid[]) AS d(task_id, attempt_id, event_id)
               ON d.task_id = t.id
             WHERE t.status = 'running'
           ),
           keyed AS (
             INSERT INTO runner.idempotency_keys (actor, key, operation, request_hash, status, response)
             SELECT $5, $6, $7, $8, $9::int,
               CASE WHEN $10::jsonb ? 'tasks'
                 THEN $10::jsonb || jsonb_build_object('tasks', (
                   SELECT jsonb_agg(b.value || jsonb_build_object('run_after', ${iso('i.run_after')},
                            'created_at', ${iso('i.created_at')}, 'updated_at', ${iso('i.updated_at')})
                          || CASE WHEN i.status = 'running' THEN jsonb_build_object('status', i.status,
                               'attempt_count', i.attempts, 'started_at', ${iso('i.started_at')}) ELSE '{}'::jsonb END
                          ORDER BY b.n)
                   FROM jsonb_array_elements($10::jsonb -> 'tasks') WITH ORDINALITY AS b(value, n)
                   JOIN ins i ON i.id = (b.value ->> 'id')::uuid))
                 ELSE $10::jsonb END
             WHERE $6::text IS NOT NULL
             RETURNING 1
           ),
           published AS (${insert.text} RETURNING 1),
           opened AS (${openAttempts('started', owner)} RETURNING 1),
           -- After the queued events (reading their insert's answer runs it first): a key's events keep their order.
           announced AS (${publishStarted('started', owner, at, '(SELECT count(*) FROM published) >= 0')} RETURNING 1),
           bell AS MATERIALIZED (SELECT ${doorbellColumns('$11', payloadParam)})
           SELECT ins.*, s.attempt_id, s.wait_ms, s.claimed_at, bell.waiting, bell.rang
           FROM ins LEFT JOIN started s ON s.id = ins.id CROSS JOIN bell`,
          values: [
            JSON.stringify(queued),
            groupId,
            origin.requester,
            origin.correlation === null ? null : JSON.stringify(origin.correlation),
            creation.key.actor,
            creation.key.key,
            creation.key.operation,
            hash,
            stored?.status ?? null,
            stored === null ? null : JSON.stringify(stored.body),
            lead,
            ...insert.values,
            payload,
            dispatch.owner,
            dispatch.leaseMs,
            dispatch.slots,
            starts.map((s) => s.task),
            starts.map((s) => s.attempt),
            starts.map((s) => s.event),
            new Date().toISOString(),
          ],
        });
        return rows.length > 0 ? { rows, waiting: rows[0]?.waiting ?? false, rang: rows[0]?.rang ?? false } : undefined;
      },
      topics,
    );
    const inserted = (result?.rows ?? []).sort((a, b) => (a.id < b.id ? -1 : 1));
    const rows = inserted.map(({ waiting: _w, rang: _r, attempt_id: _a, wait_ms: _m, claimed_at: _c, ...row }) => row as TaskRow);
    const started = inserted.flatMap(({ waiting: _w, rang: _r, attempt_id, wait_ms, claimed_at, ...row }) =>
      attempt_id === null
        ? []
        : [startedTask({ ...row, wait_ms: wait_ms as number, claimed_at: claimed_at as Date }, attempt_id)],
    );
    return { kind: 'first', ...creation.answer(rows), rows, started };
  } catch (error) {
    if (hash === null || !isPgError(error, PgCode.uniqueViolation) || error.constraint !== 'idempotency_keys_pkey') throw error;
    const earlier = await earlierUse<T>(pool, 'runner.idempotency_keys', { ...creation.key, key: creation.key.key as string });
    if (!earlier)
      throw new Error(`Idempotency key ${creation.key.key} of ${creation.key.actor} vanished while in use.`, { cause: error });
    return earlier;
  }
}
