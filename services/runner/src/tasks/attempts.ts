import type { GeneratedImage, Usage, WireRequest } from '@llmops/kit/adapters/types';
import type { Queryable } from '@llmops/kit/db';
import { uuidv7 } from '@llmops/kit/ids';
import type { Price } from './cost.ts';
import type { AttemptRow, StoredWire, TaskError } from './task.ts';

/*
 * The SQL verbs of a task's attempts (runner.attempts, one row per provider request, and the images
 * it made), one statement each. An attempt row is written when the task is claimed and completed when
 * the call ends, so a process that dies mid-call leaves an `abandoned` attempt, never a missing one.
 */

/** An attempt as the claim opens it. */
export type OpeningAttempt = Pick<
  AttemptRow,
  | 'id'
  | 'task_id'
  | 'number'
  | 'model_index'
  | 'model_id'
  | 'provider_id'
  | 'provider_model_id'
  | 'request'
  | 'queue_wait_ms'
  | 'started_at'
>;

/** Opens the attempts of a claim, in one statement, as running by `worker`. */
export async function open(tx: Queryable, attempts: readonly OpeningAttempt[], worker: string): Promise<void> {
  await tx.query({
    name: 'runner.attempts.open',
    text: `INSERT INTO runner.attempts (id, task_id, number, model_index, model_id, provider_id, provider_model_id, worker, status,
             request, queue_wait_ms, started_at)
           SELECT a.id, a.task_id, a.number, a.model_index, a.model_id, a.provider_id, a.provider_model_id, $2, 'running',
             a.request, a.queue_wait_ms, a.started_at
           FROM jsonb_to_recordset($1::jsonb) AS a(id uuid, task_id uuid, number integer, model_index integer, model_id uuid,
             provider_id uuid, provider_model_id text, request jsonb, queue_wait_ms integer, started_at timestamptz)`,
    values: [JSON.stringify(attempts), worker],
  });
}

/** Everything an ended attempt produced, and what it cost. */
export interface ClosedAttempt {
  status: 'succeeded' | 'failed' | 'cancelled' | 'abandoned';
  wire: WireRequest | null;
  response_text: string | null;
  finish_reason: string | null;
  provider_finish_reason: string | null;
  response_id: string | null;
  usage: Usage | null;
  error: TaskError | null;
  provider_ms: number | null;
  latency_ms: number;
  time_to_first_token_ms: number | null;
  price: Price | null;
  cost_usd: string;
}

/**
 * The wire request as stored and answered (ADR 0010): `body` is the exact text sent, kept as a JSON
 * string inside the jsonb column, so its bytes survive (jsonb keeps strings as they are).
 */
export function storedWire(wire: WireRequest): StoredWire {
  return { method: wire.method, url: wire.url, headers: wire.headers, body: wire.bodyText };
}

/**
 * The statement that closes an attempt with how it ended (an UPDATE of the attempt `$1`, its parameters
 * from `$1`), so a finish can run it as a data-modifying CTE; its overhead is its latency less the time
 * inside the provider call.
 */
export function closeStatement(id: string, attempt: ClosedAttempt): { text: string; values: unknown[] } {
  const json = (value: unknown) => (value === null ? null : JSON.stringify(value));
  return {
    text: `UPDATE runner.attempts SET status = $2, wire = $3, response_text = $4, finish_reason = $5, provider_finish_reason = $6,
             response_id = $7, usage = $8, error = $9, provider_ms = $10, latency_ms = $11,
             overhead_ms = greatest(0, $11 - coalesce($10, 0)), time_to_first_token_ms = $12,
             ended_at = coalesce(ended_at, now()), price = $13, cost_usd = $14
           WHERE id = $1`,
    values: [
      id,
      attempt.status,
      attempt.wire && JSON.stringify(storedWire(attempt.wire)),
      attempt.response_text,
      attempt.finish_reason,
      attempt.provider_finish_reason,
      attempt.response_id,
      json(attempt.usage),
      json(attempt.error),
      attempt.provider_ms,
      attempt.latency_ms,
      attempt.time_to_first_token_ms,
      json(attempt.price),
      attempt.cost_usd,
    ],
  };
}

/** Closes an attempt with how it ended. */
export async function close(tx: Queryable, id: string, attempt: ClosedAttempt): Promise<void> {
  await tx.query({ name: 'runner.attempts.close', ...closeStatement(id, attempt) });
}

/** Closes the running attempts of tasks whose process stopped extending their lease, as `abandoned`. */
export async function abandonRunning(tx: Queryable, taskIds: readonly string[], error: TaskError): Promise<void> {
  await tx.query(
    `UPDATE runner.attempts SET status = 'abandoned', ended_at = now(), error = $2
     WHERE task_id = ANY ($1::uuid[]) AND status = 'running'`,
    [taskIds, JSON.stringify(error)],
  );
}

/** Keeps the images an attempt made, in PostgreSQL (bytes, type and size), numbered from 0. */
export async function insertImages(
  tx: Queryable,
  taskId: string,
  attemptId: string,
  images: readonly GeneratedImage[],
): Promise<void> {
  if (images.length === 0) return;
  await tx.query(
    `INSERT INTO runner.images (id, task_id, attempt_id, index, content_type, size_bytes, revised_prompt, data)
     SELECT i.id, $1, $2, i.index - 1, i.content_type, i.size_bytes, i.revised_prompt, i.data
     FROM unnest($3::uuid[], $4::text[], $5::int[], $6::text[], $7::bytea[]) WITH ORDINALITY
       AS i(id, content_type, size_bytes, revised_prompt, data, index)`,
    [
      taskId,
      attemptId,
      images.map(() => uuidv7()),
      images.map((image) => image.mime_type),
      images.map((image) => image.data.length),
      images.map((image) => image.revised_prompt),
      images.map((image) => image.data),
    ],
  );
}
