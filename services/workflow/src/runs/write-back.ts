import { publish } from '@llmops/kit/bus/index';
import { withTransaction, type Pool } from '@llmops/kit/db';
import { runFinished } from '@llmops/kit/events/workflow';
import { uuidv7 } from '@llmops/kit/ids';
import type { FieldProblem } from '@llmops/kit/problem';
import { recordAudit } from '@llmops/kit/http/audit';
import type { ServiceClient } from '@llmops/kit/http/service-client';
import { valueFromImageTask, valueFromOutput, type ImageTaskOutput } from '../actions/request.ts';
import { readTask } from '../clients/runner-tasks.ts';
import * as fields from '../db/fields.ts';
import type { FieldRow } from '../db/fields.ts';
import * as runs from '../db/runs.ts';
import type { RunStatus } from '../db/runs.ts';
import * as sections from '../db/sections.ts';
import * as suggestions from '../db/suggestions.ts';
import * as values from '../db/values.ts';
import { valueProblems } from '../fields/values.ts';
import { writeValue } from '../revisions/write.ts';

/** The requester the runner gives the workflow's bus requests (`service:<name>`). */
export const WORKFLOW_REQUESTER = 'service:workflow';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What a terminal task event carries that the write-back reads. */
export interface TerminalEvent {
  topic: 'runner.task.succeeded' | 'runner.task.failed' | 'runner.task.cancelled' | 'runner.task.rejected';
  payload: {
    task_id: string;
    requester?: string | undefined;
    correlation: Record<string, unknown> | null;
    error?: unknown;
    problems?: unknown;
    cost_usd?: string | undefined;
    was?: unknown;
    /** On `succeeded`: a text task's whole output, when it is short enough to travel in the event. */
    output_text?: string | undefined;
  };
}

/** What the write-back uses of a succeeded task: its output (text, or images and the attempt that made them) and cost. */
type SucceededTask = ImageTaskOutput & { output_text: string | null; cost_usd: string };

/** The run a task event names, if the event could be one of ours: our requester and a run id. */
export function runIdOf(payload: {
  requester?: string | undefined;
  correlation: Record<string, unknown> | null;
}): string | undefined {
  if (payload.requester !== WORKFLOW_REQUESTER) return undefined;
  const id = payload.correlation?.action_run_id;
  return typeof id === 'string' && UUID.test(id) ? id : undefined;
}

export interface WriteBackDeps {
  pool: Pool;
  runner: ServiceClient;
}

/**
 * The end of one of our runs' tasks, written back once (DESIGN D12, ADR 0016). Acts only when the event's
 * requester is the workflow and its correlation names a run of ours still waiting for that very task. A
 * text task's output travels in its `runner.task.succeeded` event (the runner publishes it with the
 * task's own requester and correlation); an image task's, or an output too long for the event, is read
 * once through the runner and checked against the run the same way. Then, in one transaction (the run's
 * row locked, the suggestion unique by task id), it writes a suggestion, or in `apply` mode a revision by
 * the task, or the failure. A redelivered event finds the run finished and changes nothing. A target
 * changed since the run's base revision always gives a conflict suggestion, even in `apply` mode.
 */
