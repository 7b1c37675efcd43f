import { envelope, publishMany, type Envelope } from '@llmops/kit/bus/index';
import type { TaskStatus } from '@llmops/kit/contracts/runner';
import type { Queryable } from '@llmops/kit/db';
import {
  carriedOutput,
  taskFailed,
  taskQueued,
  taskRejected,
  taskRetrying,
  taskStarted,
  taskSucceeded,
} from '@llmops/kit/events/runner';
import { uuidv7 } from '@llmops/kit/ids';
import { usd } from '@llmops/kit/money';
import { Conflict, type FieldProblem } from '@llmops/kit/problem';
import type { GeneratedImage, Usage } from '@llmops/kit/adapters/types';
import * as attempts from './attempts.ts';
import { backoffMs } from './backoff.ts';
import { cancelled } from './cancel.ts';
import * as cost from './cost.ts';
import { taskEvent } from './events.ts';
import { attemptRequest, normalizedRequest } from './request.ts';
import * as store from './store.ts';
import type { ChainModel, Lineage, NewTask, TaskError, TaskOrigin, TaskRow } from './task.ts';

/*
 * A task's transitions (docs/tasks.md#lifecycle), each with the event it publishes, in the caller's
 * transaction: a state exists exactly when its event does. Cancel is in cancel.ts.
 */

/** The rows `queue` inserts for these tasks (a group id when there are several), ids made here. */
export function queuedRows(
  tasks: readonly NewTask[],
  lineage: Lineage,
  origin: TaskOrigin,
): { groupId: string | null; rows: store.QueuedTask[] } {
  const groupId = tasks.length > 1 ? uuidv7() : null;
  const rows = tasks.map((task) => ({
    ...task,
    ...lineage,
    id: uuidv7(),
    group_id: groupId,
    retry_of: origin.retry_of ?? null,
    requester: origin.requester,
    source: origin.source,
    idempotency_key: origin.idempotency_key ?? null,
    request_hash: origin.request_hash ?? null,
    priority: origin.priority,
    correlation: origin.correlation,
    inputs: origin.inputs,
  }));
  return { groupId, rows };
}

/**
 * `runner.task.queued` for a task as inserted (what the event says of it is known before the insert), or
 * given back by a stopping process (then with its attempts so far).
 */
export function queuedEvent(
  row: Pick<
    TaskRow,
    | 'id'
    | 'group_id'
    | 'correlation'
    | 'requester'
    | 'model_id'
    | 'provider_id'
    | 'kind'
    | 'priority'
    | 'template_id'
    | 'template_version'
    | 'retry_of'
  > & { attempts?: number },
): Envelope {
  return taskEvent(taskQueued, { ...row, attempts: row.attempts ?? 0 } as TaskRow, {
    kind: row.kind,
    priority: row.priority,
    template_id: row.template_id,
    template_version: row.template_version,
    retry_of: row.retry_of,
  });
}

/** [*] → queued: new tasks (a group when there are several), each with `runner.task.queued`. */
export async function queue(tx: Queryable, tasks: readonly NewTask[], lineage: Lineage, origin: TaskOrigin): Promise<TaskRow[]> {
  const { groupId, rows: queued } = queuedRows(tasks, lineage, origin);
  if (groupId) await store.insertGroup(tx, { id: groupId, requester: origin.requester, correlation: origin.correlation });
  const rows = await store.insertQueued(tx, queued);
  await publishMany(tx, rows.map(queuedEvent));
  return rows;
}

/** [*] → rejected: a bus request that did not validate, with its problems and `runner.task.rejected`. */
export async function reject(tx: Queryable, problems: readonly FieldProblem[], origin: TaskOrigin): Promise<TaskRow> {
  const row = await store.insertRejected(tx, uuidv7(), origin, problems);
  await publishMany(tx, [taskEvent(taskRejected, row, { problems: [...problems] })]);
  return row;
}

/**
 * No task: a bus request whose key its requester already used with another request. The requester is
 * told with `runner.task.rejected` (the request's correlation, the problem on `idempotency_key`) under a
 * `task_id` that names no task (the event's shape needs one; the original task's would tell its
 * watchers a falsehood).
 */
