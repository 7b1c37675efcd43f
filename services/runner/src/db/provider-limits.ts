import type { Queryable } from '@llmops/kit/db';

/*
 * Providers' limits as claims see them (docs/tasks.md#limits-and-spend-caps): `max_concurrency`,
 * `rpm_limit` and spend caps hold across every runner instance because they are counted in PostgreSQL
 * under a lock of the provider's row in the runner's copy of the registry, not in any process's memory.
 */

/** A locked provider's limits and what is in use of them now. */
export interface ProviderLimits {
  id: string;
  max_concurrency: number | null;
  rpm_limit: number | null;
  monthly_spend_cap_usd: string | null;
  paused: boolean;
  running: number;
  recent: number;
}

/** Locks those of the providers that have a limit (or a pause), in id order: their claims go one at a time. */
export async function lockLimited(tx: Queryable, providerIds: readonly string[]): Promise<string[]> {
  const { rows } = await tx.query<{ id: string }>(
    `SELECT p.id FROM runner.providers p
     WHERE p.id = ANY ($1::uuid[])
       AND (p.max_concurrency IS NOT NULL OR p.rpm_limit IS NOT NULL OR p.monthly_spend_cap_usd IS NOT NULL OR p.paused_until > now())
     ORDER BY p.id
     FOR UPDATE OF p`,
    [providerIds],
  );
  return rows.map((row) => row.id);
}

/**
 * What the locked providers have in use: tasks running, and attempts started in the rate window. A
 * statement of its own, after the lock is held: in READ COMMITTED each statement sees what committed
 * before it started, so the counts include the tasks an instance that held the lock just before us has
 * started (counted in the locking statement, they would come from the snapshot taken before the wait).
 */
export async function inUse(tx: Queryable, providerIds: readonly string[], rateWindowMs: number): Promise<ProviderLimits[]> {
  if (providerIds.length === 0) return [];
  const { rows } = await tx.query<ProviderLimits>(
    `SELECT p.id, p.max_concurrency, p.rpm_limit, p.monthly_spend_cap_usd, coalesce(p.paused_until > now(), false) AS paused,
       (SELECT count(*) FROM runner.tasks r WHERE r.status = 'running' AND r.provider_id = p.id)::int AS running,
       (SELECT count(*) FROM runner.attempts a
        WHERE a.provider_id = p.id AND a.started_at > clock_timestamp() - make_interval(secs => $2::float8 / 1000))::int AS recent
     FROM runner.providers p
     WHERE p.id = ANY ($1::uuid[])`,
    [providerIds, rateWindowMs],
  );
  return rows;
}

/** How many more tasks of the provider may start now: none while paused, else what its limits leave. */
export function freeSlots(limits: ProviderLimits): number {
  if (limits.paused) return 0;
  let free = Number.POSITIVE_INFINITY;
  if (limits.max_concurrency !== null) free = Math.min(free, limits.max_concurrency - limits.running);
  if (limits.rpm_limit !== null) free = Math.min(free, limits.rpm_limit - limits.recent);
  return Math.max(0, free);
}

/** A provider that answered 429 with Retry-After is not asked again before then, by any task of any instance. */
export async function pauseFor(tx: Queryable, providerId: string, retryAfterMs: number): Promise<void> {
  await tx.query(
    `UPDATE runner.providers SET paused_until = greatest(coalesce(paused_until, now()), now() + make_interval(secs => $2::float8 / 1000))
     WHERE id = $1`,
    [providerId, retryAfterMs],
  );
}
