import { publish } from '@llmops/kit/bus/publish';
import { isPgError, PgCode, withTransaction, type Pool, type Queryable } from '@llmops/kit/db';
import { credentialsRevoked } from '@llmops/kit/events/gateway';
import type { Role } from '@llmops/kit/http/identity';
import { uuidv7 } from '@llmops/kit/ids';
import { Conflict, NotFound } from '@llmops/kit/problem';
import { recordAudit, type AuditActor } from '@llmops/kit/http/audit';
import * as accounts from '../db/accounts.ts';
import * as sessions from '../db/sessions.ts';
import { hashPassword } from './passwords.ts';
import { revokeAccountTokens } from './tokens.ts';

export type { AccountRow } from '../db/accounts.ts';

/** The public shape of an account (never its password hash). */
export function accountJson(row: accounts.AccountRow) {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    role: row.role,
    kind: row.kind,
    disabled: row.disabled_at !== null,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/** What the audit log keeps of an account: its configuration, without the password hash. */
function audited(row: accounts.AccountRow) {
  const { updated_at: _updated, created_at: _created, ...rest } = accountJson(row);
  return rest;
}

export interface NewAccount {
  email: string;
  name: string;
  role: Role;
  password: string;
  /** A person (default), or an automation account of the operator CLI. */
  kind?: accounts.AccountKind;
}

/** Creates an account in the caller's transaction, with its audit event; 409 when the email is taken. */
export async function createAccount(
  tx: Queryable,
  input: NewAccount,
  { actor, requestId, passwordCost }: { actor: AuditActor | 'self'; requestId: string | null; passwordCost: number },
): Promise<accounts.AccountRow> {
  const id = uuidv7();
  const passwordHash = await hashPassword(input.password, passwordCost);
  let row: accounts.AccountRow;
  try {
    await tx.query('SAVEPOINT create_account');
    row = await accounts.insert(tx, {
      id,
      email: input.email.toLowerCase(),
      name: input.name,
      role: input.role,
      kind: input.kind ?? 'human',
      passwordHash,
    });
    await tx.query('RELEASE SAVEPOINT create_account');
  } catch (error) {
    if (isPgError(error, PgCode.uniqueViolation)) {
      await tx.query('ROLLBACK TO SAVEPOINT create_account');
      throw new Conflict(`An account with the email ${input.email} already exists.`);
    }
    throw error;
  }
  await recordAudit(tx, 'gateway', {
    actor: actor === 'self' ? { kind: 'account', id } : actor,
    action: 'account.created',
    resource: { type: 'account', id },
    before: null,
    after: audited(row),
    requestId,
  });
  return row;
}

export interface AccountChanges {
  name?: string | undefined;
  role?: Role | undefined;
  disabled?: boolean | undefined;
  password?: string | undefined;
}

/**
 * Changes an account (with its audit event). A new role, a new password or disabling makes every instance
 * check its credentials again; a new password or disabling ends its sessions, and disabling revokes its
 * tokens. The last active human admin cannot be demoted or disabled, even by two admins at once.
 */
export async function updateAccount(
  pool: Pool,
  id: string,
  changes: AccountChanges,
  {
    actor,
    requestId,
    passwordCost,
    precondition,
  }: {
    actor: AuditActor;
    requestId: string | null;
    passwordCost: number;
    precondition?: (current: accounts.AccountRow) => void;
  },
): Promise<accounts.AccountRow> {
  const passwordHash = changes.password === undefined ? undefined : await hashPassword(changes.password, passwordCost);
  return withTransaction(pool, async (tx) => {
    // Taken before the account's row, in the same order by every change that may remove an admin.
    if (changes.role !== undefined || changes.disabled === true) await accounts.lockAdmins(tx);
    const before = await accounts.byIdForUpdate(tx, id);
    if (!before) throw new NotFound(`No account ${id}.`);
    precondition?.(before);
    const activeHumanAdmin = before.role === 'admin' && before.kind === 'human' && before.disabled_at === null;
    const demoted = changes.role !== undefined && changes.role !== 'admin';
    if (activeHumanAdmin && (demoted || changes.disabled === true) && (await accounts.otherActiveHumanAdmins(tx, id)) === 0) {
      throw new Conflict(
        'This is the last active human admin: make another person admin first (automation accounts made by `token create` do not count).',
      );
    }
    const after = await accounts.update(tx, id, {
      ...(changes.name !== undefined ? { name: changes.name } : {}),
      ...(changes.role !== undefined ? { role: changes.role } : {}),
      ...(changes.disabled !== undefined ? { disabled: changes.disabled } : {}),
      ...(passwordHash !== undefined ? { passwordHash } : {}),
    });
    const access =
      after.role !== before.role || (after.disabled_at === null) !== (before.disabled_at === null) || passwordHash !== undefined;
    if (access) {
      if (passwordHash !== undefined || after.disabled_at !== null) await sessions.deleteForAccount(tx, id);
      // Disabling ends the account's tokens for good, not only while it stays disabled.
      if (after.disabled_at !== null && before.disabled_at === null) await revokeAccountTokens(tx, id, { actor, requestId });
      await publish(tx, credentialsRevoked, { kind: 'account', id, account_id: id });
    }
    await recordAudit(tx, 'gateway', {
      actor,
      action: 'account.updated',
      resource: { type: 'account', id },
      before: audited(before),
      after: { ...audited(after), ...(passwordHash !== undefined ? { password: 'changed' } : {}) },
      requestId,
    });
    return after;
  });
}
