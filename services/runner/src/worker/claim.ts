import { withTransaction, type Pool } from '@llmops/kit/db';
import * as limits from '../db/provider-limits.ts';
import * as cost from '../tasks/cost.ts';
import * as lifecycle from '../tasks/lifecycle.ts';
import * as store from '../tasks/store.ts';

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
}

/**
 * Claims up to `limit` due tasks in one transaction: honours every provider's max concurrency and
 * requests per minute across all runner instances (counted under the provider's row lock), reserves
 * the estimated cost under spend caps (a task that would pass its cap moves on to the next model of its
 * chain, or fails when none is left), and starts the rest.
 * No lock is held once it returns: the provider call happens outside any transaction.
 */
export async function claim(pool: Pool, options: ClaimOptions): Promise<ClaimResult> {
  return withTransaction(pool, async (tx) => {
    const candidates = await store.lockDue(tx, options.limit, options.rateWindowMs);
    if (candidates.length === 0) {
      const next = await store.nextDue(tx);
      return { claimed: [], held: next.due, nextDueMs: next.next_ms };
    }
    const providerIds = [...new Set(candidates.map((c) => c.provider_id))];
    const inUse = await limits.inUse(tx, await limits.lockLimited(tx, providerIds), options.rateWindowMs);
    const { admitted, held } = admit(candidates, inUse);
    const caps = new Map(
      inUse.flatMap((p) => (p.monthly_spend_cap_usd === null ? [] : [[p.id, p.monthly_spend_cap_usd] as const])),
    );
    const refused = await cost.reserveUnderCaps(tx, admitted, caps, options.defaultMaxOutputTokens);
    await lifecycle.skipOverBudget(tx, refused);
    const refusedIds = new Set(refused.map((task) => task.id));
    const starting = admitted.filter((c) => !refusedIds.has(c.id)).map((c) => c.id);
    const claimed = await lifecycle.start(tx, starting, options.owner, options.leaseMs);
    return { claimed, held, nextDueMs: null };
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
