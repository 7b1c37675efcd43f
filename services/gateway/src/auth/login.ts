import { withTransaction, type Pool } from '@llmops/kit/db';
import { uuidv7 } from '@llmops/kit/ids';
import { Forbidden, TooManyRequests, Unauthorized } from '@llmops/kit/problem';
import type { AccountRow } from './accounts.ts';
import * as accounts from '../db/accounts.ts';
import * as loginFailures from '../db/login-failures.ts';
import * as sessions from '../db/sessions.ts';
import { decoyHash, verifyPassword } from './passwords.ts';
import { hashSecret, newSecret } from './secrets.ts';

const WINDOW_MS = 15 * 60 * 1000;

export interface SignIn {
  account: AccountRow;
  /** The cookie value; only its hash is stored. */
  secret: string;
  expiresAt: Date;
}

/** Starts a session for an account (after setup or a checked password). */
export async function startSession(
  pool: Pool | Parameters<typeof sessions.insert>[0],
  account: AccountRow,
  { ttlMs, userAgent }: { ttlMs: number; userAgent: string | undefined },
): Promise<SignIn> {
  const secret = newSecret();
  const { expires_at } = await sessions.insert(pool, {
    id: uuidv7(),
    secretHash: hashSecret(secret),
    accountId: account.id,
    ttlMs,
    userAgent,
  });
  return { account, secret, expiresAt: expires_at };
}

/**
 * Checks email and password. Failures are counted per email and per client address over 15 minutes
 * (the database's clock, so every instance shares them); past the limit the answer is 429 with
 * Retry-After, whether or not the password is right. An unknown email costs as much as a known one.
 * The attempt is recorded before it is counted, so requests sent at once cannot all slip under the limit.
 */
export async function signIn(
  pool: Pool,
  { email, password, client, userAgent }: { email: string; password: string; client: string; userAgent: string | undefined },
  { maxFailures, ttlMs, passwordCost }: { maxFailures: number; ttlMs: number; passwordCost: number },
): Promise<SignIn> {
  const address = email.trim().toLowerCase();
  const emailKey = `email:${address.slice(0, 254)}`;
  const clientKey = `ip:${client.slice(0, 100)}`;
  const window = { keys: [emailKey, clientKey], windowMs: WINDOW_MS };
  const attempt = await loginFailures.record(pool, window);
  const counts = await loginFailures.count(pool, window);
  // The counts include this attempt: more than the limit means the limit was reached before it.
  const byEmail = counts.get(emailKey);
  const byClient = counts.get(clientKey);
  const refusal =
    byEmail && byEmail.failures > maxFailures
      ? new TooManyRequests('Too many failed sign-ins for this email; wait and try again.', byEmail.retryAfterS)
      : byClient && byClient.failures > maxFailures * 10
        ? new TooManyRequests('Too many failed sign-ins from this address; wait and try again.', byClient.retryAfterS)
        : undefined;
  if (refusal) {
    await loginFailures.withdraw(pool, attempt);
    throw refusal;
  }
  const account = await accounts.byEmail(pool, address);
  const ok = await verifyPassword(password, account?.password_hash ?? (await decoyHash(passwordCost)));
  if (!account || !ok) throw new Unauthorized('The email or the password is wrong.');
  if (account.disabled_at) {
    await loginFailures.withdraw(pool, attempt);
    throw new Forbidden('This account is disabled; ask an admin.');
  }
  return withTransaction(pool, async (tx) => {
    await loginFailures.clear(tx, emailKey);
    await loginFailures.withdraw(tx, attempt);
    return startSession(tx, account, { ttlMs, userAgent });
  });
}
