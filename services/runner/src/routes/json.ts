import type { z } from 'zod';
import type { AttemptSchema, TaskDetailSchema, TaskGroupSchema, UsageRowSchema } from '@llmops/kit/contracts/runner';
import type { AttemptRow, GroupRow, ImageMeta, UsageLine } from '../db/reads.ts';
import { isoOrNull, money, taskJson, type TaskRow } from '../tasks/model.ts';

/*
 * How the read side of the API shows attempts, task details, groups and usage (taskJson, for lists and
 * creates, is in views.ts).
 */

const moneyOrNull = (value: unknown): string | null =>
  typeof value === 'string' || typeof value === 'number' ? money(String(value)) : null;

/** The price an attempt was charged at, as stored when it started; money fields as decimal strings. */
function priceJson(price: Record<string, unknown> | null): z.input<typeof AttemptSchema>['price'] {
  if (price === null) return null;
  return {
    input_per_mtok: moneyOrNull(price.input_per_mtok) ?? '0',
    output_per_mtok: moneyOrNull(price.output_per_mtok) ?? '0',
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
    wire: row.wire,
    response_text: row.response_text,
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
