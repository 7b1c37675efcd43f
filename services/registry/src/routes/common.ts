import type { Context } from 'hono';
import type { Pool, Queryable } from '@llmops/kit/db';
import type { AppEnv } from '@llmops/kit/http/app';
import type { Keyring } from '@llmops/kit/crypto/keyring';
import type { ProviderAdapter, ProviderKind } from '@llmops/kit/adapters/types';
import { recordAudit } from '@llmops/kit/http/audit';
import { idempotent as idempotentIn } from '@llmops/kit/http/idempotency';
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

/** Writes the audit record of a change in the change's own transaction (ADR 0006); never a secret. */
export function audit(
  tx: Queryable,
  c: Context<AppEnv>,
  action: string,
  resource: { type: string; id: string },
  before: unknown,
  after: unknown,
): Promise<void> {
  return recordAudit(tx, c, 'registry', action, resource, before, after);
}

/** `include_archived=true` and the like. */
export const flag = (value: 'true' | 'false' | undefined): boolean | undefined =>
  value === undefined ? undefined : value === 'true';

/** `Idempotency-Key` on the registry's creates (kit's, on registry.idempotency_keys); a create answers 201. */
export async function idempotent<T>(
  tx: Queryable,
  c: Context<AppEnv>,
  operation: string,
  request: unknown,
  run: () => Promise<T>,
): Promise<{ body: T; replayed: boolean }> {
  const outcome = await idempotentIn(tx, c, 'registry.idempotency_keys', operation, request, async () => ({
    status: 201,
    body: await run(),
  }));
  return { body: outcome.body, replayed: outcome.replayed };
}
