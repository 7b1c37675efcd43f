import type { Context } from 'hono';
import { publish } from '../bus/publish.ts';
import type { Queryable } from '../db.ts';
import { auditRecorded } from '../events/audit.ts';
import type { AppEnv } from './app.ts';

/**
 * Writes the audit record of a change in the change's own transaction (ADR 0006): who (the request's
 * identity), what, before and after. Callers pass configuration only, never a secret.
 */
export async function recordAudit(
  tx: Queryable,
  c: Context<AppEnv>,
  service: 'gateway' | 'registry' | 'prompt' | 'runner' | 'workflow',
  action: string,
  resource: { type: string; id: string },
  before: unknown,
  after: unknown,
): Promise<void> {
  const identity = c.get('identity');
  await publish(tx, auditRecorded, {
    actor: { kind: identity.kind, id: identity.subject },
    action,
    service,
    resource,
    before: before ?? null,
    after: after ?? null,
    request_id: c.get('requestId') ?? null,
    at: new Date().toISOString(),
  });
}
