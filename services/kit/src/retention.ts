import { publishMany } from './bus/publish.ts';
import { withTransaction, type Pool } from './db.ts';
import { auditEnvelope, type AuditActor } from './http/audit.ts';
import type { IdempotencyTable } from './idempotency.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import type { ServiceName } from './services.ts';

/*
 * Retention of what is kept only for a while (docs/operations.md#retention): dead letters past their time
 * and idempotency keys past theirs. Every process runs it on a timer, so several instances run it at once:
 * each batch is one short statement (a dead letter's audit record, a second one in its transaction) that
 * takes the rows it deletes with FOR UPDATE SKIP LOCKED, so two instances take different rows and neither
 * waits on the other or on a request using a row.
 */

/** One pass over a kind of row: how many rows it removed. */
export interface RetentionJob {
  /** The `kind` label of llmops_retention_removed_total. */
  kind: string;
  run: () => Promise<number>;
}

export interface BatchOptions {
  maxAgeMs: number;
  batchSize?: number;
  /** A pass stops after this many batches; the next interval goes on. */
  maxBatches?: number;
}

const DEFAULT_BATCH_SIZE = 1_000;
const DEFAULT_MAX_BATCHES = 100;

async function inBatches(
  { batchSize = DEFAULT_BATCH_SIZE, maxBatches = DEFAULT_MAX_BATCHES }: BatchOptions,
  batch: (size: number) => Promise<number>,
): Promise<number> {
  let removed = 0;
  for (let n = 0; n < maxBatches; n++) {
    const count = await batch(batchSize);
    removed += count;
    if (count < batchSize) break;
  }
  return removed;
}

/** A dead letter retention removed: logged and audited, so what was given up stays traceable. */
export interface RemovedDeadLetter {
  group: string;
  eventId: string;
  topic: string;
  key: string;
  /** Delivery attempts it had when it died. */
  attempts: number;
  /** When it died (last: a replay that died again counts from then). */
  diedAt: Date;
}

/** The actor of the audit records retention writes: no person, no request; a process's housekeeping. */
export const RETENTION_ACTOR: AuditActor = { kind: 'service', id: 'retention' };

/**
 * Removes dead letters that have been dead longer than `maxAgeMs` (since they last died: a replay that
 * died again starts over). Removing one is a skip: the key's later events flow again, and outbox
 * retention may then delete the event. Until then it can be replayed through the API.
 *
 * A dead letter is an operator's record (the dead letters page, the API), so each one removed gets an
 * audit record like a skip by hand: `dead_letter.expired` by `service:retention`, on the same resource
 * (`dead_letter`, `<group>/<event id>`) with what it was in `before` — written in the batch's
 * transaction, so a removal without its record cannot commit. `service` is the process that ran it.
 */
export async function deleteExpiredDeadLetters(
  pool: Pool,
  options: BatchOptions & { service: ServiceName; onRemoved?: (removed: RemovedDeadLetter[]) => void },
): Promise<number> {
  return inBatches(options, async (size) => {
    const removed = await withTransaction(pool, async (tx) => {
      const { rows } = await tx.query<{
        group_name: string;
        event_id: string;
        topic: string;
        key: string;
        attempts: number;
        updated_at: Date;
      }>(
        `WITH doomed AS (
           SELECT group_name, event_id FROM bus.parked
           WHERE status = 'dead' AND updated_at < now() - $1 * interval '1 millisecond'
           ORDER BY updated_at
           LIMIT $2
           FOR UPDATE SKIP LOCKED
         )
         DELETE FROM bus.parked p USING doomed
         WHERE p.group_name = doomed.group_name AND p.event_id = doomed.event_id AND p.status = 'dead'
         RETURNING p.group_name, p.event_id, p.topic, p.key, p.attempts, p.updated_at`,
        [options.maxAgeMs, size],
      );
      const letters = rows.map((row) => ({
        group: row.group_name,
        eventId: row.event_id,
        topic: row.topic,
        key: row.key,
        attempts: row.attempts,
        diedAt: row.updated_at,
      }));
      await publishMany(
        tx,
        letters.map((letter) =>
          auditEnvelope(options.service, {
            actor: RETENTION_ACTOR,
            action: 'dead_letter.expired',
            resource: { type: 'dead_letter', id: `${letter.group}/${letter.eventId}` },
            before: {
              group: letter.group,
              event_id: letter.eventId,
              topic: letter.topic,
              key: letter.key,
              attempts: letter.attempts,
              died_at: letter.diedAt.toISOString(),
            },
            after: null,
            requestId: null,
          }),
        ),
      );
      return letters;
    });
    if (removed.length > 0) options.onRemoved?.(removed);
    return removed.length;
  });
}

