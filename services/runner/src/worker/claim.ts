import { doorbellColumns, ringing } from '@llmops/kit/bus/publish';
import { withTransaction, type Pool } from '@llmops/kit/db';
import type { TaskStatus } from '@llmops/kit/contracts/runner';
import { taskStarted } from '@llmops/kit/events/runner';
import { uuidv7 } from '@llmops/kit/ids';
import * as limits from '../db/provider-limits.ts';
import * as cost from '../tasks/cost.ts';
import * as lifecycle from '../tasks/lifecycle.ts';
import {
  leaseExpiry,
  LIMITED,
  openAttempts,
  publishStarted,
  STARTED_COLUMNS,
  startedTask,
  unlimitedProvider,
  WAIT_MS,
} from '../tasks/starting.ts';
import * as store from '../tasks/store.ts';
import { TASK_COLUMNS_T } from '../tasks/task.ts';

export interface ClaimOptions {
  owner: string;
  limit: number;
  leaseMs: number;
  rateWindowMs: number;
  /** Output tokens a spend-cap estimate assumes when neither the task nor its model says. */
  defaultMaxOutputTokens: number;
}

export interface ClaimResult {
  claimed: lifecycle.ClaimedTask[];
  /** Due tasks were left queued because their provider is at a limit (a finishing task frees a slot). */
  held: boolean;
  /** Milliseconds until the next queued task is due, when none was due now (null: none queued). */
  nextDueMs: number | null;
  /** The states of tasks the claim ended without starting them (failed: every model over its spend cap). */
  ended: TaskStatus[];
}

/**
 * Claims up to `limit` due tasks: first in one statement (`claimFree`) those whose provider has no
 * limit, cap or pause — the common case — then, when some provider has one and room is left, in the
 * locked transaction (`claimLimited`). No lock is held once it returns: the provider call happens
 * outside any transaction.
 */
export async function claim(pool: Pool, options: ClaimOptions): Promise<ClaimResult> {
  const free = await claimFree(pool, options);
  if (free.claimed.length === options.limit || !free.limited) return free;
  const rest = await claimLimited(pool, { ...options, limit: options.limit - free.claimed.length });
  return {
    claimed: [...free.claimed, ...rest.claimed],
    held: rest.held,
    nextDueMs: free.claimed.length > 0 ? null : rest.nextDueMs,
    ended: rest.ended,
  };
}

/** What a claim publishes: its ring wakes only the readers of these. */
const CLAIM_TOPICS = [taskStarted.topic];

/**
 * queued → running in one statement in autocommit (data-modifying CTEs): the due tasks of providers with
 * no limit, cap or pause, best first, locked with SKIP LOCKED, started under `owner`'s lease, an attempt
 * opened for each and `runner.task.started` inserted for each — what `lifecycle.start` does in a
 * transaction, with no lock held across round trips. Answers whether any provider is limited (the
 * caller then claims its tasks in the locked transaction) and, when nothing was due here, when the
 * next queued task falls due.
 *
 * The limited providers are one hashed set (`NOT … IN (SELECT …)`, computed once), not an anti-join:
 * runner.providers holds a handful of rows that autovacuum never analyzes (it waits for 50 changes), so
 * the planner guessed ~500 providers, all limited, estimated the anti-join to keep one task, and read and
 * sorted every row of runner.tasks instead of walking tasks_queued_idx — a claim that cost as much as
 * the table is large, history included (issue 14: 64 ms a claim in a bench's first 20,000-task drain,
 * 124 ms in its second, on a table twice the size; docs/bench.md). The set's test is priced at one half, so the walk along the index wins.
 * `coalesce` keeps NOT EXISTS's answer for a task with no provider.
 */