export async function writeBack(deps: WriteBackDeps, event: TerminalEvent, requestId: string): Promise<RunStatus | undefined> {
  const runId = runIdOf(event.payload);
  if (!runId) return undefined;
  const taskId = event.payload.task_id;
  let task: SucceededTask | undefined;
  if (event.topic === 'runner.task.succeeded') {
    task = await succeededTask(deps, event.payload, runId, requestId);
    if (!task) return undefined;
  }

  return withTransaction(deps.pool, async (tx) => {
    const run = await runs.claimWaiting(tx, runId, taskId);
    if (!run) return undefined;
    const finished = async (status: Exclude<RunStatus, 'requested'>, suggestionId: string | null) => {
      await publish(tx, runFinished, {
        post_id: run.post_id,
        section_id: run.section_id,
        action_id: run.action_id,
        action_run_id: run.id,
        task_id: taskId,
        status,
        suggestion_id: suggestionId,
        at: new Date().toISOString(),
      });
      return status;
    };

    if (event.topic !== 'runner.task.succeeded' || !task) {
      const status =
        event.topic === 'runner.task.rejected' ? 'rejected' : event.topic === 'runner.task.cancelled' ? 'cancelled' : 'failed';
      const error =
        event.topic === 'runner.task.rejected'
          ? { problems: event.payload.problems ?? [] }
          : event.topic === 'runner.task.cancelled'
            ? { was: event.payload.was ?? null }
            : (event.payload.error ?? null);
      // A failed task may have cost something (attempts that reached the provider): it shows in the history.
      await runs.finish(tx, run.id, { status, taskId, error, costUsd: event.payload.cost_usd ?? null });
      return finished(status, null);
    }

    const field = (await fields.get(tx, run.target_field_id)) as FieldRow;
    const output = task.output_text ?? '';
    const parsed = field.kind === 'image' ? valueFromImageTask(task) : valueFromOutput(field, output);
    const reasons: FieldProblem[] = [
      ...(parsed.problem ? [{ field: 'value', message: parsed.problem }] : []),
      ...(parsed.problem ? [] : valueProblems(field, parsed.value, 'value')),
    ];
    const target = { postId: run.post_id, sectionId: run.section_id, fieldId: field.id };
    const section = run.section_id ? await sections.get(tx, run.post_id, run.section_id) : undefined;
    const obsolete = section?.removed_at != null;
    const current = await values.current(tx, target, { lock: true });
    const changed = (current?.id ?? null) !== run.target_base_revision_id;
    const outcome = { taskId, outputText: task.output_text, costUsd: task.cost_usd };

    if (!obsolete && !changed && run.mode === 'apply' && reasons.length === 0) {
      const written = await writeValue(tx, {
        ...target,
        field,
        value: parsed.value,
        base: run.target_base_revision_id,
        author: { kind: 'task', id: taskId },
        sourceTaskId: taskId,
      });
      await runs.finish(tx, run.id, { status: 'applied', ...outcome });
      await recordAudit(tx, 'workflow', {
        actor: { kind: 'service', id: 'workflow' },
        action: 'value.applied',
        resource: { type: 'field_value', id: written.value_id },
        before: null,
        after: {
          post_id: run.post_id,
          section_id: run.section_id,
          field_key: field.key,
          revision_id: written.id,
          task_id: taskId,
        },
        requestId,
      });
      return finished('applied', null);
    }

    const status = obsolete ? 'obsolete' : changed ? 'conflict' : 'open';
    const suggestionId = uuidv7();
    await suggestions.insert(tx, {
      id: suggestionId,
      task_id: taskId,
      action_run_id: run.id,
      post_id: run.post_id,
      section_id: run.section_id,
      field_id: field.id,
      value: parsed.value,
      base_revision_id: run.target_base_revision_id,
      valid: reasons.length === 0,
      invalid_reasons: reasons,
      status,
    });
    await recordAudit(tx, 'workflow', {
      actor: { kind: 'service', id: 'workflow' },
      action: 'suggestion.created',
      resource: { type: 'workflow_suggestion', id: suggestionId },
      before: null,
      after: { post_id: run.post_id, section_id: run.section_id, field_key: field.key, status, task_id: taskId },
      requestId,
    });
    const runStatus = obsolete ? 'obsolete' : changed ? 'conflict' : 'suggested';
    await runs.finish(tx, run.id, { status: runStatus, ...outcome });
    return finished(runStatus, suggestionId);
  });
}

/**
 * A succeeded task's result: from the event when it carries the output, else read once from the runner,
 * after checking the run still waits for this task (a redelivery reads nothing). The task as the runner
 * keeps it must be our request for this run: undefined otherwise.
 */
async function succeededTask(
  deps: WriteBackDeps,
  payload: TerminalEvent['payload'],
  runId: string,
  requestId: string,
): Promise<SucceededTask | undefined> {
  if (payload.output_text !== undefined)
    return { kind: 'chat', images: [], attempts: [], output_text: payload.output_text, cost_usd: payload.cost_usd ?? '0' };
  const waiting = await runs.get(deps.pool, runId);
  if (!waiting || waiting.status !== 'requested' || (waiting.task_id !== null && waiting.task_id !== payload.task_id))
    return undefined;
  const task = await readTask(deps.runner, payload.task_id, requestId);
  if (!task || task.requester !== WORKFLOW_REQUESTER || task.correlation?.action_run_id !== runId) return undefined;
  return task;
}
