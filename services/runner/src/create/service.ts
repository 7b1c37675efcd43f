import type { z } from 'zod';
import { TaskCreateSchema, type TaskCreate } from '@llmops/kit/contracts/runner';
import { envelope, publishMany } from '@llmops/kit/bus/index';
import { withTransaction, type Pool, type Queryable } from '@llmops/kit/db';
import { taskCancelled, type taskRequested } from '@llmops/kit/events/runner';
import { Conflict, fieldPath, NotFound, Unprocessable, type FieldProblem } from '@llmops/kit/problem';
import type { Bus } from '@llmops/kit/bus/index';
import type { ServiceClient } from '@llmops/kit/http/service-client';
import { releaseReservation } from '../worker/spend.ts';
import type { TaskRow, TaskSnapshot } from '../tasks/model.ts';
import { insertRejected, insertTasks, lineageOf, type TaskOrigin } from './insert.ts';
import { prepareTasks, resolveRetry } from './prepare.ts';

/** The ephemeral channel on which a cancel reaches whichever runner instance runs the task. */
export const CANCEL_CHANNEL = 'task_cancel';

export interface TaskServiceDeps {
  pool: Pool;
  bus: Bus;
  registry: ServiceClient;
  prompt: ServiceClient;
  /** Called after a commit that queued tasks: this process's workers look at once. */
  wake: () => void;
}

function unprocessable(problems: FieldProblem[]): Unprocessable {
  return new Unprocessable(`The task cannot be created: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`, problems);
}

/** Creating, cancelling and retrying tasks: what the API routes and the bus consumer share. */
export class TaskService {
  readonly #deps: TaskServiceDeps;

  constructor(deps: TaskServiceDeps) {
    this.#deps = deps;
  }

