import type { MiddlewareHandler } from 'hono';
import { envelope, publishMany, type Envelope } from '../bus/publish.ts';
import type { Queryable } from '../db.ts';
import { auditRecorded } from '../events/audit.ts';
import type { ServiceName } from '../services.ts';
import type { AppEnv } from './app.ts';

/** Who made a change: an account, or a service (or the operator CLI) acting on its own. */
export interface AuditActor {
  kind: 'account' | 'service';
  id: string;
}

/** A change as the audit log keeps it: configuration only, never a secret. */
export interface AuditChange {
  actor: AuditActor;
  action: string;
  resource: { type: string; id: string };
  before: unknown;
  after: unknown;
  requestId: string | null;
}

/**
 * Writes the audit record of a change in the change's own transaction (ADR 0006); the gateway stores it
 * in its audit log. Code that changes things outside a request (the operator CLI) calls this directly;
 * request handlers call `c.var.audit`.
 */
export async function recordAudit(tx: Queryable, service: ServiceName, change: AuditChange): Promise<void> {
  await publishMany(tx, [auditEnvelope(service, change)]);
}

/** The audit record of a change as an event, for a caller that publishes several in one statement (publishMany). */
export function auditEnvelope(service: ServiceName, change: AuditChange): Envelope {
  return envelope(auditRecorded, {
    actor: change.actor,
    action: change.action,
    service,
    resource: change.resource,
    before: change.before ?? null,
    after: change.after ?? null,
    request_id: change.requestId,
    at: new Date().toISOString(),
  });
}

/** `c.var.audit(tx, action, resource, before, after)`: the change, by the request's identity. */
export type Audit = (
  tx: Queryable,
  action: string,
  resource: { type: string; id: string },
  before: unknown,
  after: unknown,
) => Promise<void>;

/** Binds `c.var.audit` to the service's name, once, when its app is made. */
export function bindAudit(service: ServiceName): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const audit: Audit = (tx, action, resource, before, after) => {
      const identity = c.get('identity');
      return recordAudit(tx, service, {
        actor: { kind: identity.kind, id: identity.subject },
        action,
        resource,
        before,
        after,
        requestId: c.get('requestId') ?? null,
      });
    };
    c.set('audit', audit);
    return next();
  };
}
