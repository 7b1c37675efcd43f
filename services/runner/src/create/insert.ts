import { envelope, publishMany } from '@llmops/kit/bus/index';
import type { Queryable } from '@llmops/kit/db';
import { taskQueued, taskRejected } from '@llmops/kit/events/runner';
import { uuidv7 } from '@llmops/kit/ids';
import type { FieldProblem } from '@llmops/kit/problem';
import type { TaskRow, TaskSnapshot } from '../tasks/model.ts';
import type { Prepared } from './prepare.ts';

/** Who asked, and how: stored with each task. */
export interface TaskOrigin {
  requester: string;
  source: 'api' | 'bus' | 'retry';
  priority: number;
  correlation: Record<string, unknown> | null;
  inputs: Record<string, unknown>;
  /** The idempotency key the request came with, and the hash of that request (kit's idempotency.ts). */
  idempotency_key?: string | null;
  request_hash?: string | null;
  retry_of?: string | null;
}

const INSERT_TASKS = `INSERT INTO runner.tasks
  (id, group_id, retry_of, requester, source, idempotency_key, request_hash, status, kind, priority, correlation,
   template_id, template_version, template_label, part_versions, preset_id, inputs, snapshot, model_id, provider_id)
  SELECT t.id, t.group_id, t.retry_of, t.requester, t.source, t.idempotency_key, t.request_hash, 'queued', t.kind, t.priority, t.correlation,
         t.template_id, t.template_version, t.template_label, t.part_versions, t.preset_id, t.inputs, t.snapshot, t.model_id, t.provider_id
  FROM jsonb_to_recordset($1::jsonb) AS t(id uuid, group_id uuid, retry_of uuid, requester text, source text, idempotency_key text,
       request_hash text, kind text, priority integer, correlation jsonb, template_id uuid, template_version integer, template_label text,
       part_versions jsonb, preset_id uuid, inputs jsonb, snapshot jsonb, model_id uuid, provider_id uuid)
  RETURNING *`;

export interface NewTask {
  kind: 'chat' | 'image';
  snapshot: TaskSnapshot;
  model_id: string;
  provider_id: string;
}

export interface Lineage {
  template_id: string | null;
  template_version: number | null;
  template_label: string | null;
  part_versions: { part_id: string; version: number | 'draft' }[];
  preset_id: string | null;
}

export function lineageOf(prepared: Prepared): Lineage {
  return {
    template_id: prepared.rendered.template_id,
    template_version: prepared.rendered.template_version,
    template_label: prepared.rendered.template_label,
    part_versions: prepared.rendered.part_versions,
    preset_id: prepared.preset_id,
  };
}

/**
 * Inserts queued tasks (a group when there are several) and their `runner.task.queued` events in the
 * caller's transaction: a task exists exactly when its event does.
 */
export async function insertTasks(
  tx: Queryable,
  tasks: readonly NewTask[],
  lineage: Lineage,
  origin: TaskOrigin,
): Promise<TaskRow[]> {
  let groupId: string | null = null;
  if (tasks.length > 1) {
    groupId = uuidv7();
    await tx.query(`INSERT INTO runner.task_groups (id, requester, correlation) VALUES ($1, $2, $3)`, [
      groupId,
      origin.requester,
      origin.correlation === null ? null : JSON.stringify(origin.correlation),
    ]);
  }
  const records = tasks.map((task) => ({
    id: uuidv7(),
    group_id: groupId,
    retry_of: origin.retry_of ?? null,
    requester: origin.requester,
    source: origin.source,
    idempotency_key: origin.idempotency_key ?? null,
    request_hash: origin.request_hash ?? null,
    kind: task.kind,
    priority: origin.priority,
    correlation: origin.correlation,
    ...lineage,
    inputs: origin.inputs,
    snapshot: task.snapshot,
    model_id: task.model_id,
    provider_id: task.provider_id,
  }));
  const { rows } = await tx.query<TaskRow>(INSERT_TASKS, [JSON.stringify(records)]);
  rows.sort((a, b) => (a.id < b.id ? -1 : 1));
  const at = new Date().toISOString();
  await publishMany(
    tx,
    rows.map((row) =>
      envelope(taskQueued, {
        task_id: row.id,
        group_id: row.group_id,
        correlation: row.correlation,
        model_id: row.model_id,
        provider_id: row.provider_id,
        attempt: 0,
        at,
        kind: row.kind,
        priority: row.priority,
        template_id: row.template_id,
        template_version: row.template_version,
        retry_of: row.retry_of,
      }),
    ),
  );
  return rows;
}

/** A bus request that failed validation: a terminal `rejected` task with its problems, and its event. */
export async function insertRejected(tx: Queryable, problems: readonly FieldProblem[], origin: TaskOrigin): Promise<TaskRow> {
  const snapshot = { messages: [], parameters: {}, chain: [], rejected: true };
  const { rows } = await tx.query<TaskRow>(
    `INSERT INTO runner.tasks (id, requester, source, idempotency_key, request_hash, status, kind, priority, correlation,
       inputs, snapshot, problems, finished_at)
     VALUES ($1, $2, $3, $4, $5, 'rejected', 'chat', $6, $7, $8, $9, $10, now())
     RETURNING *`,
    [
      uuidv7(),
      origin.requester,
      origin.source,
      origin.idempotency_key ?? null,
      origin.request_hash ?? null,
      origin.priority,
      origin.correlation === null ? null : JSON.stringify(origin.correlation),
      JSON.stringify(origin.inputs),
      JSON.stringify(snapshot),
      JSON.stringify(problems),
    ],
  );
  const row = rows[0] as TaskRow;
  await publishMany(tx, [
    envelope(taskRejected, {
      task_id: row.id,
      group_id: null,
      correlation: row.correlation,
      model_id: null,
      provider_id: null,
      attempt: 0,
      at: new Date().toISOString(),
      problems: [...problems],
    }),
  ]);
  return row;
}