export async function claimFree(pool: Pool, options: ClaimOptions): Promise<ClaimResult & { limited: boolean }> {
  const ids = Array.from({ length: options.limit }, () => ({ attempt: uuidv7(), event: uuidv7() }));
  const at = new Date().toISOString();
  const result = await ringing(
    pool,
    async (lead, payload) => {
      const { rows } = await pool.query<
        store.StartedRow & {
          attempt_id: string | null;
          event_id: string | null;
          n: string | null;
          limited: boolean;
          due: boolean | null;
          next_ms: number | null;
          waiting: boolean;
          rang: boolean;
        }
      >({
        name: 'runner.claim.free',
        text: `WITH due AS (
           SELECT t.id FROM runner.tasks t
           WHERE t.status = 'queued' AND t.run_after <= now()
             AND ${unlimitedProvider('t.provider_id')}
           ORDER BY t.priority DESC, t.run_after, t.id
           LIMIT $1
           FOR UPDATE OF t SKIP LOCKED
         ),
         started AS (
           UPDATE runner.tasks t SET status = 'running', lease_owner = $2,
             lease_expires_at = ${leaseExpiry('$3')},
             attempts = t.attempts + 1, model_attempts = t.model_attempts + 1, started_at = coalesce(t.started_at, now()),
             queue_wait_ms = t.queue_wait_ms + ${WAIT_MS}, updated_at = now()
           FROM due WHERE t.id = due.id
           RETURNING ${TASK_COLUMNS_T}, ${STARTED_COLUMNS}
         ),
         numbered AS (
           SELECT s.*, n.attempt_id, n.event_id
           FROM (SELECT s.*, row_number() OVER (ORDER BY s.id) AS n FROM started s) s
           JOIN unnest($4::uuid[], $5::uuid[]) WITH ORDINALITY AS n(attempt_id, event_id, n) ON n.n = s.n
         ),
         opened AS (${openAttempts('numbered', '$2')} RETURNING 1),
         published AS (${publishStarted('numbered', '$2', '$6')} RETURNING 1),
         bell AS MATERIALIZED (SELECT ${doorbellColumns('($7::boolean AND EXISTS (SELECT 1 FROM started))', '$8')}),
         flags AS MATERIALIZED (
           SELECT EXISTS (SELECT 1 FROM runner.providers p WHERE ${LIMITED}) AS limited,
             CASE WHEN NOT EXISTS (SELECT 1 FROM started) THEN (
               SELECT jsonb_build_object('due', bool_or(q.run_after <= now()),
                 'next_ms', (extract(epoch FROM min(q.run_after) FILTER (WHERE q.run_after > now()) - now()) * 1000)::float8)
               FROM runner.tasks q WHERE q.status = 'queued') END AS next
         )
         SELECT numbered.*, flags.limited, (flags.next ->> 'due')::boolean AS due, (flags.next ->> 'next_ms')::float8 AS next_ms,
           bell.waiting, bell.rang
         FROM flags CROSS JOIN bell LEFT JOIN numbered ON true
         ORDER BY numbered.id`,
        values: [
          options.limit,
          options.owner,
          options.leaseMs,
          ids.map((i) => i.attempt),
          ids.map((i) => i.event),
          at,
          lead,
          payload,
        ],
      });
      return { rows, waiting: rows[0]?.waiting ?? false, rang: rows[0]?.rang ?? false };
    },
    CLAIM_TOPICS,
  );
  const rows = result?.rows ?? [];
  const first = rows[0];
  const claimed = rows.flatMap(
    ({ attempt_id, event_id: _e, n: _n, limited: _l, due: _d, next_ms: _m, waiting: _w, rang: _r, ...row }) =>
      attempt_id === null || row.id === null ? [] : [startedTask(row, attempt_id)],
  );
  return {
    claimed,
    limited: first?.limited ?? false,
    // Due tasks left queued here are held by a provider's limit (claimLimited says which).
    held: claimed.length === 0 && first?.due === true,
    nextDueMs: claimed.length === 0 ? (first?.next_ms ?? null) : null,
    ended: [],
  };
}

/**
 * Claims up to `limit` due tasks in one transaction: honours every provider's max concurrency and
 * requests per minute across all runner instances (counted under the provider's row lock), reserves
 * the estimated cost under spend caps (a task that would pass its cap moves on to the next model of its
 * chain, or fails when none is left), and starts the rest.
 */
export async function claimLimited(pool: Pool, options: ClaimOptions): Promise<ClaimResult> {
  return withTransaction(pool, async (tx) => {
    const candidates = await store.lockDue(tx, options.limit, options.rateWindowMs);
    if (candidates.length === 0) {
      const next = await store.nextDue(tx);
      return { claimed: [], held: next.due, nextDueMs: next.next_ms, ended: [] };
    }
    const providerIds = [...new Set(candidates.map((c) => c.provider_id))];
    const inUse = await limits.inUse(tx, await limits.lockLimited(tx, providerIds), options.rateWindowMs);
    const { admitted, held } = admit(candidates, inUse);
    const caps = new Map(
      inUse.flatMap((p) => (p.monthly_spend_cap_usd === null ? [] : [[p.id, p.monthly_spend_cap_usd] as const])),
    );
    const refused = await cost.reserveUnderCaps(tx, admitted, caps, options.defaultMaxOutputTokens);
    const ended = await lifecycle.skipOverBudget(tx, refused);
    const refusedIds = new Set(refused.map((task) => task.id));
    const starting = admitted.filter((c) => !refusedIds.has(c.id)).map((c) => c.id);
    const claimed = await lifecycle.start(tx, starting, options.owner, options.leaseMs);
    return { claimed, held, nextDueMs: null, ended };
  });
}

/** The candidates their providers have room for, in order; `held` when a limit kept one back. */
function admit(
  candidates: readonly store.Candidate[],
  inUse: readonly limits.ProviderLimits[],
): { admitted: store.Candidate[]; held: boolean } {
  const room = new Map(inUse.map((provider) => [provider.id, limits.freeSlots(provider)]));
  const admitted: store.Candidate[] = [];
  let held = false;
  for (const candidate of candidates) {
    const left = room.get(candidate.provider_id);
    if (left === undefined) admitted.push(candidate);
    else if (left > 0) {
      admitted.push(candidate);
      room.set(candidate.provider_id, left - 1);
    } else held = true;
  }
  return { admitted, held };
}
