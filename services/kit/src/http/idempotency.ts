import type { MiddlewareHandler } from 'hono';
import type { Queryable } from '../db.ts';
import { once, type Answer, type ClaimedKey, type IdempotencyTable } from '../idempotency.ts';
import { Unprocessable } from '../problem.ts';
import type { AppEnv } from './app.ts';

export interface Outcome<T> extends Answer<T> {
  replayed: boolean;
}

/**
 * `c.var.idempotent(tx, operation, request, run)`: a create honours `Idempotency-Key` (ADR 0013), per
 * caller, in the create's own transaction: the same key and request replay the stored answer; the same
 * key with another request is a 422 on `header.idempotency-key`. Without the header, `run` just runs (and
 * is given null).
 */
export type Idempotent = <T>(
  tx: Queryable,
  operation: string,
  request: unknown,
  run: (claimed: ClaimedKey | null) => Promise<Answer<T>>,
) => Promise<Outcome<T>>;

/** The 422 for an `Idempotency-Key` that came before with another request. */
export function keyReused(): Unprocessable {
  return new Unprocessable('Idempotency-Key: this key was already used with a different request; use a new key', [
    { field: 'header.idempotency-key', message: 'already used with a different request' },
  ]);
}

/** Binds `c.var.idempotent` to the service's own table, once, when its app is made. */
export function bindIdempotency(table: IdempotencyTable): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const idempotent: Idempotent = async (tx, operation, request, run) => {
      const key = c.req.header('idempotency-key');
      if (key === undefined) return { ...(await run(null)), replayed: false };
      const identity = c.get('identity');
      const outcome = await once(tx, table, { actor: `${identity.kind}:${identity.subject}`, key, operation, request }, run);
      if (outcome.kind === 'reused') throw keyReused();
      return { status: outcome.status, body: outcome.body, replayed: outcome.kind === 'replay' };
    };
    c.set('idempotent', idempotent);
    return next();
  };
}
