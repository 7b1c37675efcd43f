import type { Bus, Consumer } from '@llmops/kit/bus/index';
import type { Pool } from '@llmops/kit/db';
import { auditRecorded } from '@llmops/kit/events/audit';
import * as auditLog from '../db/audit-log.ts';

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
