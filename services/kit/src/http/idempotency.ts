import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import type { Queryable } from '../db.ts';
import { Unprocessable } from '../problem.ts';
import type { AppEnv } from './app.ts';

/** JSON with sorted keys, so the same body hashes the same however its keys were ordered. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The idempotency table of each service (actor, key, operation, request_hash, status, response; primary
 * key (actor, key)). A fixed list of identifiers: the table name is never built from input.
 */
export type IdempotencyTable =
  'registry.idempotency_keys' | 'prompt.idempotency_keys' | 'runner.idempotency_keys' | 'workflow.idempotency_keys';

export interface Outcome<T> {
  status: number;
  body: T;
  replayed: boolean;
}

/**
 * Creates honour `Idempotency-Key` (ADR 0013), per caller: the same key and request replay the stored
 * answer; the same key with another request is a 422. The key row is written in the create's own
 * transaction, so a create that fails leaves no key behind, and a concurrent request with the same key
 * waits on the row and then replays. Only a hash of the request is kept (a create may carry an API key).
 */
export async function idempotent<T>(
  tx: Queryable,
  c: Context<AppEnv>,
  table: IdempotencyTable,
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
    `INSERT INTO ${table} (actor, key, operation, request_hash) VALUES ($1, $2, $3, $4)
     ON CONFLICT (actor, key) DO NOTHING RETURNING 1`,
    [actor, key, operation, hash],
  );
  if (inserted.rowCount === 1) {
    const result = await run();
    await tx.query(`UPDATE ${table} SET status = $3, response = $4 WHERE actor = $1 AND key = $2`, [
      actor,
      key,
      result.status,
      JSON.stringify(result.body),
    ]);
    return { ...result, replayed: false };
  }
  const { rows } = await tx.query<{ operation: string; request_hash: string; status: number; response: T }>(
    `SELECT operation, request_hash, status, response FROM ${table} WHERE actor = $1 AND key = $2`,
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
