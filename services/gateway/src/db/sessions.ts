import { maybeOne, type Queryable } from '@llmops/kit/db';
import type { Role } from '@llmops/kit/http/identity';

export async function insert(
  db: Queryable,
  input: { id: string; secretHash: Buffer; accountId: string; ttlMs: number; userAgent: string | undefined },
): Promise<{ expires_at: Date }> {
  const { rows } = await db.query<{ expires_at: Date }>(
    `INSERT INTO gateway.sessions (id, secret_hash, account_id, expires_at, user_agent)
     VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond', $5) RETURNING expires_at`,
    [input.id, input.secretHash, input.accountId, input.ttlMs, input.userAgent?.slice(0, 500) ?? null],
  );
  return rows[0] as { expires_at: Date };
}

export interface SessionWithAccount {
  session_id: string;
  expires_at: Date;
  account_id: string;
  role: Role;
  disabled: boolean;
}

/** The unexpired session of a cookie secret's hash, with its account. */
export function bySecretHash(db: Queryable, secretHash: Buffer): Promise<SessionWithAccount | undefined> {
  return maybeOne<SessionWithAccount>(
    db,
    `SELECT s.id AS session_id, s.expires_at, a.id AS account_id, a.role, a.disabled_at IS NOT NULL AS disabled
     FROM gateway.sessions s JOIN gateway.accounts a ON a.id = s.account_id
     WHERE s.secret_hash = $1 AND s.expires_at > now()`,
    [secretHash],
  );
}

export async function deleteBySecretHash(
  db: Queryable,
  secretHash: Buffer,
): Promise<{ id: string; account_id: string } | undefined> {
  const { rows } = await db.query<{ id: string; account_id: string }>(
    'DELETE FROM gateway.sessions WHERE secret_hash = $1 RETURNING id, account_id',
    [secretHash],
  );
  return rows[0];
}

export async function deleteForAccount(db: Queryable, accountId: string): Promise<void> {
  await db.query('DELETE FROM gateway.sessions WHERE account_id = $1', [accountId]);
}

/** Ends every session of an account but one (the caller's own, after a password change). */
export async function deleteForAccountExcept(db: Queryable, accountId: string, keptId: string): Promise<void> {
  await db.query('DELETE FROM gateway.sessions WHERE account_id = $1 AND id <> $2', [accountId, keptId]);
}

export async function deleteExpired(db: Queryable): Promise<number> {
  return (await db.query('DELETE FROM gateway.sessions WHERE expires_at <= now()')).rowCount ?? 0;
}
