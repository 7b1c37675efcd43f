import { publish } from '@llmops/kit/bus/publish';
import { withTransaction, type Pool } from '@llmops/kit/db';
import { credentialsRevoked } from '@llmops/kit/events/gateway';
import { recordAudit } from '@llmops/kit/http/audit';
import { Forbidden, NotFound, TooManyRequests, Unprocessable } from '@llmops/kit/problem';
import * as accounts from '../db/accounts.ts';
import * as loginFailures from '../db/login-failures.ts';
import * as sessions from '../db/sessions.ts';
import type { Principal } from './access.ts';
import { hashPassword, verifyPassword } from './passwords.ts';

const WINDOW_MS = 15 * 60 * 1000;

/**
 * A signed-in person changes their own password: the current one must be right (a wrong one counts as a
 * failed sign-in for the account's email, so a stolen session cannot guess it at leisure), then the new
 * hash, the end of every other session of the account and the audit entry are written in one
 * transaction. The caller's own session stays signed in; API tokens are not passwords and keep working.
 */
export async function changeOwnPassword(
  pool: Pool,
  principal: Principal,
  { current, next }: { current: string; next: string },
  { maxFailures, requestId, passwordCost }: { maxFailures: number; requestId: string | null; passwordCost: number },
): Promise<void> {
  if (principal.via !== 'session') {
    throw new Forbidden('Change a password from a signed-in session (the dashboard), not with an API token.');
  }
  const account = await accounts.byId(pool, principal.accountId);
  if (!account) throw new NotFound('Your account no longer exists.');
  const window = { keys: [`email:${account.email}`], windowMs: WINDOW_MS };
  const attempt = await loginFailures.record(pool, window);
  const failures = (await loginFailures.count(pool, window)).get(window.keys[0] as string);
  if (failures && failures.failures > maxFailures) {
    await loginFailures.withdraw(pool, attempt);
    throw new TooManyRequests('Too many wrong passwords for this account; wait and try again.', failures.retryAfterS);
  }
  if (!(await verifyPassword(current, account.password_hash))) {
    throw new Unprocessable('Your current password is not right.', [
      { field: 'body.current_password', message: 'This is not your current password.' },
    ]);
  }
  const passwordHash = await hashPassword(next, passwordCost);
  await withTransaction(pool, async (tx) => {
    await loginFailures.withdraw(tx, attempt);
    const before = await accounts.byIdForUpdate(tx, account.id);
    if (!before) throw new NotFound('Your account no longer exists.');
    await accounts.update(tx, account.id, { passwordHash });
    await sessions.deleteForAccountExcept(tx, account.id, principal.credentialId);
    await publish(tx, credentialsRevoked, { kind: 'account', id: account.id, account_id: account.id });
    await recordAudit(tx, 'gateway', {
      actor: { kind: 'account', id: account.id },
      action: 'account.password_changed',
      resource: { type: 'account', id: account.id },
      before: null,
      after: { password: 'changed', other_sessions: 'ended' },
      requestId,
    });
  });
}
