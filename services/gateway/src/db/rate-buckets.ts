import type { Queryable } from '@llmops/kit/db';

/** What one instance took of a key since it last settled, and the key's quota per window. */
export interface Taken {
  key: string;
  capacity: number;
  spent: number;
}

/** The window of the shared buckets, in seconds: `capacity` refills over it (as in rate-limit.ts). */
const WINDOW_S = 60;

/**
 * Adds each key's `spent` to its shared bucket (refilled up to now, never below one window of debt) and
 * answers every key's level now, keys without spend read only. Rows are written in key order, so two
 * instances settling overlapping keys wait for each other instead of deadlocking.
 */
export async function settle(db: Queryable, taken: readonly Taken[]): Promise<Map<string, number>> {
  const sorted = [...taken].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const { rows } = await db.query<{ key: string; tokens: number }>(
    `WITH input AS (SELECT * FROM unnest($1::text[], $2::int[], $3::int[]) WITH ORDINALITY AS i(key, capacity, spent, n)),
     settled AS (
       INSERT INTO gateway.rate_buckets AS b (key, capacity, tokens, at)
       SELECT key, capacity, greatest(-capacity, capacity - spent), now() FROM input WHERE spent > 0 ORDER BY n
       ON CONFLICT (key) DO UPDATE
         SET tokens = greatest(-EXCLUDED.capacity,
                least(EXCLUDED.capacity, b.tokens + extract(epoch FROM EXCLUDED.at - b.at)::float8 * EXCLUDED.capacity / $4::float8)
                - (EXCLUDED.capacity - EXCLUDED.tokens)),
             capacity = EXCLUDED.capacity, at = EXCLUDED.at
       RETURNING b.key, b.tokens)
     SELECT i.key, coalesce(s.tokens,
              least(i.capacity, b.tokens + extract(epoch FROM now() - b.at)::float8 * i.capacity / $4::float8), i.capacity) AS tokens
     FROM input i LEFT JOIN settled s ON s.key = i.key LEFT JOIN gateway.rate_buckets b ON b.key = i.key`,
    [sorted.map((t) => t.key), sorted.map((t) => t.capacity), sorted.map((t) => t.spent), WINDOW_S],
  );
  return new Map(rows.map((row) => [row.key, row.tokens]));
}

/** Forgets buckets that have refilled to their quota: a key without a row is full. */
export async function deleteFull(db: Queryable): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM gateway.rate_buckets WHERE tokens + extract(epoch FROM now() - at)::float8 * capacity / $1::float8 >= capacity`,
    [WINDOW_S],
  );
  return rowCount ?? 0;
}
