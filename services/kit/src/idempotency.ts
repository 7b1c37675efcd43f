import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';
import type { Queryable } from './db.ts';

/**
 * Idempotency keys, one mechanism for HTTP creates and bus requests alike (ADRs 0010, 0013). Each
 * service keeps `<schema>.idempotency_keys` (actor, key, operation, request_hash, status, response;
 * primary key (actor, key)): a key is scoped to who sent it, and remembers a hash of the request it came
 * with (never the request: a create may carry an API key) and the answer it got. The same key with the
 * same request is that answer again; with another request it is refused. HTTP binds this per service in
 * ./http/idempotency.ts (`c.var.idempotent`); the runner's bus requests call it directly.
 */

/** A service's table: a fixed list of identifiers, so the table name is never built from input. */
export type IdempotencyTable =
  'registry.idempotency_keys' | 'prompt.idempotency_keys' | 'runner.idempotency_keys' | 'workflow.idempotency_keys';

/** One use of a key: who sent it, the key, what it asked for (`task.create`) and the request itself. */
export interface KeyUse {
  actor: string;
  key: string;
  operation: string;
  request: unknown;
}

/** What a first use is given by `once` to store with what it makes (the runner keeps both on its tasks). */
export interface ClaimedKey {
  key: string;
  requestHash: string;
}

export interface Answer<T> {
  status: number;
  body: T;
}

/**
 * How a key use ended: `first` ran the work, `replay` is the answer an earlier use with the same request
 * got, `reused` means the key was used before with another request (nothing ran).
 */
export type KeyOutcome<T> = ({ kind: 'first' } & Answer<T>) | ({ kind: 'replay' } & Answer<T>) | { kind: 'reused' };

export function requestHash(operation: string, request: unknown): string {
  return createHash('sha256')
    .update(`${operation}\n${canonicalJson(request)}`)
    .digest('hex');
}

interface KeyRow {
  operation: string;
  request_hash: string;
  status: number;
  response: unknown;
}

function compare<T>(row: KeyRow, use: KeyUse, hash: string): KeyOutcome<T> {
  if (row.operation !== use.operation || row.request_hash !== hash) return { kind: 'reused' };
  return { kind: 'replay', status: row.status, body: row.response as T };
}

/** The earlier use of this key, compared with this one; null when the key is new. */
export async function earlierUse<T>(db: Queryable, table: IdempotencyTable, use: KeyUse): Promise<KeyOutcome<T> | null> {
  const { rows } = await db.query<KeyRow>(
    `SELECT operation, request_hash, status, response FROM ${table} WHERE actor = $1 AND key = $2`,
    [use.actor, use.key],
  );
  return rows[0] ? compare(rows[0], use, requestHash(use.operation, use.request)) : null;
}

/**
 * Runs `run` once per key, in the caller's transaction: the key row is written in it, so work that fails
 * leaves no key behind, and a concurrent use of the same key waits on the row, then replays or is refused.
 */
export async function once<T>(
  tx: Queryable,
  table: IdempotencyTable,
  use: KeyUse,
  run: (claimed: ClaimedKey) => Promise<Answer<T>>,
): Promise<KeyOutcome<T>> {
  const hash = requestHash(use.operation, use.request);
  const inserted = await tx.query(
    `INSERT INTO ${table} (actor, key, operation, request_hash) VALUES ($1, $2, $3, $4)
     ON CONFLICT (actor, key) DO NOTHING RETURNING 1`,
    [use.actor, use.key, use.operation, hash],
  );
  if (inserted.rowCount !== 1) {
    const earlier = await earlierUse<T>(tx, table, use);
    if (!earlier) throw new Error(`Idempotency key ${use.key} of ${use.actor} vanished while in use.`);
    return earlier;
  }
  const answer = await run({ key: use.key, requestHash: hash });
  await tx.query(`UPDATE ${table} SET status = $3, response = $4 WHERE actor = $1 AND key = $2`, [
    use.actor,
    use.key,
    answer.status,
    JSON.stringify(answer.body),
  ]);
  return { kind: 'first', ...answer };
}
