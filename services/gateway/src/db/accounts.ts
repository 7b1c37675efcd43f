import { many, maybeOne, one, type Queryable } from '@llmops/kit/db';
import type { Role } from '@llmops/kit/http/identity';

/** A person, or an automation account of the operator CLI (docs/security.md, "The last admin"). */
export type AccountKind = 'human' | 'automation';

export interface AccountRow {
  id: string;
  email: string;
  name: string;
  role: Role;
  kind: AccountKind;
  password_hash: string;
  disabled_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, email, name, role, kind, password_hash, disabled_at, created_at, updated_at';

export function insert(
  db: Queryable,
  input: { id: string; email: string; name: string; role: Role; kind: AccountKind; passwordHash: string },
): Promise<AccountRow> {
  return one<AccountRow>(
    db,
    `INSERT INTO gateway.accounts (id, email, name, role, kind, password_hash) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
    [input.id, input.email, input.name, input.role, input.kind, input.passwordHash],
  );
}

export function byId(db: Queryable, id: string): Promise<AccountRow | undefined> {
  return maybeOne<AccountRow>(db, `SELECT ${COLUMNS} FROM gateway.accounts WHERE id = $1`, [id]);
}

export function byIdForUpdate(db: Queryable, id: string): Promise<AccountRow | undefined> {
  return maybeOne<AccountRow>(db, `SELECT ${COLUMNS} FROM gateway.accounts WHERE id = $1 FOR UPDATE`, [id]);
}

export function byEmail(db: Queryable, email: string): Promise<AccountRow | undefined> {
  return maybeOne<AccountRow>(db, `SELECT ${COLUMNS} FROM gateway.accounts WHERE email = $1`, [email]);
}

export async function any(db: Queryable): Promise<boolean> {
  return (await db.query('SELECT 1 FROM gateway.accounts LIMIT 1')).rowCount === 1;
}

/** Oldest first (UUIDv7 order), after the cursor's id. */
export function page(db: Queryable, { after, limit }: { after: string | undefined; limit: number }): Promise<AccountRow[]> {
  return many<AccountRow>(db, `SELECT ${COLUMNS} FROM gateway.accounts WHERE $1::uuid IS NULL OR id > $1 ORDER BY id LIMIT $2`, [
    after ?? null,
    limit,
  ]);
}

/** The names of the accounts among `ids` (unknown ids are left out), in id order. */
export function namesOf(db: Queryable, ids: readonly string[]): Promise<Pick<AccountRow, 'id' | 'name' | 'kind'>[]> {
  return many<Pick<AccountRow, 'id' | 'name' | 'kind'>>(
    db,
    'SELECT id, name, kind FROM gateway.accounts WHERE id = ANY($1::uuid[]) ORDER BY id',
    [ids],
  );
}

export function update(
  db: Queryable,
  id: string,
  changes: { name?: string; role?: Role; passwordHash?: string; disabled?: boolean },
): Promise<AccountRow> {
  return one<AccountRow>(
    db,
    `UPDATE gateway.accounts SET
       name = coalesce($2, name),
       role = coalesce($3, role),
       password_hash = coalesce($4, password_hash),
       disabled_at = CASE WHEN $5::boolean IS NULL THEN disabled_at WHEN $5 THEN coalesce(disabled_at, now()) ELSE NULL END,
       updated_at = greatest(now(), updated_at + interval '1 microsecond')
     WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, changes.name ?? null, changes.role ?? null, changes.passwordHash ?? null, changes.disabled ?? null],
  );
}

/**
 * Serializes every change that may remove an admin, until the transaction ends: two admins demoting each
 * other at once would otherwise each count the other as still there, and leave none.
 */
export async function lockAdmins(db: Queryable): Promise<void> {
  await db.query(`SELECT pg_advisory_xact_lock(hashtext('gateway.admins'))`);
}

/**
 * Active human admins other than `id` (automation accounts do not count): the last one cannot be demoted
 * or disabled. Call it under `lockAdmins`.
 */
export async function otherActiveHumanAdmins(db: Queryable, id: string): Promise<number> {
  const row = await one<{ n: number }>(
    db,
    `SELECT count(*)::int AS n FROM gateway.accounts
     WHERE role = 'admin' AND kind = 'human' AND disabled_at IS NULL AND id <> $1`,
    [id],
  );
  return row.n;
}
