import type { Queryable } from '@llmops/kit/db';

/** A new code replaces every earlier one: only the latest printed link works. */
export async function replace(db: Queryable, codeHash: Buffer, ttlMs: number): Promise<Date> {
  await db.query('DELETE FROM gateway.setup_codes');
  const { rows } = await db.query<{ expires_at: Date }>(
    `INSERT INTO gateway.setup_codes (code_hash, expires_at) VALUES ($1, now() + $2 * interval '1 millisecond') RETURNING expires_at`,
    [codeHash, ttlMs],
  );
  return (rows[0] as { expires_at: Date }).expires_at;
}

export async function isUsable(db: Queryable, codeHash: Buffer): Promise<boolean> {
  const { rowCount } = await db.query(
    'SELECT 1 FROM gateway.setup_codes WHERE code_hash = $1 AND used_at IS NULL AND expires_at > now()',
    [codeHash],
  );
  return rowCount === 1;
}

/** Uses the code up (single use); false when it is wrong, used or expired. */
export async function consume(db: Queryable, codeHash: Buffer): Promise<boolean> {
  const { rowCount } = await db.query(
    'UPDATE gateway.setup_codes SET used_at = now() WHERE code_hash = $1 AND used_at IS NULL AND expires_at > now()',
    [codeHash],
  );
  return rowCount === 1;
}
