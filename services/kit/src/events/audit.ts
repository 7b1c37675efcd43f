import { z } from 'zod';
import { defineEvent } from '../bus/contract.ts';

/**
 * An audit record (ADR 0006): the owning service writes it to the outbox in the same transaction as
 * the change; the gateway stores it in its audit log. `before`/`after` hold configuration, never
 * secrets (an API key appears only as its masked hint).
 */
export const auditRecorded = defineEvent({
  topic: 'audit.change.recorded',
  payload: z.object({
    /** Who: an account id, or a service name for changes a service makes on its own. */
    actor: z.object({ kind: z.enum(['account', 'service']), id: z.string().min(1) }),
    /** What, as `<resource>.<verb>`: `provider.created`, `label.moved`. */
    action: z.string().regex(/^[a-z_]+\.[a-z_]+$/),
    service: z.enum(['gateway', 'registry', 'prompt', 'runner', 'workflow']),
    resource: z.object({ type: z.string().min(1), id: z.string().min(1) }),
    before: z.unknown().nullable(),
    after: z.unknown().nullable(),
    request_id: z.string().nullable(),
    at: z.iso.datetime({ offset: true }),
  }),
  key: (payload) => `${payload.resource.type}:${payload.resource.id}`,
});
export type AuditRecorded = z.output<typeof auditRecorded.payload>;
