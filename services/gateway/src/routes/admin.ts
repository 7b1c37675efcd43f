import { z } from '@hono/zod-openapi';
import { decodeCursor, encodeCursor } from '@llmops/kit/contracts/common';
import {
  GATEWAY_ROUTES,
  listAuditRoute,
  listDeadLettersRoute,
  replayDeadLetterRoute,
  skipDeadLetterRoute,
} from '@llmops/kit/contracts/gateway';
import { listDeadLetters, replay, skip } from '@llmops/kit/bus/parked';
import { withTransaction, type Pool } from '@llmops/kit/db';
import type { ServiceApp } from '@llmops/kit/http/app';
import { NotFound } from '@llmops/kit/problem';
import { recordAudit } from '@llmops/kit/http/audit';
import * as auditLog from '../db/audit-log.ts';
import { callerOf } from '../auth/guard.ts';
import { withAccess } from './access.ts';

function auditEntryJson(row: auditLog.AuditRow) {
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

const AuditCursor = z.tuple([z.string().min(1).max(64), z.uuid()]);

/** The audit log and the bus's dead letters (admins). */
export function mountAdminRoutes(app: ServiceApp, { pool }: { pool: Pool }): void {
  app.openapi(withAccess(listAuditRoute, GATEWAY_ROUTES), async (c) => {
    const query = c.req.valid('query');
    const before = decodeCursor(query.cursor, AuditCursor);
    const rows = await auditLog.page(
      pool,
      {
        actorId: query.actor_id,
        action: query.action,
        service: query.service,
        resourceType: query.resource_type,
        resourceId: query.resource_id,
        since: query.since,
        until: query.until,
      },
      { before: before && { at: before[0], id: before[1] }, limit: query.limit + 1 },
    );
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return c.json(
      {
        items: page.map(auditEntryJson),
        next_cursor: rows.length > query.limit && last ? encodeCursor([last.at_key, last.event_id]) : null,
      },
      200,
    );
  });

  app.openapi(withAccess(listDeadLettersRoute, GATEWAY_ROUTES), async (c) => {
    const { group, limit, cursor } = c.req.valid('query');
    // The bus's cursor is base64url JSON of [event_id, group]: checked here so a bad one is a 400.
    decodeCursor(cursor, z.tuple([z.uuid(), z.string()]));
    const page = await listDeadLetters(pool, { ...(group ? { group } : {}), limit, ...(cursor ? { cursor } : {}) });
    return c.json(
      {
        items: page.items.map((item) => ({
          group: item.group,
          event_id: item.eventId,
          topic: item.topic,
          key: item.key,
          position: item.position,
          payload: item.payload,
          created_at: item.createdAt.toISOString(),
          attempts: item.attempts,
          last_error: item.lastError,
          parked_at: item.parkedAt.toISOString(),
          waiting: item.waiting,
        })),
        next_cursor: page.nextCursor,
      },
      200,
    );
  });

  for (const [route, verb, run] of [
    [replayDeadLetterRoute, 'replayed', replay],
    [skipDeadLetterRoute, 'skipped', skip],
  ] as const) {
    app.openapi(withAccess(route, GATEWAY_ROUTES), async (c) => {
      const { group, event_id } = c.req.valid('param');
      await withTransaction(pool, async (tx) => {
        if (!(await run(tx, group, event_id))) throw new NotFound(`No dead letter ${event_id} in group ${group}.`);
        await recordAudit(tx, 'gateway', {
          actor: { kind: 'account', id: callerOf(c).accountId },
          action: `dead_letter.${verb}`,
          resource: { type: 'dead_letter', id: `${group}/${event_id}` },
          before: null,
          after: null,
          requestId: c.get('requestId'),
        });
      });
      return c.body(null, 204);
    });
  }
}
