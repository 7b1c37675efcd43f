import type { z } from 'zod';
import type { TaskErrorSchema, TaskSchema, TaskStatus } from '@llmops/kit/contracts/runner';
import type { Usage } from '@llmops/kit/adapters/types';

/** A row of runner.tasks, as `SELECT *` returns it (numeric as text, jsonb parsed). */
export interface TaskRow {
  id: string;
  group_id: string | null;
  retry_of: string | null;
  requester: string;
  source: 'api' | 'bus' | 'retry';
  idempotency_key: string | null;
  request_hash: string | null;
  status: TaskStatus;
  kind: 'chat' | 'image';
  priority: number;
  correlation: Record<string, unknown> | null;
  template_id: string | null;
  template_version: number | null;
  template_label: string | null;
  part_versions: { part_id: string; version: number | 'draft' }[];
  preset_id: string | null;
  inputs: Record<string, unknown>;
  snapshot: TaskSnapshot;
  model_index: number;
  model_id: string | null;
  provider_id: string | null;
  model_attempts: number;
  attempts: number;
  run_after: Date;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  cancel_requested_at: Date | null;
  reserved_usd: string;
  reserved_provider_id: string | null;
  reserved_month: string | null;
  output_text: string | null;
  finish_reason: string | null;
  usage: Usage | null;
  cost_usd: string;
  error: TaskError | null;
  problems: { field: string; message: string }[] | null;
  queue_wait_ms: number;
  provider_ms: number;
  overhead_ms: number;
  time_to_first_token_ms: number | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  updated_at: Date;
}

export type TaskError = z.output<typeof TaskErrorSchema>;

/** One model of a task's chain: the model it starts on, then its fallbacks, in order. */
export interface ChainModel {
  model_id: string;
  provider_id: string;
  provider_kind: 'openai' | 'anthropic' | 'ollama';
  provider_model_id: string;
  display_name: string;
  modality: 'chat' | 'image';
}

/** Exactly what a task sends (ADR 0010), fixed at creation. */
export interface TaskSnapshot {
  messages: { role: 'system' | 'user' | 'assistant'; content: string }[];
  /** Sampling parameters by their normalized names (timeouts are apart, below). */
  parameters: Record<string, unknown>;
  chain: ChainModel[];
  retry_policy: { max_attempts: number; initial_backoff_ms: number; max_backoff_ms: number; backoff_multiplier: number };
  timeouts: { first_byte_ms: number | null; idle_ms: number | null };
  image: { n?: number; size?: string; quality?: string } | null;
  /** The prompt service's token estimate of the messages, for spend-cap reservations. */
  estimated_input_tokens: number;
  rendered: boolean;
}

const iso = (value: Date): string => value.toISOString();
export const isoOrNull = (value: Date | null): string | null => (value === null ? null : value.toISOString());

/** numeric comes back as text with trailing zeros ("0.004200"); the API shows "0.0042". */
export const money = (value: string): string => {
  const trimmed = value.includes('.') ? value.replace(/0+$/, '').replace(/\.$/, '') : value;
  return trimmed === '' || trimmed === '-0' ? '0' : trimmed;
};

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
      total_ms: row.finished_at === null ? null : row.finished_at.getTime() - row.created_at.getTime(),
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
