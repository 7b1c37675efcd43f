/**
 * Operator commands, run by the CLI (`npm run llmops -- account|token ...`) and the supervisor against
 * the database directly with an admin connection (no gateway needs to run). Changes carry audit events
 * like the API's, with the actor `service:operator-cli`.
 */
import type { z } from '@hono/zod-openapi';
import { AccountCreateSchema, TokenCreateSchema } from '@llmops/kit/contracts/gateway';
import { createPool, withClient, type Queryable } from '@llmops/kit/db';
import type { Scope } from '@llmops/kit/http/access';
import { roleAtLeast } from '@llmops/kit/http/access';
import type { Role } from '@llmops/kit/http/identity';
import { randomBytes } from 'node:crypto';
import { scopesForRole } from './auth/access.ts';
import { createAccount, type AccountRow } from './auth/accounts.ts';
import { passwordCostOf } from './config.ts';
import type { AuditActor } from '@llmops/kit/http/audit';
import * as accounts from './db/accounts.ts';
import { newSetupCode } from './auth/setup.ts';
import { createToken, revokeToken, type TokenRow } from './auth/tokens.ts';

const OPERATOR: AuditActor = { kind: 'service', id: 'operator-cli' };

/** Input an operator command refused, field by field, by the same rules as the API's (its contract schemas). */
export class OperatorInputError extends Error {
  override name = 'OperatorInputError';
  readonly problems: readonly { field: string; message: string }[];
  constructor(problems: readonly { field: string; message: string }[]) {
    super(problems.map(({ field, message }) => `${field}: ${message}`).join('; '));
    this.problems = problems;
  }
}

function checked<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new OperatorInputError(result.error.issues.map((issue) => ({ field: issue.path.join('.'), message: issue.message })));
}

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

/** Whether any account exists yet (once one does, the first-run setup link is spent). */
export function anyAccount(adminUrl: string): Promise<boolean> {
  return withClient(adminUrl, (client) => accounts.any(client));
}

export async function createAccountAsOperator(
  adminUrl: string,
  input: { email: string; name: string; role: Role; password: string },
): Promise<AccountRow> {
  const account = checked(AccountCreateSchema, input);
  return inTransaction(adminUrl, (tx) =>
    createAccount(tx, account, { actor: OPERATOR, requestId: null, passwordCost: passwordCostOf() }),
  );
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
  const token = checked(TokenCreateSchema.pick({ name: true, scopes: true }), { name, scopes: scopes ?? scopesForRole(role) });
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
          { actor: OPERATOR, requestId: null, passwordCost: passwordCostOf() },
        ));
    }
    const { row, secret } = await createToken(
      tx,
      owner,
      { name: token.name, scopes: token.scopes, expiresAt },
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
