import { publish } from '@llmops/kit/bus/publish';
import type { Queryable } from '@llmops/kit/db';
import { auditRecorded } from '@llmops/kit/events/audit';

/** Who made a change: an account, or the operator CLI / a service acting on its own. */
export type Actor = { kind: 'account'; id: string } | { kind: 'service'; id: string };

/** Writes the audit event of a gateway change in the change's own transaction (ADR 0006). */
export async function recordChange(
  tx: Queryable,
  change: {
    actor: Actor;
    action: string;
    resource: { type: string; id: string };
    before: unknown;
    after: unknown;
    requestId: string | null;
  },
): Promise<void> {
  await publish(tx, auditRecorded, {
    actor: change.actor,
    action: change.action,
    service: 'gateway',
    resource: change.resource,
    before: change.before ?? null,
    after: change.after ?? null,
    request_id: change.requestId,
    at: new Date().toISOString(),
  });
}