/**
 * A key the runner took for a `runner.task.requested` event stays while any outbox row could deliver that
 * request again (not yet processed, processed but retained, parked or dead and replayable): a delivery
 * after its key was gone would make the task a second time. Matched through bus.outbox's
 * outbox_task_request_key index (sql/bus/000004), whose expressions are these.
 */
const KEEP_WHILE_DELIVERABLE: Partial<Record<IdempotencyTable, string>> = {
  'runner.idempotency_keys': `AND NOT (k.operation = 'task.request' AND EXISTS (
      SELECT 1 FROM bus.outbox o
      WHERE o.topic = 'runner.task.requested'
        AND 'service:' || (o.payload ->> 'requester') = k.actor
        AND coalesce(o.payload ->> 'idempotency_key', o.event_id::text) = k.key))`,
};

/**
 * Removes a service's idempotency keys older than `maxAgeMs` (services/kit/src/idempotency.ts): the same
 * key after that is a new request. The runner's keys of bus requests wait for their events too (above).
 */
export async function deleteExpiredKeys(pool: Pool, table: IdempotencyTable, options: BatchOptions): Promise<number> {
  const guard = KEEP_WHILE_DELIVERABLE[table] ?? '';
  return inBatches(options, async (size) => {
    const result = await pool.query(
      `WITH doomed AS (
         SELECT k.actor, k.key FROM ${table} k
         WHERE k.created_at < now() - $1 * interval '1 millisecond' ${guard}
         ORDER BY k.created_at
         LIMIT $2
         FOR UPDATE SKIP LOCKED
       )
       DELETE FROM ${table} k USING doomed WHERE k.actor = doomed.actor AND k.key = doomed.key`,
      [options.maxAgeMs, size],
    );
    return result.rowCount ?? 0;
  });
}

/**
 * Runs retention jobs every `intervalMs` (the first pass after one interval), one pass at a time in this
 * process (a tick while a pass is still under way is skipped), counting what each removed in
 * llmops_retention_removed_total{kind}. A failed job is logged and runs again next interval. `stop` waits
 * for a pass under way.
 */
export function scheduleRetention({
  jobs,
  intervalMs,
  log,
  metrics,
}: {
  jobs: readonly RetentionJob[];
  intervalMs: number;
  log: Logger;
  metrics?: Metrics | undefined;
}): { runOnce: () => Promise<void>; stop: () => Promise<void> } {
  const removed = metrics ? retentionCounter(metrics) : undefined;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const pass = async () => {
    for (const job of jobs) {
      if (stopped) return;
      try {
        const count = await job.run();
        if (count > 0) {
          removed?.inc({ kind: job.kind }, count);
          log.info({ kind: job.kind, removed: count }, 'retention removed expired rows');
        }
      } catch (error) {
        log.warn({ err: error, kind: job.kind }, 'retention failed; it runs again next interval');
      }
    }
  };
  let busy = false;
  const runOnce = () => {
    running = running.then(async () => {
      busy = true;
      try {
        await pass();
      } finally {
        busy = false;
      }
    });
    return running;
  };
  const timer = jobs.length > 0 ? setInterval(() => void (busy ? undefined : runOnce()), intervalMs) : undefined;
  timer?.unref();
  return {
    runOnce,
    stop: async () => {
      stopped = true;
      if (timer) clearInterval(timer);
      await running;
    },
  };
}

const counters = new WeakMap<Metrics, ReturnType<Metrics['counter']>>();

/** One counter per metrics registry, shared by every scheduler of the process. */
function retentionCounter(metrics: Metrics) {
  let counter = counters.get(metrics);
  if (!counter) {
    counter = metrics.counter({
      name: 'llmops_retention_removed_total',
      help: 'Rows (or attempt payloads) removed by retention, by kind: dead_letters, idempotency_keys, attempt_payloads',
      labelNames: ['kind'] as const,
    });
    counters.set(metrics, counter);
  }
  return counter;
}
