import { withTransaction, type Pool, type Queryable } from '@llmops/kit/db';
import { Conflict, Forbidden } from '@llmops/kit/problem';
import { createAccount, type AccountRow } from './accounts.ts';
import * as accounts from '../db/accounts.ts';
import * as setupCodes from '../db/setup-codes.ts';
import { hashSecret, newSecret } from './secrets.ts';

/** How long a printed setup link works. */
export const SETUP_CODE_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * First run: while no account exists, a one-time code (single use, expiring, stored hashed) lets whoever
 * holds the link printed by `npm start` create the first admin. A new code replaces the previous one.
 * Undefined when an account exists (no code is made).
 */
export async function newSetupCode(
  db: Queryable,
  ttlMs = SETUP_CODE_TTL_MS,
): Promise<{ code: string; expiresAt: Date } | undefined> {
  if (await accounts.any(db)) return undefined;
  const code = newSecret();
  const expiresAt = await setupCodes.replace(db, hashSecret(code), ttlMs);
  return { code, expiresAt };
}

export async function setupStatus(
  db: Queryable,
  code: string | undefined,
): Promise<{ setup_needed: boolean; code_valid: boolean }> {
  const needed = !(await accounts.any(db));
  const valid = needed && code !== undefined && code.length <= 200 && (await setupCodes.isUsable(db, hashSecret(code)));
  return { setup_needed: needed, code_valid: valid };
}

/** Creates the first admin with the code; 409 once any account exists, 403 for a wrong, used or expired code. */
export async function completeSetup(
  pool: Pool,
  input: { code: string; name: string; email: string; password: string },
  { requestId, passwordCost }: { requestId: string; passwordCost: number },
): Promise<AccountRow> {
  return withTransaction(pool, async (tx) => {
    // Two setups at once: the second waits, then sees the first's account.
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('gateway.setup'))`);
    if (await accounts.any(tx)) throw new Conflict('Setup is done: an account exists. Sign in instead.');
    if (!(await setupCodes.consume(tx, hashSecret(input.code)))) {
      throw new Forbidden(
        'This setup link is wrong, used or expired. Restart `npm start` (or run `npm run llmops -- account setup-link`) for a new one.',
      );
    }
    return createAccount(
      tx,
      { email: input.email, name: input.name, role: 'admin', password: input.password },
      { actor: 'self', requestId, passwordCost },
    );
  });
}
