import type { Bus, Consumer } from '@llmops/kit/bus/index';
import type { Pool } from '@llmops/kit/db';
import { auditRecorded } from '@llmops/kit/events/audit';
import * as auditLog from './db/audit-log.ts';

/**
 * The audit log: every service writes `audit.change.recorded` in the transaction of its change; this
 * consumer group stores them in gateway.audit_log, once each (by event id), in batches.
 */
export function consumeAuditEvents(bus: Bus, pool: Pool): Consumer {
  return bus.consume({
    group: 'gateway.audit-log',
    events: [auditRecorded],
    batchHandler: async (events) => {
      await auditLog.insertMany(
        pool,
        events.map((event) => ({ id: event.id, payload: event.payload })),
      );
    },
  });
}

export function auditEntryJson(row: auditLog.AuditRow) {
  return {
    event_id: row.event_id,
    at: row.at.toISOString(),
    actor: { kind: row.actor_kind, id: row.actor_id },
    action: row.action,
    service: row.service,
    resource: { type: row.resource_type, id: row.resource_id },
    before: row.before ?? null,
    after: row.after ?? null,
    request_id: row.request_id,
  };
}
