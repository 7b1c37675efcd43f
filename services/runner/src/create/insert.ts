import { doorbellColumns, outboxInsert, ringing } from '@llmops/kit/bus/publish';
import { isPgError, PgCode, type Pool } from '@llmops/kit/db';
import { earlierUse, requestHash, type KeyOutcome, type KeyUse } from '@llmops/kit/idempotency';
import { queuedEvent, queuedRows } from '../tasks/lifecycle.ts';
import { insertQueuedText, type QueuedTask } from '../tasks/store.ts';
import { TASK_COLUMNS, type Lineage, type NewTask, type TaskOrigin, type TaskRow } from '../tasks/task.ts';

/*
 * A create is one statement in autocommit (data-modifying CTEs): the task group (for several tasks),
 * the tasks, their `runner.task.queued` events and the request's idempotency key, committed together
 * with no transaction left open between round trips. Everything that can be checked is checked
 * before (prepare.ts); the statement only writes. A key already taken (by a committed or a concurrent
 * create) makes the insert of its row fail with a unique violation, which undoes the whole statement;
 * the earlier use is then read and replayed or refused, as kit's `once` does in a transaction.
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
   * `id`; a body without `tasks` is stored as it is).
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

/** A timestamptz as JavaScript's toISOString writes it (both truncate to the millisecond). */
const iso = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * The tasks' key (if any), group, rows and events in one statement. Answers `first` with the answer
 * for the inserted rows, or the earlier use of the key (`replay` with its stored answer, or `reused`
 * when it came with another request: nothing was written).
 */
export async function insertTasks<T>(pool: Pool, creation: Creation<T>): Promise<KeyOutcome<T> & { rows?: TaskRow[] }> {
  const hash = creation.key.key === null ? null : requestHash(creation.key.operation, creation.key.request);
  const origin = { ...creation.origin, idempotency_key: creation.key.key, request_hash: hash };
  const { groupId, rows: queued } = queuedRows(creation.tasks, creation.lineage, origin);
  const events = queued.map(queuedEvent);
  const stored = hash === null ? null : creation.answer(queued.map((task) => asInserted(task, new Date(0))));
  const insert = outboxInsert(events, 12);
  const topics = events.map((event) => event.topic);
  const payloadParam = `$${12 + insert.values.length}`;
  try {
    const result = await ringing(
      pool,
      async (lead, payload) => {
        const { rows } = await pool.query<TaskRow & { waiting: boolean; rang: boolean }>({
          name: 'runner.create.tasks',
          text: `WITH grp AS (
             INSERT INTO runner.task_groups (id, requester, correlation)
             SELECT $2::uuid, $3, $4::jsonb WHERE $2::uuid IS NOT NULL
             RETURNING id
           ),
           ins AS (${insertQueuedText('$1')} RETURNING ${TASK_COLUMNS}),
           keyed AS (
             INSERT INTO runner.idempotency_keys (actor, key, operation, request_hash, status, response)
             SELECT $5, $6, $7, $8, $9::int,
               CASE WHEN $10::jsonb ? 'tasks'
                 THEN $10::jsonb || jsonb_build_object('tasks', (
                   SELECT jsonb_agg(b.value || jsonb_build_object('run_after', ${iso('i.run_after')},
                            'created_at', ${iso('i.created_at')}, 'updated_at', ${iso('i.updated_at')}) ORDER BY b.n)
                   FROM jsonb_array_elements($10::jsonb -> 'tasks') WITH ORDINALITY AS b(value, n)
                   JOIN ins i ON i.id = (b.value ->> 'id')::uuid))
                 ELSE $10::jsonb END
             WHERE $6::text IS NOT NULL
             RETURNING 1
           ),
           published AS (${insert.text} RETURNING 1),
           bell AS MATERIALIZED (SELECT ${doorbellColumns('$11', payloadParam)})
           SELECT ins.*, bell.waiting, bell.rang FROM ins CROSS JOIN bell`,
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
          ],
        });
        return rows.length > 0 ? { rows, waiting: rows[0]?.waiting ?? false, rang: rows[0]?.rang ?? false } : undefined;
      },
      topics,
    );
    const rows = (result?.rows ?? []).map(({ waiting: _w, rang: _r, ...row }) => row as TaskRow);
    rows.sort((a, b) => (a.id < b.id ? -1 : 1));
    return { kind: 'first', ...creation.answer(rows), rows };
  } catch (error) {
    if (hash === null || !isPgError(error, PgCode.uniqueViolation) || error.constraint !== 'idempotency_keys_pkey') throw error;
    const earlier = await earlierUse<T>(pool, 'runner.idempotency_keys', { ...creation.key, key: creation.key.key as string });
    if (!earlier)
      throw new Error(`Idempotency key ${creation.key.key} of ${creation.key.actor} vanished while in use.`, { cause: error });
    return earlier;
  }
}