export async function refuseReusedKey(
  db: Queryable,
  requester: string,
  correlation: Record<string, unknown> | null,
): Promise<void> {
  await publishMany(db, [
    envelope(taskRejected, {
      task_id: uuidv7(),
      group_id: null,
      correlation,
      requester,
      model_id: null,
      provider_id: null,
      attempt: 0,
      at: new Date().toISOString(),
      problems: [{ field: 'idempotency_key', message: 'already used by this requester with a different request; use a new key' }],
    }),
  ]);
}

/** A task this process now runs: the row as claimed, the attempt it opened, and the model it calls. */
export interface ClaimedTask {
  row: TaskRow;
  model: ChainModel;
  attempt: { id: string; number: number; started_at: Date; queue_wait_ms: number };
}

/** queued → running under `owner`'s lease: one attempt opened per task, and `runner.task.started`. */
export async function start(tx: Queryable, ids: readonly string[], owner: string, leaseMs: number): Promise<ClaimedTask[]> {
  if (ids.length === 0) return [];
  const started = await store.start(tx, ids, owner, leaseMs);
  const claimed: ClaimedTask[] = started.map((row) => ({
    row,
    model: row.snapshot.chain[row.model_index] as ChainModel,
    attempt: { id: uuidv7(), number: row.attempts, started_at: row.claimed_at, queue_wait_ms: row.wait_ms },
  }));
  await attempts.open(
    tx,
    claimed.map(({ row, model, attempt }) => ({
      id: attempt.id,
      task_id: row.id,
      number: attempt.number,
      model_index: row.model_index,
      model_id: model.model_id,
      provider_id: model.provider_id,
      provider_model_id: model.provider_model_id,
      request: normalizedRequest(attemptRequest(row, model)),
      queue_wait_ms: attempt.queue_wait_ms,
      started_at: attempt.started_at,
    })),
    owner,
  );
  await publishMany(
    tx,
    claimed.map(({ row, attempt }) => taskEvent(taskStarted, row, { worker: owner, queue_wait_ms: attempt.queue_wait_ms })),
  );
  return claimed;
}

/**
 * Tasks a claim refused because each would take its model's provider past its monthly spend cap (`cap`,
 * USD). A cap is an error the next model can avoid: each moves down its chain at once (queued on the
 * next model, `runner.task.retrying` with `fallback: true`), the skipped model noted on the task, since
 * no request was made and so there is no attempt. With no model left it fails `budget_exceeded`.
 * Answers the states of the tasks that ended here (failed).
 */
export async function skipOverBudget(tx: Queryable, refused: readonly { id: string; cap: string }[]): Promise<TaskStatus[]> {
  if (refused.length === 0) return [];
  const capOf = new Map(refused.map((task) => [task.id, task.cap]));
  const rows = await store.getMany(
    tx,
    refused.map((task) => task.id),
  );
  const events = [];
  const ended: TaskStatus[] = [];
  for (const row of rows) {
    const model = row.snapshot.chain[row.model_index] as ChainModel;
    const next = row.snapshot.chain[row.model_index + 1] ?? null;
    const capped = `${model.display_name}'s provider is at its monthly spend cap (${usd(capOf.get(row.id) as string)} USD): this task would pass it`;
    const error: TaskError = {
      kind: 'budget_exceeded',
      message: next
        ? `${capped}; moved on to the next model of its chain (${next.display_name}) with no request made`
        : `${capped}, and no model of its chain is left to try; no request was made to it`,
      retryable: false,
      status: null,
      retry_after_ms: null,
      provider_code: null,
    };
    const skip = {
      model_index: row.model_index,
      model_id: model.model_id,
      provider_id: model.provider_id,
      kind: 'budget_exceeded' as const,
      message: capped,
    };
    const after = await store.skipModel(tx, row.id, error, skip, next);
    events.push(
      next
        ? taskEvent(taskRetrying, after, { error, run_after: after.run_after.toISOString(), fallback: true })
        : taskEvent(taskFailed, after, { error, cost_usd: usd(after.cost_usd) }),
    );
    if (!next) ended.push(after.status);
  }
  await publishMany(tx, events);
  return ended;
}

/**
 * Whether `owner` still holds the task for this attempt. The end of an attempt is fenced by it: a
 * process that lost the lease (another claimed the task since) changes nothing but its own attempt,
 * so a task never succeeds twice.
 */
