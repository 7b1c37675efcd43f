import type { Context } from 'hono';
import type { Queryable } from '@llmops/kit/db';
import { recordAudit } from '@llmops/kit/http/audit';
import type { AppEnv } from '@llmops/kit/http/app';
import type { Identity } from '@llmops/kit/http/identity';

export interface Actor {
  kind: 'account' | 'service';
  id: string;
}

export function actorOf(identity: Identity): Actor {
  return { kind: identity.kind, id: identity.subject };
}

/** How authors appear on rows: the account id, or `service:<name>`. */
export function authorOf(identity: Identity): string {
  return identity.kind === 'account' ? identity.subject : `service:${identity.subject}`;
}

/** Writes the audit record of a change in the change's own transaction (ADR 0006). */
export function audit(
  tx: Queryable,
  c: Context<AppEnv>,
  action: string,
  resource: { type: string; id: string },
  before: unknown,
  after: unknown,
): Promise<void> {
  return recordAudit(tx, c, 'prompt', action, resource, before, after);
}
