import type { z } from 'zod';
import type {
  AttemptSchema,
  TaskDetailSchema,
  TaskGroupSchema,
  TaskSchema,
  UsageRowSchema,
  UsageSplitRowSchema,
} from '@llmops/kit/contracts/runner';
import { usd } from '@llmops/kit/money';
import type { GroupRow, ImageMeta, UsageLine } from '../db/reads.ts';
import type { AttemptRow, TaskRow } from '../tasks/task.ts';

// How the API shows tasks, attempts, task details, groups and usage: rows of the runner's tables as JSON.

const iso = (value: Date): string => value.toISOString();
const isoOrNull = (value: Date | null): string | null => (value === null ? null : value.toISOString());

/** Money in the one format (kit's money.ts): numeric at any scale → twelve places, "0.000200000000". */
const money = usd;

/** A task as the API shows it in lists and create results. */
export function taskJson(row: TaskRow, options: { output?: boolean } = {}): z.input<typeof TaskSchema> {
  return {
    id: row.id,
    group_id: row.group_id,
    retry_of: row.retry_of,
    status: row.status,
    kind: row.kind,
    priority: row.priority,
    correlation: row.correlation,
    requester: row.requester,
    source: row.source,
    template:
      row.template_id === null || row.template_version === null
        ? null
        : { id: row.template_id, version: row.template_version, label: row.template_label },
    preset_id: row.preset_id,
    model_id: row.model_id,
    provider_id: row.provider_id,
    model_index: row.model_index,
    attempt_count: row.attempts,
    run_after: iso(row.run_after),
    cancel_requested_at: isoOrNull(row.cancel_requested_at),
    output_text: options.output === false ? null : row.output_text,
    finish_reason: row.finish_reason,
    usage: row.usage,
    cost_usd: money(row.cost_usd),
    error: row.error,
    problems: row.problems,
    timing: {
      queue_wait_ms: row.queue_wait_ms,
      provider_ms: row.provider_ms,
      overhead_ms: row.overhead_ms,
      time_to_first_token_ms: row.time_to_first_token_ms,
      // A legacy record was not timed here (its snapshot keeps what the legacy app measured, if anything).
      total_ms: row.finished_at === null || row.source === 'legacy' ? null : row.finished_at.getTime() - row.created_at.getTime(),
    },
    created_at: iso(row.created_at),
    started_at: isoOrNull(row.started_at),
    finished_at: isoOrNull(row.finished_at),
    updated_at: iso(row.updated_at),
  };
}

/** `Server-Timing` for a task (a synchronous read shows where the time went). */
export function serverTiming(row: TaskRow): string {
  return `queue;dur=${row.queue_wait_ms}, provider;dur=${row.provider_ms}, overhead;dur=${row.overhead_ms}`;
}

const moneyOrNull = (value: unknown): string | null =>
  typeof value === 'string' || typeof value === 'number' ? money(String(value)) : null;

/** The price an attempt was charged at, as stored when it started; money fields as decimal strings. */
function priceJson(price: Record<string, unknown> | null): z.input<typeof AttemptSchema>['price'] {
  if (price === null) return null;
  return {
    input_per_mtok: moneyOrNull(price.input_per_mtok) ?? money('0'),
    output_per_mtok: moneyOrNull(price.output_per_mtok) ?? money('0'),
    cached_input_per_mtok: moneyOrNull(price.cached_input_per_mtok),
    per_image: moneyOrNull(price.per_image),
    effective_from: new Date(String(price.effective_from)).toISOString(),
  };
}

export function attemptJson(row: AttemptRow): z.input<typeof AttemptSchema> {
  return {
    id: row.id,
    number: row.number,
    model_index: row.model_index,
    model_id: row.model_id,
    provider_id: row.provider_id,
    provider_model_id: row.provider_model_id,
    worker: row.worker,
    status: row.status,
    request: row.request,
    wire: row.wire
      ? { method: row.wire.method, url: row.wire.url, headers: row.wire.headers, body: row.wire.body ?? null }
      : null,
    response_text: row.response_text,
    payload_removed_at: isoOrNull(row.payload_removed_at),
    finish_reason: row.finish_reason,
    provider_finish_reason: row.provider_finish_reason,
    response_id: row.response_id,
    usage: row.usage,
    price: priceJson(row.price),
    cost_usd: money(row.cost_usd),
    // The worker stores the kinds of the contract; the row type knows only a string.
    error: row.error as z.input<typeof AttemptSchema>['error'],
    queue_wait_ms: row.queue_wait_ms,
    provider_ms: row.provider_ms,
    overhead_ms: row.overhead_ms,
    latency_ms: row.latency_ms,
    time_to_first_token_ms: row.time_to_first_token_ms,
    started_at: row.started_at.toISOString(),
    ended_at: isoOrNull(row.ended_at),
  };
}

/** A task with everything about it: what was sent, each attempt, its images and the tasks that retried it. */
export function taskDetailJson(
  row: TaskRow,
  related: { attempts: readonly AttemptRow[]; images: readonly ImageMeta[]; retries: readonly string[] },
): z.input<typeof TaskDetailSchema> {
  return {
    ...taskJson(row),
    inputs: row.inputs,
    snapshot: row.snapshot as unknown as Record<string, unknown>,
    part_versions: row.part_versions,
    attempts: related.attempts.map(attemptJson),
    skipped_models: (row.skipped_models ?? []).map((skip) => ({ ...skip, at: new Date(skip.at).toISOString() })),
    images: related.images.map((image) => ({
      index: image.index,
      content_type: image.content_type,
      size_bytes: image.size_bytes,
      revised_prompt: image.revised_prompt,
      url: `/api/v1/tasks/${row.id}/images/${image.index}`,
    })),
    retries: [...related.retries],
  };
}

export function groupJson(group: GroupRow, tasks: readonly TaskRow[]): z.input<typeof TaskGroupSchema> {
  return {
    id: group.id,
    correlation: group.correlation,
    created_at: group.created_at.toISOString(),
    tasks: tasks.map((task) => taskJson(task)),
  };
}

export function usageRowJson(line: UsageLine, label: string | null): z.input<typeof UsageRowSchema> {
  return {
    key: line.total ? null : line.key,
    label,
    tasks: line.tasks,
    succeeded: line.succeeded,
    failed: line.failed,
    attempts: line.attempts,
    input_tokens: Number(line.input_tokens),
    output_tokens: Number(line.output_tokens),
    cached_input_tokens: Number(line.cached_input_tokens),
    cost_usd: money(line.cost_usd),
  };
}

/** A line of a group's split (`split_by`): keyed by the split's id. */
export function usageSplitJson(line: UsageLine, label: string | null): z.input<typeof UsageSplitRowSchema> {
  const { key: _key, ...measures } = usageRowJson(line, label);
  return { ...measures, key: line.split };
}
