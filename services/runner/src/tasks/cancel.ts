import { publishMany, type Bus } from '@llmops/kit/bus/index';
import { withTransaction, type Pool, type Queryable } from '@llmops/kit/db';
import { taskCancelled } from '@llmops/kit/events/runner';
import { NotFound } from '@llmops/kit/problem';
import type { TaskEndings } from '../metrics.ts';
import * as cost from './cost.ts';
import { taskEvent } from './events.ts';
import * as store from './store.ts';
import type { TaskRow } from './task.ts';

/*
 * Cancelling a task, in one place (docs/tasks.md): a queued task is cancelled at once and never
 * starts; a running one is marked, and the instance running it aborts its provider request as soon as
 * the cancel reaches it over the `task_cancel` channel (its lease heartbeat notices the mark too), then
 * ends the task here; an ended task is left as it is.
 */

/** The ephemeral channel on which a cancel reaches whichever runner instance runs the task. */
const CANCEL_CHANNEL = 'task_cancel';

/** queued or running → cancelled: its reservation released, and `runner.task.cancelled` saying what it was. */
export async function cancelled(tx: Queryable, row: TaskRow, was: 'queued' | 'running'): Promise<TaskRow> {
  await cost.release(tx, row);
  const done = await store.cancel(tx, row.id);
  await publishMany(tx, [taskEvent(taskCancelled, done, { was })]);
  return done;
}

/** Records who changed a task, in the transaction of the change. */
export type AuditChange = (tx: Queryable, before: TaskRow, after: TaskRow) => Promise<void>;

/**
 * The API's cancel: answers the task as it is now, and whether it was running (the abort is on its way).
 * A queued task ends here, counted in `finished`; a running one ends where its attempt is recorded.
 */
export async function cancelTask(
  deps: { pool: Pool; bus: Bus; finished?: TaskEndings | undefined },
  id: string,
  audit: AuditChange,
): Promise<{ row: TaskRow; running: boolean }> {
  const { ended, ...outcome } = await withTransaction(deps.pool, async (tx) => {
    const row = await store.lock(tx, id);
    if (!row) throw new NotFound(`No task ${id}.`);
    if (row.status === 'queued') {
      const done = await cancelled(tx, row, 'queued');
      await audit(tx, row, done);
      return { row: done, running: false, ended: true };
    }
    if (row.status === 'running') {
      const marked = await store.requestCancel(tx, id);
      if (row.cancel_requested_at === null) await audit(tx, row, marked);
      return { row: marked, running: true, ended: false };
    }
    return { row, running: false, ended: false };
  });
  if (ended) deps.finished?.ended([outcome.row.status]);
  // After the commit: the instance running it aborts now (its heartbeat would notice it anyway).
  if (outcome.running) deps.bus.ephemeral.publish(CANCEL_CHANNEL, { task_id: id });
  return outcome;
}

/** Hears the cancels of running tasks, from any instance: `abort` is called with each task's id. Answers the unsubscribe. */
export function onCancel(bus: Bus, abort: (taskId: string) => void): Promise<() => Promise<void>> {
  return bus.ephemeral.subscribe<{ task_id?: string }>(CANCEL_CHANNEL, (items) => {
    for (const item of items) if (item.task_id) abort(item.task_id);
  });
}
