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

export async function record(db: Queryable, { keys, windowMs }: Window): Promise<void> {
  await db.query(
    `WITH gone AS (DELETE FROM gateway.login_failures WHERE key = ANY($1::text[]) AND at <= now() - $2 * interval '1 millisecond')
     INSERT INTO gateway.login_failures (key) SELECT unnest($1::text[])`,
    [keys, windowMs],
  );
}

export async function clear(db: Queryable, key: string): Promise<void> {
  await db.query('DELETE FROM gateway.login_failures WHERE key = $1', [key]);
}