  /** Resolves and checks a request for `requester` (`account:<id>`); throws a 422 listing every problem. */
  async prepare(request: TaskCreate, requestId: string, requester: string) {
    const result = await prepareTasks(this.#deps, request, { requestId, requester });
    if ('problems' in result) throw unprocessable(result.problems);
    return result.prepared;
  }

  /** Inserts prepared tasks in the caller's transaction. */
  async insert(tx: Queryable, prepared: Awaited<ReturnType<TaskService['prepare']>>, origin: TaskOrigin): Promise<TaskRow[]> {
    return insertTasks(tx, prepared.tasks, lineageOf(prepared), origin);
  }

  /**
   * A `runner.task.requested` event: the task, or a `rejected` task when the request does not validate
   * (ADR 0010). Redelivery is harmless: the same requester and key find the task already there.
   */
  async fromEvent(event: { id: string; payload: z.output<typeof taskRequested.payload> }, requestId: string): Promise<void> {
    const { requester, request } = event.payload;
    const key = event.payload.idempotency_key ?? event.id;
    const actor = `service:${requester}`;
    const existing = await this.#deps.pool.query('SELECT 1 FROM runner.tasks WHERE requester = $1 AND idempotency_key = $2', [
      actor,
      key,
    ]);
    if (existing.rowCount) return;
    const parsed = TaskCreateSchema.safeParse(request);
    const correlation = correlationOf(request);
    const origin: TaskOrigin = {
      requester: actor,
      source: 'bus',
      priority: parsed.success ? parsed.data.priority : 0,
      correlation: parsed.success ? (parsed.data.correlation ?? null) : correlation,
      inputs: parsed.success ? parsed.data.inputs : {},
      idempotency_key: key,
    };
    let problems: FieldProblem[];
    let prepared: Awaited<ReturnType<TaskService['prepare']>> | undefined;
    if (!parsed.success) {
      problems = parsed.error.issues.map((issue) => ({ field: fieldPath('body', ...issue.path), message: issue.message }));
    } else {
      const result = await prepareTasks(this.#deps, parsed.data, { requestId, requester: actor });
      problems = 'problems' in result ? result.problems : [];
      prepared = 'prepared' in result ? result.prepared : undefined;
    }
    await withTransaction(this.#deps.pool, async (tx) => {
      // The key's unique index settles a race between two instances handling a redelivered event.
      await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`${actor}\n${key}`]);
      const again = await tx.query('SELECT 1 FROM runner.tasks WHERE requester = $1 AND idempotency_key = $2', [actor, key]);
      if (again.rowCount) return;
      if (prepared) await this.insert(tx, prepared, origin);
      else await insertRejected(tx, problems, origin);
    });
    if (prepared) this.#deps.wake();
  }

  /**
   * Cancels a task: a queued one at once (it never starts); a running one is marked and the instance
   * running it aborts its provider request; an ended one is left as it is.
   */
  async cancel(
    id: string,
    audit: (tx: Queryable, before: TaskRow, after: TaskRow) => Promise<void>,
  ): Promise<{ row: TaskRow; running: boolean }> {
    const outcome = await withTransaction(this.#deps.pool, async (tx) => {
      const { rows } = await tx.query<TaskRow>('SELECT * FROM runner.tasks WHERE id = $1 FOR UPDATE', [id]);
      const row = rows[0];
      if (!row) throw new NotFound(`No task ${id}.`);
      if (row.status === 'queued') {
        const updated = await tx.query<TaskRow>(
          `UPDATE runner.tasks SET status = 'cancelled', cancel_requested_at = now(), finished_at = now(), updated_at = now()
           WHERE id = $1 RETURNING *`,
          [id],
        );
        const cancelled = updated.rows[0] as TaskRow;
        await releaseReservation(tx, cancelled);
        await audit(tx, row, cancelled);
        await publishMany(tx, [
          envelope(taskCancelled, {
            task_id: id,
            group_id: cancelled.group_id,
            correlation: cancelled.correlation,
            model_id: cancelled.model_id,
            provider_id: cancelled.provider_id,
            attempt: cancelled.attempts,
            at: new Date().toISOString(),
            was: 'queued',
          }),
        ]);
        return { row: cancelled, running: false };
      }
      if (row.status === 'running') {
        const updated = await tx.query<TaskRow>(
          `UPDATE runner.tasks SET cancel_requested_at = coalesce(cancel_requested_at, now()), updated_at = now()
           WHERE id = $1 RETURNING *`,
          [id],
        );
        const marked = updated.rows[0] as TaskRow;
        if (row.cancel_requested_at === null) await audit(tx, row, marked);
        return { row: marked, running: true };
      }
      return { row, running: false };
    });
    // After the commit: the instance running it aborts now (its heartbeat would notice it anyway).
    if (outcome.running) this.#deps.bus.ephemeral.publish(CANCEL_CHANNEL, { task_id: id });
    return outcome;
  }

  /** A new task with the same snapshot (optionally on another model or preset), linked to the original. */
  async retry(
    id: string,
    options: { model_id?: string | undefined; preset_id?: string | undefined; priority?: number | undefined },
    requester: string,
    requestId: string,
    tx: Queryable,
  ): Promise<TaskRow> {
    const { rows } = await this.#deps.pool.query<TaskRow>('SELECT * FROM runner.tasks WHERE id = $1', [id]);
    const original = rows[0];
    if (!original) throw new NotFound(`No task ${id}.`);
    if (original.status === 'rejected')
      throw new Conflict('A rejected task has nothing to run again; fix the request and create a new task.');
    if (original.status === 'queued' || original.status === 'running')
      throw new Conflict(`The task is still ${original.status}; cancel it or wait for it to end before retrying.`);
    const resolved = await resolveRetry(this.#deps, original.snapshot as TaskSnapshot, options, requestId);
    if ('problems' in resolved) throw unprocessable(resolved.problems);
    const [task] = await insertTasks(
      tx,
      [resolved.task],
      {
        template_id: original.template_id,
        template_version: original.template_version,
        template_label: original.template_label,
        part_versions: original.part_versions,
        preset_id: options.preset_id ?? original.preset_id,
      },
      {
        requester,
        source: 'retry',
        priority: options.priority ?? original.priority,
        correlation: original.correlation,
        inputs: original.inputs,
        retry_of: original.id,
      },
    );
    return task as TaskRow;
  }

  wake(): void {
    this.#deps.wake();
  }
}

function correlationOf(request: Record<string, unknown>): Record<string, unknown> | null {
  const value = request.correlation;
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}
