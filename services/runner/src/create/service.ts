import type { z } from 'zod';
import { TaskCreateSchema, type TaskCreate } from '@llmops/kit/contracts/runner';
import { withTransaction, type Pool, type Queryable } from '@llmops/kit/db';
import type { taskRequested } from '@llmops/kit/events/runner';
import { earlierUse, once, type KeyUse } from '@llmops/kit/idempotency';
import { fieldPath, NotFound, Unprocessable, type FieldProblem } from '@llmops/kit/problem';
import type { Bus } from '@llmops/kit/bus/index';
import { keyReused } from '@llmops/kit/http/idempotency';
import type { ServiceClient } from '@llmops/kit/http/service-client';
import type { Spans } from '@llmops/kit/http/spans';
import * as reads from '../db/reads.ts';
import type { TaskEndings } from '../metrics.ts';
import { cancelTask, type AuditChange } from '../tasks/cancel.ts';
import { assertRetryable, queue, refuseReusedKey, reject, type ClaimedTask } from '../tasks/lifecycle.ts';
import type { Lineage, TaskOrigin, TaskRow } from '../tasks/task.ts';
import { TemplateDefaults } from './defaults.ts';
import { insertTasks, type Answer, type Creation } from './insert.ts';
import { prepareTasks, resolveRetry, type Prepared } from './prepare.ts';

export interface TaskServiceDeps {
  pool: Pool;
  bus: Bus;
  registry: ServiceClient;
  prompt: ServiceClient;
  /** Called after a commit that queued tasks (their ids): this process's workers look at once. */
  wake: (queued?: readonly string[]) => void;
  /**
   * This process's worker (worker.ts), which runs the tasks a create starts itself when it has free slots
   * (create/insert.ts); without it every created task is queued for a claim.
   */
  dispatch?: Dispatcher;
  /** Counts the tasks ended here: a request rejected, a queued task cancelled (metrics.ts). */
  finished?: TaskEndings;
}

/** What a create needs of its process's worker to start tasks itself. */
export interface Dispatcher {
  readonly owner: string;
  readonly leaseMs: number;
  /** Holds up to `wanted` free slots; answers how many. */
  reserve(wanted: number): number;
  /** Runs the tasks started in the `reserved` slots and frees the rest. */
  adopt(reserved: number, started: readonly ClaimedTask[]): void;
}

function unprocessable(problems: FieldProblem[]): Unprocessable {
  return new Unprocessable(`The task cannot be created: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`, problems);
}

/** Creating, cancelling and retrying tasks: what the API routes and the bus consumer share. */
export class TaskService {
  readonly #deps: TaskServiceDeps & { defaults: TemplateDefaults };

  constructor(deps: TaskServiceDeps) {
    this.#deps = { ...deps, defaults: new TemplateDefaults() };
  }

