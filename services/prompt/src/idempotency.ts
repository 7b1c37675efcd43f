import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import type { Queryable } from '@llmops/kit/db';
import type { AppEnv } from '@llmops/kit/http/app';
import { Unprocessable } from '@llmops/kit/problem';
import { canonical } from './canonical.ts';

export interface Outcome<T> {
  status: number;
  body: T;
  replayed: boolean;
}

/**
 * Creates honour `Idempotency-Key` (DESIGN D9): keys are scoped per caller; the same key with the same
 * request gives the stored answer again, with a different request a 422. The key row is written in the
 * create's own transaction, so a create that fails leaves no key behind, and a concurrent request with
 * the same key waits on the row and then replays.
 */
export async function idempotent<T>(
  tx: Queryable,
  c: Context<AppEnv>,
  operation: string,
  request: unknown,
  run: () => Promise<{ status: number; body: T }>,
): Promise<Outcome<T>> {
  const key = c.req.header('idempotency-key');
  if (key === undefined) return { ...(await run()), replayed: false };
  const identity = c.get('identity');
  const actor = `${identity.kind}:${identity.subject}`;
  const hash = createHash('sha256')
    .update(`${operation}\n${canonical(request)}`)
    .digest('hex');
  const inserted = await tx.query(
    `INSERT INTO prompt.idempotency_keys (actor, key, operation, request_hash) VALUES ($1, $2, $3, $4)
     ON CONFLICT (actor, key) DO NOTHING RETURNING 1`,
    [actor, key, operation, hash],
  );
  if (inserted.rowCount === 1) {
    const result = await run();
    await tx.query(`UPDATE prompt.idempotency_keys SET status = $3, response = $4 WHERE actor = $1 AND key = $2`, [
      actor,
      key,
      result.status,
      JSON.stringify(result.body),
    ]);
    return { ...result, replayed: false };
  }
  const { rows } = await tx.query<{ operation: string; request_hash: string; status: number; response: T }>(
    `SELECT operation, request_hash, status, response FROM prompt.idempotency_keys WHERE actor = $1 AND key = $2`,
    [actor, key],
  );
  const stored = rows[0];
  if (!stored || stored.operation !== operation || stored.request_hash !== hash) {
    throw new Unprocessable('Idempotency-Key: this key was already used with a different request; use a new key', [
      { field: 'header.idempotency-key', message: 'already used with a different request' },
    ]);
  }
  return { status: stored.status, body: stored.response, replayed: true };
}
