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

/** Adds an attempt's actual cost to its provider's month (the month the attempt started). */
export async function charge(tx: Queryable, providerId: string, startedAt: Date, costUsd: string): Promise<void> {
  if (Number(costUsd) === 0) return;
  await tx.query(
    `INSERT INTO runner.provider_spend (provider_id, month, spent_usd)
     VALUES ($1, date_trunc('month', $2::timestamptz AT TIME ZONE 'UTC')::date, $3::numeric)
     ON CONFLICT (provider_id, month) DO UPDATE SET spent_usd = runner.provider_spend.spent_usd + EXCLUDED.spent_usd`,
    [providerId, startedAt, costUsd],
  );
}

/**
 * The price in force at a time, as SQL: a subquery over the runner's price history. `$model` and `$at`
 * are the parameter placeholders to use.
 */
export function priceAt(model: string, at: string): string {
  return `(SELECT row_to_json(p) FROM (
      SELECT input_per_mtok, output_per_mtok, cached_input_per_mtok, per_image, effective_from
      FROM runner.model_prices WHERE model_id = ${model} AND effective_from <= ${at}
      ORDER BY effective_from DESC LIMIT 1) p)`;
}