export function heldBy(row: TaskRow, owner: string, attempt: number): boolean {
  return row.status === 'running' && row.lease_owner === owner && row.attempts === attempt;
}

/** running → succeeded: the output, the attempt's images, its reservation released, and `runner.task.succeeded`. */
export async function succeed(
  tx: Queryable,
  row: TaskRow,
  attemptId: string,
  output: { text: string; finish_reason: string | null; usage: Usage | null; images: readonly GeneratedImage[] },
): Promise<TaskRow> {
  await cost.release(tx, row);
  const done = await store.succeed(tx, row.id, output);
  await attempts.insertImages(tx, row.id, attemptId, output.images);
  await publishMany(tx, [
    taskEvent(taskSucceeded, done, {
      output_chars: output.text.length,
      ...carriedOutput(done.kind, output.text),
      finish_reason: output.finish_reason,
      usage: output.usage ?? { input_tokens: 0, output_tokens: 0, cached_input_tokens: 0 },
      cost_usd: usd(done.cost_usd),
      images: output.images.length,
    }),
  ]);
  return done;
}

/** Where a failed attempt sends its task (when no cancel was asked). */
export type AfterFailure = { to: 'requeue'; delayMs: number } | { to: 'fallback'; next: ChainModel } | { to: 'fail' };

/**
 * Back to the queue after a backoff while attempts on this model remain and the error is retryable;
 * else on to the next model of its chain; else failed with the last error. `row` is the task as its
 * attempt left it running (its attempts on this model counted).
 */
export function afterFailurePlan(
  row: Pick<TaskRow, 'snapshot' | 'model_attempts' | 'model_index'>,
  error: TaskError,
): AfterFailure {
  const policy = row.snapshot.retry_policy;
  if (error.retryable && row.model_attempts < policy.max_attempts)
    return { to: 'requeue', delayMs: backoffMs(policy, row.model_attempts, error.retry_after_ms) };
  const next = row.snapshot.chain[row.model_index + 1];
  return next ? { to: 'fallback', next } : { to: 'fail' };
}

/**
 * What a failed or abandoned attempt does to its task (the row locked by the caller): `afterFailurePlan`,
 * its reservation released. A cancel request wins over all.
 */
export async function afterFailure(tx: Queryable, row: TaskRow, error: TaskError): Promise<TaskRow> {
  if (row.cancel_requested_at) return cancelled(tx, row, 'running');
  await cost.release(tx, row);
  const plan = afterFailurePlan(row, error);
  if (plan.to === 'requeue') {
    const next = await store.requeue(tx, row.id, error, plan.delayMs);
    await publishMany(tx, [taskEvent(taskRetrying, next, { error, run_after: next.run_after.toISOString(), fallback: false })]);
    return next;
  }
  if (plan.to === 'fallback') {
    const next = await store.fallBack(tx, row.id, error, plan.next);
    await publishMany(tx, [taskEvent(taskRetrying, next, { error, run_after: next.run_after.toISOString(), fallback: true })]);
    return next;
  }
  const [failed] = (await store.fail(tx, [row.id], error)) as [TaskRow];
  await publishMany(tx, [taskEvent(taskFailed, failed, { error, cost_usd: usd(failed.cost_usd) })]);
  return failed;
}

/**
 * running → queued at once, by a process that is stopping, rather than after its lease expires; its
 * reservation is released (the next claim reserves again). It publishes `runner.task.queued` again:
 * watchers see the task waiting, and the workers of other instances wake for it (not at their next poll).
 */
export async function giveBack(tx: Queryable, row: TaskRow, costUsd: string): Promise<TaskRow> {
  const back = await store.giveBack(tx, row.id, costUsd);
  await cost.release(tx, back);
  await publishMany(tx, [queuedEvent(back)]);
  return back;
}

/** A task may run again, as a new task, once it has ended; a rejected one has nothing to run. */
export function assertRetryable(row: TaskRow): void {
  if (row.source === 'legacy')
    throw new Conflict(
      'A legacy record was never run here and has no model to run on; create a new task from its messages instead.',
    );
  if (row.status === 'rejected')
    throw new Conflict('A rejected task has nothing to run again; fix the request and create a new task.');
  if (row.status === 'queued' || row.status === 'running')
    throw new Conflict(`The task is still ${row.status}; cancel it or wait for it to end before retrying.`);
}
