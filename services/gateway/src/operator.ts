/**
 * Operator commands, run by the CLI (`npm run llmops -- account|token ...`) and the supervisor against
 * the database directly with an admin connection (no gateway needs to run). Changes carry audit events
 * like the API's, with the actor `service:operator-cli`.
 */
import { createPool, withClient, type Queryable } from '@llmops/kit/db';
import type { Scope } from '@llmops/kit/http/access';
import { roleAtLeast } from '@llmops/kit/http/access';
import type { Role } from '@llmops/kit/http/identity';
import { randomBytes } from 'node:crypto';
import { scopesForRole } from './access.ts';
import { createAccount, type AccountRow } from './accounts.ts';
import type { Actor } from './audit.ts';
import * as accounts from './db/accounts.ts';
import { newSetupCode } from './setup.ts';
import { createToken, revokeToken, type TokenRow } from './tokens.ts';

const OPERATOR: Actor = { kind: 'service', id: 'operator-cli' };

async function inTransaction<T>(adminUrl: string, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  return withClient(adminUrl, async (client) => {
    await client.query('BEGIN');
    try {
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  });
}

/** The first-run link `${webUrl}/setup?code=...` while no account exists (a new code each time), else undefined. */
export async function setupLink(adminUrl: string, webUrl: string): Promise<{ url: string; expiresAt: Date } | undefined> {
  const made = await inTransaction(adminUrl, (tx) => newSetupCode(tx));
  return made && { url: `${webUrl.replace(/\/$/, '')}/setup?code=${made.code}`, expiresAt: made.expiresAt };
}

export function createAccountAsOperator(
  adminUrl: string,
  input: { email: string; name: string; role: Role; password: string },
): Promise<AccountRow> {
  return inTransaction(adminUrl, (tx) => createAccount(tx, input, { actor: OPERATOR, requestId: null }));
}

/** The account a token without `--account` belongs to: one automation account per role, made on first use. */
function automationEmail(role: Role): string {
  return `${role}-automation@llmops.invalid`;
}

/**
 * A new API token. With `account` (an email), for that account; else for the automation account of
 * `role`. Scopes default to everything `role` may (never beyond the account's own role).
 */
export async function createTokenAsOperator(
  adminUrl: string,
  { role, name, account, scopes, expiresAt }: { role: Role; name: string; account?: string; scopes?: Scope[]; expiresAt?: Date },
): Promise<{ row: TokenRow; secret: string; account: AccountRow }> {
  return inTransaction(adminUrl, async (tx) => {
    let owner: AccountRow | undefined;
    if (account) {
      owner = await accounts.byEmail(tx, account.toLowerCase());
      if (!owner) throw new Error(`No account with the email ${account}; create it first with \`account create\`.`);
      if (!roleAtLeast(owner.role, role))
        throw new Error(`${account} is ${owner.role}: a token cannot exceed its account's role (${role}).`);
    } else {
      owner =
        (await accounts.byEmail(tx, automationEmail(role))) ??
        (await createAccount(
          tx,
          {
            email: automationEmail(role),
            name: `Automation (${role})`,
            role,
            kind: 'automation',
            password: randomBytes(32).toString('base64url'),
          },
          { actor: OPERATOR, requestId: null },
        ));
    }
    const { row, secret } = await createToken(
      tx,
      owner,
      { name, scopes: scopes ?? scopesForRole(role), expiresAt },
      { actor: OPERATOR, requestId: null },
    );
    return { row, secret, account: owner };
  });
}

export async function revokeTokenAsOperator(adminUrl: string, id: string): Promise<TokenRow> {
  const pool = createPool({ connectionString: adminUrl, applicationName: 'llmops-cli', max: 1 });
  try {
    return await revokeToken(pool, id, { actor: OPERATOR, requestId: null, mayRevoke: () => true });
  } finally {
    await pool.end();
  }
}
