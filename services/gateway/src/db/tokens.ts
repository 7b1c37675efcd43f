import { many, maybeOne, one, type Queryable } from '@llmops/kit/db';
import type { Scope } from '@llmops/kit/http/access';
import type { Role } from '@llmops/kit/http/identity';

export interface TokenRow {
  id: string;
  account_id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, account_id, name, prefix, scopes, expires_at, last_used_at, revoked_at, created_at, updated_at';

export function insert(
  db: Queryable,
  input: {
    id: string;
    accountId: string;
    name: string;
    secretHash: Buffer;
    prefix: string;
    scopes: readonly Scope[];
    expiresAt: Date | null;
  },
): Promise<TokenRow> {
  return one<TokenRow>(
    db,
    `INSERT INTO gateway.api_tokens (id, account_id, name, secret_hash, prefix, scopes, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
    [input.id, input.accountId, input.name, input.secretHash, input.prefix, input.scopes, input.expiresAt],
  );
}

export function byId(db: Queryable, id: string): Promise<TokenRow | undefined> {
  return maybeOne<TokenRow>(db, `SELECT ${COLUMNS} FROM gateway.api_tokens WHERE id = $1`, [id]);
}

export interface TokenWithAccount {
  token_id: string;
  account_id: string;
  scopes: Scope[];
  expires_at: Date | null;
  revoked: boolean;
  role: Role;
  disabled: boolean;
}

/** What authentication needs of a token secret's hash (revoked and expired ones too: the caller decides). */
export function bySecretHash(db: Queryable, secretHash: Buffer): Promise<TokenWithAccount | undefined> {
  return maybeOne<TokenWithAccount>(
    db,
    `SELECT t.id AS token_id, t.account_id, t.scopes, t.expires_at, t.revoked_at IS NOT NULL AS revoked,
            a.role, a.disabled_at IS NOT NULL AS disabled
     FROM gateway.api_tokens t JOIN gateway.accounts a ON a.id = t.account_id
     WHERE t.secret_hash = $1`,
    [secretHash],
  );
}

export function page(
  db: Queryable,
  { accountId, after, limit }: { accountId: string; after: string | undefined; limit: number },
): Promise<TokenRow[]> {
  return many<TokenRow>(
    db,
    `SELECT ${COLUMNS} FROM gateway.api_tokens WHERE account_id = $1 AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3`,
    [accountId, after ?? null, limit],
  );
}

/** Marks the token revoked; the row as it is now (already revoked ones unchanged). */
export function revoke(db: Queryable, id: string): Promise<TokenRow | undefined> {
  return maybeOne<TokenRow>(
    db,
    `UPDATE gateway.api_tokens SET revoked_at = coalesce(revoked_at, now()),
       updated_at = CASE WHEN revoked_at IS NULL THEN greatest(now(), updated_at + interval '1 microsecond') ELSE updated_at END
     WHERE id = $1 RETURNING ${COLUMNS}`,
    [id],
  );
}

/** Revokes every token of an account not revoked yet (disabling it); the rows as they are now. */
export function revokeAllOf(db: Queryable, accountId: string): Promise<TokenRow[]> {
  return many<TokenRow>(
    db,
    `UPDATE gateway.api_tokens SET revoked_at = now(), updated_at = greatest(now(), updated_at + interval '1 microsecond')
     WHERE account_id = $1 AND revoked_at IS NULL RETURNING ${COLUMNS}`,
    [accountId],
  );
}

/** Writes a batch of last-used times (never moving one back). */
export async function touch(db: Queryable, used: ReadonlyMap<string, Date>): Promise<void> {
  if (used.size === 0) return;
  await db.query(
    `UPDATE gateway.api_tokens t SET last_used_at = greatest(t.last_used_at, u.at)
     FROM unnest($1::uuid[], $2::timestamptz[]) AS u(id, at) WHERE t.id = u.id`,
    [[...used.keys()], [...used.values()]],
  );
}
