import type { Pool } from '@llmops/kit/db';
import { PINS_GROUP, PIN_TOPICS } from './pins.ts';

/*
 * Opt-in attempt payload retention (RUNNER_ATTEMPT_PAYLOAD_RETENTION_DAYS, docs/operations.md#retention):
 * a waiver, off by default, of the rule that every call is kept exactly. It removes an attempt's wire body
 * and response text only; the normalized request, the wire's method, URL and headers, usage, price, cost,
 * status, timings and the task's output stay, and payload_removed_at records when, so readers show it.
 */

export interface PayloadRetentionResult {
  /** Attempts whose payload was removed in this pass. */
  removed: number;
  /**
   * True when the pass removed nothing because the pins consumer has workflow events it has not processed
   * (or has parked): one of them may pin a task this pass would otherwise reach.
   */
  held: boolean;
}

/**
 * Is the pins group behind? Any workflow event it reads that is past its cursor for that partition, or
 * parked for it (retrying or dead), may name a task to keep. A group that never ran has no cursors: then
 * every such event is unread.
 */
async function pinsBehind(pool: Pool): Promise<boolean> {
  const { rows } = await pool.query<{ behind: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM bus.parked WHERE group_name = $1)
         OR EXISTS (
              SELECT 1 FROM bus.outbox o
              LEFT JOIN bus.cursors c ON c.group_name = $1 AND c.partition = o.partition
              WHERE o.topic = ANY($2::text[]) AND (c.group_name IS NULL OR (o.txid, o.id) > (c.txid, c.id))
            ) AS behind`,
    [PINS_GROUP, PIN_TOPICS],
  );
  return rows[0]?.behind ?? true;
}

/**
 * Removes the wire body and response text of attempts that ended more than `maxAgeMs` ago, except those of
 * pinned tasks, in batches: each batch one statement that takes its attempts with FOR UPDATE SKIP LOCKED,
 * so two runner instances running it at once take different attempts and never wait on each other.
 * They are walked by start (attempts_payload_kept_started_idx): no index holds ended_at, so an attempt's
 * ending is a HOT update (sql/runner/000025). An attempt ends within its timeouts of its start, so those
 * that started before the cut-off are the ones that can have ended before it.
 */
export async function removeAttemptPayloads(
  pool: Pool,
  { maxAgeMs, batchSize = 500, maxBatches = 100 }: { maxAgeMs: number; batchSize?: number; maxBatches?: number },
): Promise<PayloadRetentionResult> {
  if (await pinsBehind(pool)) return { removed: 0, held: true };
  let removed = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const result = await pool.query(
      `WITH doomed AS (
         SELECT a.id FROM runner.attempts a
         WHERE a.payload_removed_at IS NULL
           AND a.started_at < now() - $1 * interval '1 millisecond'
           AND a.ended_at < now() - $1 * interval '1 millisecond'
           AND (a.response_text IS NOT NULL OR a.wire ? 'body')
           AND NOT EXISTS (SELECT 1 FROM runner.pinned_tasks p WHERE p.task_id = a.task_id)
         ORDER BY a.started_at
         LIMIT $2
         FOR UPDATE OF a SKIP LOCKED
       )
       UPDATE runner.attempts a
       SET wire = a.wire - 'body', response_text = NULL, payload_removed_at = now()
       FROM doomed
       WHERE a.id = doomed.id AND a.payload_removed_at IS NULL`,
      [maxAgeMs, batchSize],
    );
    const count = result.rowCount ?? 0;
    removed += count;
    if (count < batchSize) break;
  }
  return { removed, held: false };
}
