import type { Queryable } from '@llmops/kit/db';

export interface Window {
  keys: string[];
  windowMs: number;
}

/**
 * Failures per key in the sliding window (database clock), and the seconds until the oldest of them
 * leaves it.
 */
export async function count(
  db: Queryable,
  { keys, windowMs }: Window,
): Promise<Map<string, { failures: number; retryAfterS: number }>> {
  const { rows } = await db.query<{ key: string; failures: number; retry_after_s: number }>(
    `SELECT key, count(*)::int AS failures,
            greatest(1, ceil(extract(epoch FROM min(at) + $2 * interval '1 millisecond' - now())))::int AS retry_after_s
     FROM gateway.login_failures
     WHERE key = ANY($1::text[]) AND at > now() - $2 * interval '1 millisecond'
     GROUP BY key`,
    [keys, windowMs],
  );
  return new Map(rows.map((row) => [row.key, { failures: row.failures, retryAfterS: row.retry_after_s }]));
}

/**
 * Records an attempt under each key before its password is checked, so concurrent attempts see each
 * other in their counts (a check-then-record limit lets every request in flight through). Returns the
 * rows' ids, which a successful or refused attempt withdraws.
 */
export async function record(db: Queryable, { keys, windowMs }: Window): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `WITH gone AS (DELETE FROM gateway.login_failures WHERE key = ANY($1::text[]) AND at <= now() - $2 * interval '1 millisecond')
     INSERT INTO gateway.login_failures (key) SELECT unnest($1::text[]) RETURNING id::text`,
    [keys, windowMs],
  );
  return rows.map((row) => row.id);
}

export async function withdraw(db: Queryable, ids: readonly string[]): Promise<void> {
  await db.query('DELETE FROM gateway.login_failures WHERE id = ANY($1::bigint[])', [ids]);
}

export async function clear(db: Queryable, key: string): Promise<void> {
  await db.query('DELETE FROM gateway.login_failures WHERE key = $1', [key]);
}
