import { many, type Queryable } from '@llmops/kit/db';
import type { AuditRecorded } from '@llmops/kit/events/audit';

export interface AuditRow {
  event_id: string;
  at: Date;
  actor_kind: 'account' | 'service';
  actor_id: string;
  action: string;
  service: string;
  resource_type: string;
  resource_id: string;
  before: unknown;
  after: unknown;
  request_id: string | null;
  /** `at` exactly as stored (microseconds), for the cursor. */
  at_key: string;
}

/** Stores audit events; an event seen twice (at-least-once delivery) is stored once. */
export async function insertMany(db: Queryable, events: readonly { id: string; payload: AuditRecorded }[]): Promise<void> {
  if (events.length === 0) return;
  await db.query(
    `INSERT INTO gateway.audit_log (event_id, at, actor_kind, actor_id, action, service, resource_type, resource_id, before, after, request_id)
     SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                          $9::jsonb[], $10::jsonb[], $11::text[])
     ON CONFLICT (event_id) DO NOTHING`,
    [
      events.map((e) => e.id),
      events.map((e) => e.payload.at),
      events.map((e) => e.payload.actor.kind),
      events.map((e) => e.payload.actor.id),
      events.map((e) => e.payload.action),
      events.map((e) => e.payload.service),
      events.map((e) => e.payload.resource.type),
      events.map((e) => e.payload.resource.id),
      events.map((e) => (e.payload.before === null || e.payload.before === undefined ? null : JSON.stringify(e.payload.before))),
      events.map((e) => (e.payload.after === null || e.payload.after === undefined ? null : JSON.stringify(e.payload.after))),
      events.map((e) => e.payload.request_id),
    ],
  );
}

export interface AuditFilter {
  actorId?: string | undefined;
  action?: string | undefined;
  service?: string | undefined;
  resourceType?: string | undefined;
  resourceId?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
}

/** Newest first, keyset on (at, event_id). */
export function page(
  db: Queryable,
  filter: AuditFilter,
  { before, limit }: { before: { at: string; id: string } | undefined; limit: number },
): Promise<AuditRow[]> {
  return many<AuditRow>(
    db,
    `SELECT event_id, at, actor_kind, actor_id, action, service, resource_type, resource_id, before, after, request_id,
            at::text AS at_key
     FROM gateway.audit_log
     WHERE ($1::text IS NULL OR actor_id = $1)
       AND ($2::text IS NULL OR action = $2)
       AND ($3::text IS NULL OR service = $3)
       AND ($4::text IS NULL OR resource_type = $4)
       AND ($5::text IS NULL OR resource_id = $5)
       AND ($6::timestamptz IS NULL OR at >= $6)
       AND ($7::timestamptz IS NULL OR at < $7)
       AND ($8::timestamptz IS NULL OR (at, event_id) < ($8, $9::uuid))
     ORDER BY at DESC, event_id DESC
     LIMIT $10`,
    [
      filter.actorId ?? null,
      filter.action ?? null,
      filter.service ?? null,
      filter.resourceType ?? null,
      filter.resourceId ?? null,
      filter.since ?? null,
      filter.until ?? null,
      before?.at ?? null,
      before?.id ?? null,
      limit,
    ],
  );
}