  /** Resolves and checks a request for `requester` (`account:<id>`); throws a 422 listing every problem. */
  async prepare(request: TaskCreate, requestId: string, requester: string, spans?: Spans) {
    const result = await prepareTasks(this.#deps, request, { requestId, requester, spans });
    if ('problems' in result) throw unprocessable(result.problems);
    return result.prepared;
  }

  /**
   * A `runner.task.requested` event (ADR 0010): the task, or a `rejected` task when the request does not
   * validate. Its key (default: the event id) goes through kit's idempotency core as an HTTP create's does:
   * a redelivery is the same task; the key with another request makes no task and is answered with
   * `runner.task.rejected` on `idempotency_key`.
   */
  async fromEvent(event: { id: string; payload: z.output<typeof taskRequested.payload> }, requestId: string): Promise<void> {
    const { requester, request } = event.payload;
    const actor = `service:${requester}`;
    const use: KeyUse = { actor, key: event.payload.idempotency_key ?? event.id, operation: 'task.request', request };
    // A key used before is settled without asking other services anything; the claim below settles races.
    const earlier = await earlierUse(this.#deps.pool, TASK_KEYS, use);
    if (earlier) {
      if (earlier.kind === 'reused') await refuseReusedKey(this.#deps.pool, actor, correlationOf(request));
      return;
    }
    const parsed = TaskCreateSchema.safeParse(request);
    const origin: TaskOrigin = {
      requester: actor,
      source: 'bus',
      priority: parsed.success ? parsed.data.priority : 0,
      correlation: parsed.success ? (parsed.data.correlation ?? null) : correlationOf(request),
      inputs: parsed.success ? parsed.data.inputs : {},
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
    if (prepared) {
      const outcome = await this.#insert({
        tasks: prepared.tasks,
        lineage: lineageOf(prepared),
        origin,
        key: use,
        answer: (rows) => ({ status: 201, body: { group_id: rows[0]?.group_id ?? null, task_ids: rows.map((row) => row.id) } }),
      });
      if (outcome.kind === 'reused') await refuseReusedKey(this.#deps.pool, actor, correlationOf(request));
      return;
    }
    const used = await withTransaction(this.#deps.pool, async (tx) => {
      const used = await once(tx, TASK_KEYS, use, async (claimed) => {
        const row = await reject(tx, problems, { ...origin, idempotency_key: claimed.key, request_hash: claimed.requestHash });
        return { status: 422, body: { group_id: null, task_ids: [row.id] } };
      });
      if (used.kind === 'reused') await refuseReusedKey(tx, actor, correlationOf(request));
      return used;
    });
    if (used.kind === 'first') this.#deps.finished?.ended(['rejected']);
  }

  /**
   * Creates prepared tasks in one statement (create/insert.ts) for `requester`, honouring the request's
   * `Idempotency-Key` (ADR 0013) as kit's `c.var.idempotent` does: the same key and request replay the
   * stored answer; the key with another request is a 422 on `header.idempotency-key`.
   */
  async create<T>(
    prepared: Prepared,
    origin: TaskOrigin,
    key: { key: string | undefined; operation: string; request: unknown },
    answer: (rows: readonly TaskRow[]) => Answer<T>,
    spans?: Spans,
  ): Promise<Answer<T> & { replayed: boolean }> {
    const creation = {
      tasks: prepared.tasks,
      lineage: lineageOf(prepared),
      origin,
      key: { actor: origin.requester, key: key.key ?? null, operation: key.operation, request: key.request },
      answer,
    };
    const insert = () => this.#insert(creation);
    const outcome = await (spans ? spans.time('insert', insert) : insert());
    if (outcome.kind === 'reused') throw keyReused();
    return { status: outcome.status, body: outcome.body, replayed: outcome.kind === 'replay' };
  }

  /**
   * Inserts a creation's tasks, starting those its worker has slots for and a claim would start now;
   * hands those to the worker, and wakes it for the ones left queued.
   */
  async #insert<T>(creation: Creation<T>) {
    const { dispatch } = this.#deps;
    const slots = dispatch?.reserve(creation.tasks.length) ?? 0;
    let outcome: Awaited<ReturnType<typeof insertTasks<T>>> | undefined;
    try {
      outcome = await insertTasks(
        this.#deps.pool,
        creation,
        dispatch && slots > 0 ? { owner: dispatch.owner, leaseMs: dispatch.leaseMs, slots } : undefined,
      );
    } finally {
      dispatch?.adopt(slots, outcome?.started ?? []);
    }
    if (outcome.kind === 'first') {
      const started = new Set((outcome.started ?? []).map((task) => task.row.id));
      const queued = (outcome.rows ?? []).filter((row) => !started.has(row.id)).map((row) => row.id);
      if (queued.length > 0) this.#deps.wake(queued);
    }
    return outcome;
  }

  /** Cancels a task (tasks/cancel.ts): a queued one at once, a running one by aborting its provider request. */
  async cancel(id: string, audit: AuditChange): Promise<{ row: TaskRow; running: boolean }> {
    return cancelTask(this.#deps, id, audit);
  }

  /** A new task with the same snapshot (optionally on another model or preset), linked to the original. */
  async retry(
    id: string,
    options: { model_id?: string | undefined; preset_id?: string | undefined; priority?: number | undefined },
    requester: string,
    requestId: string,
    tx: Queryable,
  ): Promise<TaskRow> {
    const original = await reads.get(this.#deps.pool, id);
    if (!original) throw new NotFound(`No task ${id}.`);
    assertRetryable(original);
    // Checked like a create: the models and preset may have changed since.
    const resolved = await resolveRetry(this.#deps, original.snapshot, options, requestId);
    if ('problems' in resolved) throw unprocessable(resolved.problems);
    const [task] = await queue(
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

/** Bus requests share the runner's idempotency keys with its HTTP creates, under their own operation. */
const TASK_KEYS = 'runner.idempotency_keys';

function lineageOf(prepared: Prepared): Lineage {
  return {
    template_id: prepared.rendered.template_id,
    template_version: prepared.rendered.template_version,
    template_label: prepared.rendered.template_label,
    part_versions: prepared.rendered.part_versions,
    preset_id: prepared.preset_id,
  };
}
