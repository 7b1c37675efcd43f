import type { Queryable } from '@llmops/kit/db';

/**
 * Monthly spend caps (issue 5): when a task is claimed on a provider with a cap, its estimated cost is
 * reserved under a row lock in the claim's own transaction; when an attempt ends its actual cost is
 * charged, and when the task ends or moves on the reservation is released. So concurrent runners can
 * never reserve past the cap. Months are UTC calendar months; amounts are SQL numeric throughout.
 */

/** The UTC month (its first day) of now, for provider_spend rows. */
export const MONTH_OF_NOW = `date_trunc('month', now() AT TIME ZONE 'UTC')::date`;

/** Releases what a task reserved (in the caller's transaction); nothing when it holds nothing. */
export async function releaseReservation(
  tx: Queryable,
  task: { id: string; reserved_usd: string; reserved_provider_id: string | null; reserved_month: string | Date | null },
): Promise<void> {
  if (task.reserved_provider_id === null || Number(task.reserved_usd) === 0) return;
  await tx.query(
    `UPDATE runner.provider_spend SET reserved_usd = greatest(0, reserved_usd - $3::numeric)
     WHERE provider_id = $1 AND month = $2::date`,
    [task.reserved_provider_id, task.reserved_month, task.reserved_usd],
  );
  await tx.query(`UPDATE runner.tasks SET reserved_usd = 0, reserved_provider_id = NULL, reserved_month = NULL WHERE id = $1`, [
    task.id,
  ]);
}

/**
 * Adds an attempt's actual cost to its provider's month (the month the attempt started). Only providers
 * with a cap have spend rows (made at their first claim under the cap, from the attempts so far), so
 * the calls of uncapped providers never queue on one hot row.
 */
export async function charge(tx: Queryable, providerId: string, startedAt: Date, costUsd: string): Promise<void> {
  if (Number(costUsd) === 0) return;
  await tx.query(
    `UPDATE runner.provider_spend SET spent_usd = spent_usd + $3::numeric
     WHERE provider_id = $1 AND month = date_trunc('month', $2::timestamptz AT TIME ZONE 'UTC')::date`,
    [providerId, startedAt, costUsd],
  );
}

/**
 * The spend row of a provider's current month, made on its first claim under a cap with what its
 * attempts already cost this month (so a cap set mid-month counts the month's spend so far).
 */
export async function ensureSpendRow(tx: Queryable, providerId: string): Promise<void> {
  await tx.query(
    `INSERT INTO runner.provider_spend (provider_id, month, spent_usd)
     SELECT $1, ${MONTH_OF_NOW}, coalesce(sum(cost_usd), 0) FROM runner.attempts
     WHERE provider_id = $1 AND ended_at IS NOT NULL
       AND started_at >= (${MONTH_OF_NOW})::timestamp AT TIME ZONE 'UTC'
     ON CONFLICT (provider_id, month) DO NOTHING`,
    [providerId],
  );
}
