import type { z } from 'zod';
import type { TaskErrorSchema, TaskStatus } from '@llmops/kit/contracts/runner';
import type { Usage } from '@llmops/kit/adapters/types';

/**
 * The columns of runner.tasks a TaskRow holds, for `SELECT` and `RETURNING`: every one but `output_search`, the
 * history's search column (a tsvector about as long as the output, read only by the search's WHERE).
 */
export const TASK_COLUMN_NAMES = [
  'id',
  'group_id',
  'retry_of',
  'requester',
  'source',
  'idempotency_key',
  'request_hash',
  'status',
  'kind',
  'priority',
  'correlation',
  'template_id',
  'template_version',
  'template_label',
  'part_versions',
  'preset_id',
  'inputs',
  'snapshot',
  'model_index',
  'model_id',
  'provider_id',
  'model_attempts',
  'attempts',
  'run_after',
  'lease_owner',
  'lease_expires_at',
  'cancel_requested_at',
  'reserved_usd',
  'reserved_provider_id',
  'reserved_month',
  'output_text',
  'finish_reason',
  'usage',
  'cost_usd',
  'error',
  'problems',
  'queue_wait_ms',
  'provider_ms',
  'overhead_ms',
  'time_to_first_token_ms',
  'created_at',
  'started_at',
  'finished_at',
  'updated_at',
  'skipped_models',
] as const;
export const TASK_COLUMNS = TASK_COLUMN_NAMES.join(', ');
/** TASK_COLUMNS qualified by the alias `t`. */
export const TASK_COLUMNS_T = TASK_COLUMN_NAMES.map((name) => `t.${name}`).join(', ');

/** A row of runner.tasks, as `SELECT ${TASK_COLUMNS}` returns it (numeric as text, jsonb parsed). */
export interface TaskRow {
  id: string;
  group_id: string | null;
  retry_of: string | null;
  requester: string;
  /** `legacy`: a historical record the legacy importer kept (done, never run here: sql/runner/000008). */
  source: 'api' | 'bus' | 'retry' | 'legacy';
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
  skipped_models: ModelSkip[];
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

/** A model of the chain a task moved past without a request (docs/tasks.md#limits-and-spend-caps). */
export interface ModelSkip {
  model_index: number;
  model_id: string;
  provider_id: string;
  kind: 'budget_exceeded';
  message: string;
  /** When it was skipped (RFC 3339, as jsonb keeps it). */
  at: string;
}

/**
 * The request an attempt sent, as stored: the body is the exact text (storedWire in attempts.ts), absent
 * once payload retention removed it (payload_removed_at).
 */
export interface StoredWire {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/** A row of runner.attempts, as `SELECT *` returns it (numeric as text, jsonb parsed). */
export interface AttemptRow {
  id: string;
  task_id: string;
  number: number;
  model_index: number;
  model_id: string;
  provider_id: string;
  provider_model_id: string;
  worker: string;
  status: 'running' | 'succeeded' | 'failed' | 'cancelled' | 'abandoned';
  request: Record<string, unknown>;
  wire: StoredWire | null;
  response_text: string | null;
  finish_reason: string | null;
  provider_finish_reason: string | null;
  response_id: string | null;
  usage: Usage | null;
  price: Record<string, unknown> | null;
  cost_usd: string;
  error: TaskError | null;
  queue_wait_ms: number;
  provider_ms: number | null;
  overhead_ms: number | null;
  latency_ms: number | null;
  time_to_first_token_ms: number | null;
  started_at: Date;
  ended_at: Date | null;
  /** When payload retention removed the wire body and response text (tasks/payload-retention.ts). */
  payload_removed_at: Date | null;
}

/** One model of a task's chain: the model it starts on, then its fallbacks, in order. */
export interface ChainModel {
  model_id: string;
  provider_id: string;
  provider_kind: 'openai' | 'anthropic' | 'ollama';
  provider_model_id: string;
  display_name: string;
  modality: 'chat' | 'image';
  /** A reasoning model, by its rules (absent in tasks made before models had rules: not one). */
  reasoning?: boolean;
  /** The model's own output cap, the adapter's default when the parameters give none (absent: unknown). */
  max_output_tokens?: number | null;
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

/** Who asked for a task, and how: stored with each task. */
export interface TaskOrigin {
  requester: string;
  source: 'api' | 'bus' | 'retry';
  priority: number;
  correlation: Record<string, unknown> | null;
  inputs: Record<string, unknown>;
  /** The same key from the same requester is the same task (ADR 0010). */
  idempotency_key?: string | null;
  /** The hash of the request the key was first used with, when the caller keeps one. */
  request_hash?: string | null;
  retry_of?: string | null;
}

/** Where a task's messages came from: the template version and the part versions it froze (ADR 0012). */
export interface Lineage {
  template_id: string | null;
  template_version: number | null;
  template_label: string | null;
  part_versions: { part_id: string; version: number | 'draft' }[];
  preset_id: string | null;
}

/** One task to queue: what it runs, and on which model first. */
export interface NewTask {
  kind: 'chat' | 'image';
  snapshot: TaskSnapshot;
  model_id: string;
  provider_id: string;
}
