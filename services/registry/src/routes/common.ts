import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import type { Pool, Queryable } from '@llmops/kit/db';
import type { AppEnv } from '@llmops/kit/http/app';
import type { Keyring } from '@llmops/kit/crypto/keyring';
import type { ProviderAdapter, ProviderKind } from '@llmops/kit/adapters/types';
import { publish } from '@llmops/kit/bus/index';
import { auditRecorded } from '@llmops/kit/events/audit';
import { Unprocessable, type FieldProblem } from '@llmops/kit/problem';

/** What the route modules are built from. */
export interface RouteDeps {
  pool: Pool;
  keyring: Keyring;
  /** The adapter of a kind (tests may swap one). */
  adapterFor: (kind: ProviderKind) => ProviderAdapter;
}

export const iso = (date: Date): string => date.toISOString();
export const isoOrNull = (date: Date | null): string | null => (date ? date.toISOString() : null);

/** A 422 naming one or more fields. */
export function invalid(...problems: FieldProblem[]): Unprocessable {
  return new Unprocessable(problems.map((p) => `${p.field}: ${p.message}`).join('; '), problems);
}

/** Writes the audit record of a change in the change's own transaction (DESIGN D2); never a secret. */
export async function audit(
  tx: Queryable,
  c: Context<AppEnv>,
  action: string,
  resource: { type: string; id: string },
  before: unknown,
  after: unknown,
): Promise<void> {
  const identity = c.get('identity');
  await publish(tx, auditRecorded, {
    actor: { kind: identity.kind, id: identity.subject },
    action,
    service: 'registry',
    resource,
    before: before ?? null,
    after: after ?? null,
    request_id: c.get('requestId') ?? null,
    at: new Date().toISOString(),
  });
}

/** `include_archived=true` and the like. */
export const flag = (value: 'true' | 'false' | undefined): boolean | undefined =>
  value === undefined ? undefined : value === 'true';

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

/**
 * Creates honour `Idempotency-Key` (DESIGN D9), per caller: the same key and request replay the stored
 * answer; the same key with another request is a 422. The key row commits with the create, so a failed
 * create leaves no key behind. Only a hash of the request is kept (a create may carry an API key).
 */
export async function idempotent<T>(
  tx: Queryable,
  c: Context<AppEnv>,
  operation: string,
  request: unknown,
  run: () => Promise<T>,
): Promise<{ body: T; replayed: boolean }> {
  const key = c.req.header('idempotency-key');
  if (key === undefined) return { body: await run(), replayed: false };
  const identity = c.get('identity');
  const actor = `${identity.kind}:${identity.subject}`;
  const hash = createHash('sha256')
    .update(`${operation}\n${canonical(request)}`)
    .digest('hex');
  const inserted = await tx.query(
    `INSERT INTO registry.idempotency_keys (actor, key, operation, request_hash) VALUES ($1, $2, $3, $4)
     ON CONFLICT (actor, key) DO NOTHING RETURNING 1`,
    [actor, key, operation, hash],
  );
  if (inserted.rowCount === 1) {
    const body = await run();
    await tx.query(`UPDATE registry.idempotency_keys SET status = 201, response = $3 WHERE actor = $1 AND key = $2`, [
      actor,
      key,
      JSON.stringify(body),
    ]);
    return { body, replayed: false };
  }
  const { rows } = await tx.query<{ operation: string; request_hash: string; response: T }>(
    'SELECT operation, request_hash, response FROM registry.idempotency_keys WHERE actor = $1 AND key = $2',
    [actor, key],
  );
  const stored = rows[0];
  if (!stored || stored.operation !== operation || stored.request_hash !== hash) {
    throw new Unprocessable('Idempotency-Key: this key was already used with a different request; use a new key', [
      { field: 'header.idempotency-key', message: 'already used with a different request' },
    ]);
  }
  return { body: stored.response, replayed: true };
}
