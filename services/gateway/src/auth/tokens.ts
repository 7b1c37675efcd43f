import { publish } from '@llmops/kit/bus/publish';
import { withTransaction, type Pool, type Queryable } from '@llmops/kit/db';
import { credentialsRevoked } from '@llmops/kit/events/gateway';
import type { Scope } from '@llmops/kit/http/access';
import type { Role } from '@llmops/kit/http/identity';
import { uuidv7 } from '@llmops/kit/ids';
import { NotFound, Unprocessable } from '@llmops/kit/problem';
import { scopesForRole } from './access.ts';
import { recordAudit, type AuditActor } from '@llmops/kit/http/audit';
import * as tokens from '../db/tokens.ts';
import { hashSecret, newSecret, TOKEN_PREFIX } from './secrets.ts';

export type { TokenRow } from '../db/tokens.ts';

export function tokenJson(row: tokens.TokenRow) {
  return {
    id: row.id,
    account_id: row.account_id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes,
    expires_at: row.expires_at?.toISOString() ?? null,
    last_used_at: row.last_used_at?.toISOString() ?? null,
    revoked_at: row.revoked_at?.toISOString() ?? null,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

function audited(row: tokens.TokenRow) {
  return {
    account_id: row.account_id,
    name: row.name,
    prefix: row.prefix,
    scopes: row.scopes,
    expires_at: row.expires_at?.toISOString() ?? null,
  };
}

export interface NewToken {
  name: string;
  scopes: readonly Scope[];
  expiresAt?: Date | undefined;
}

/**
 * Creates a token for an account (with its audit event); the secret is returned once and only its hash
 * is stored. Its scopes must be within the account's role.
 */
export async function createToken(
  tx: Queryable,
  account: { id: string; role: Role },
  input: NewToken,
  { actor, requestId }: { actor: AuditActor; requestId: string | null },
): Promise<{ row: tokens.TokenRow; secret: string }> {
  const allowed = scopesForRole(account.role);
  const beyond = [...new Set(input.scopes)].filter((scope) => !allowed.includes(scope));
  if (beyond.length > 0) {
    throw new Unprocessable(`A ${account.role} account cannot hold ${beyond.join(', ')}.`, [
      { field: 'body.scopes', message: `not allowed for the ${account.role} role: ${beyond.join(', ')}` },
    ]);
  }
  if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
    throw new Unprocessable('expires_at must be in the future.', [
      { field: 'body.expires_at', message: 'expected a time in the future' },
    ]);
  }
  const secret = newSecret(TOKEN_PREFIX);
  const row = await tokens.insert(tx, {
    id: uuidv7(),
    accountId: account.id,
    name: input.name,
    secretHash: hashSecret(secret),
    prefix: secret.slice(0, TOKEN_PREFIX.length + 4),
    scopes: [...new Set(input.scopes)],
    expiresAt: input.expiresAt ?? null,
  });
  await recordAudit(tx, 'gateway', {
    actor,
    action: 'token.created',
    resource: { type: 'token', id: row.id },
    before: null,
    after: audited(row),
    requestId,
  });
  return { row, secret };
}

/**
 * Revokes a token (with its audit event) and tells every gateway instance at once. `mayRevoke` decides
 * whether the caller may revoke this one (404 hides tokens that are not theirs).
 */
export async function revokeToken(
  pool: Pool,
  id: string,
  { actor, requestId, mayRevoke }: { actor: AuditActor; requestId: string | null; mayRevoke: (row: tokens.TokenRow) => boolean },
): Promise<tokens.TokenRow> {
  return withTransaction(pool, async (tx) => {
    const before = await tokens.byId(tx, id);
    if (!before || !mayRevoke(before)) throw new NotFound(`No token ${id}.`);
    if (before.revoked_at) return before;
    const after = (await tokens.revoke(tx, id)) as tokens.TokenRow;
    await publish(tx, credentialsRevoked, { kind: 'token', id, account_id: after.account_id });
    await recordRevoked(tx, after, { actor, requestId });
    return after;
  });
}

/**
 * Revokes every token of an account in the caller's transaction, each with its audit event: a disabled
 * account's tokens stay ended when it is enabled again. The caller publishes the account's revocation.
 */
export async function revokeAccountTokens(
  tx: Queryable,
  accountId: string,
  by: { actor: AuditActor; requestId: string | null },
): Promise<void> {
  for (const row of await tokens.revokeAllOf(tx, accountId)) await recordRevoked(tx, row, by);
}

function recordRevoked(
  tx: Queryable,
  row: tokens.TokenRow,
  { actor, requestId }: { actor: AuditActor; requestId: string | null },
): Promise<void> {
  return recordAudit(tx, 'gateway', {
    actor,
    action: 'token.revoked',
    resource: { type: 'token', id: row.id },
    before: audited(row),
    after: { ...audited(row), revoked_at: row.revoked_at?.toISOString() ?? null },
    requestId,
  });
}
