import type { Queryable } from '../db.ts';
import type { EventHeaders } from './contract.ts';
import { rowFromRaw, type OutboxRow } from './outbox.ts';
import { formatPosition } from './position.ts';
import type { Backoff } from './cursors.ts';

// A parked event's key is blocked while any parked event of that key exists. The head of a key (its
// parked event with the lowest position) is the only one that runs; `waiting` heads run at once,
// `retrying` heads when due, `dead` heads never (until replay or skip).
const IS_HEAD = `NOT EXISTS (
  SELECT 1 FROM bus.parked e
  WHERE e.group_name = p.group_name AND e.key = p.key AND (e.txid, e.outbox_id) < (p.txid, p.outbox_id)
)`;

export interface Claim {
  row: OutboxRow;
  /** Failed attempts so far. */
  attempts: number;
  token: string;
}

/** Leases up to `limit` heads that are due, each with its own lease token. */
export async function claimDue(
  db: Queryable,
  { group, limit, owner, leaseMs }: { group: string; limit: number; owner: string; leaseMs: number },
): Promise<Claim[]> {
  const { rows } = await db.query<{
    attempts: number;
    lease_owner: string;
    outbox_id: string;
    txid: string;
    event_id: string;
    topic: string;
    key: string;
    partition: number;
    payload: unknown;
    headers: EventHeaders;
    created_at: Date;
  }>(
    `WITH heads AS (
       SELECT p.event_id
       FROM bus.parked p
       WHERE p.group_name = $1 AND p.status <> 'dead'
         AND (p.status = 'waiting' OR p.next_attempt_at <= now())
         AND (p.lease_expires_at IS NULL OR p.lease_expires_at < now())
         AND ${IS_HEAD}
       ORDER BY p.next_attempt_at
       LIMIT $2
       FOR UPDATE OF p SKIP LOCKED
     ), claimed AS (
       UPDATE bus.parked p
       SET lease_owner = $3 || ':' || p.event_id, lease_expires_at = now() + $4 * interval '1 millisecond', updated_at = now()
       FROM heads
       WHERE p.group_name = $1 AND p.event_id = heads.event_id
         AND (p.lease_expires_at IS NULL OR p.lease_expires_at < now())
       RETURNING p.outbox_id, p.attempts, p.lease_owner
     )
     SELECT claimed.attempts, claimed.lease_owner, o.id::text AS outbox_id, o.txid::text AS txid, o.event_id, o.topic,
            o.key, o.partition, o.payload, o.headers, o.created_at
     FROM claimed JOIN bus.outbox o ON o.id = claimed.outbox_id
     ORDER BY o.txid, o.id`,
    [group, limit, owner, leaseMs],
  );
  return rows.map((raw) => ({ row: rowFromRaw(raw), attempts: raw.attempts, token: raw.lease_owner }));
}

/** Milliseconds until the next head of the group is due (by the database's clock), or undefined. */
export async function nextDueInMs(db: Queryable, group: string): Promise<number | undefined> {
  const { rows } = await db.query<{ ms: number | null }>(
    `SELECT (extract(epoch FROM min(greatest(p.next_attempt_at, coalesce(p.lease_expires_at, p.next_attempt_at))) - now()) * 1000)::float8 AS ms
     FROM bus.parked p
     WHERE p.group_name = $1 AND p.status <> 'dead' AND ${IS_HEAD}`,
    [group],
  );
  const ms = rows[0]?.ms;
  return ms === null || ms === undefined ? undefined : Math.max(0, ms);
}

export async function extend(db: Queryable, group: string, claim: Claim, leaseMs: number): Promise<boolean> {
  const result = await db.query(
    `UPDATE bus.parked SET lease_expires_at = now() + $4 * interval '1 millisecond'
     WHERE group_name = $1 AND event_id = $2 AND lease_owner = $3`,
    [group, claim.row.eventId, claim.token, leaseMs],
  );
  return result.rowCount === 1;
}

/** The head succeeded: it leaves the parking, and the next event of its key becomes the head. */
export async function succeeded(db: Queryable, group: string, claim: Claim): Promise<boolean> {
  const result = await db.query(`DELETE FROM bus.parked WHERE group_name = $1 AND event_id = $2 AND lease_owner = $3`, [
    group,
    claim.row.eventId,
    claim.token,
  ]);
  return result.rowCount === 1;
}

/** The head failed again: back off (exponential, jittered, database clock), or dead after `maxAttempts`. */
export async function failed(
  db: Queryable,
  {
    group,
    claim,
    error,
    maxAttempts,
    backoff,
    dead = false,
  }: { group: string; claim: Claim; error: string; maxAttempts: number; backoff: Backoff; dead?: boolean },
): Promise<'retrying' | 'dead' | 'lost'> {
  const { rows } = await db.query<{ status: 'retrying' | 'dead' }>(
    `UPDATE bus.parked
     SET attempts = attempts + 1,
         status = CASE WHEN $7 OR attempts + 1 >= $5 THEN 'dead' ELSE 'retrying' END,
         next_attempt_at = now() + least($6::float8, $8::float8 * power(2, attempts)) * (0.5 + random() / 2) * interval '1 millisecond',
         last_error = $4, lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
     WHERE group_name = $1 AND event_id = $2 AND lease_owner = $3
     RETURNING status`,
    [group, claim.row.eventId, claim.token, error, maxAttempts, backoff.maxMs, dead, backoff.baseMs],
  );
  return rows[0]?.status ?? 'lost';
}

/** Gives a claimed head back untouched (the process is stopping). */
export async function release(db: Queryable, group: string, claim: Claim): Promise<void> {
  await db.query(
    `UPDATE bus.parked SET lease_owner = NULL, lease_expires_at = NULL
     WHERE group_name = $1 AND event_id = $2 AND lease_owner = $3`,
    [group, claim.row.eventId, claim.token],
  );
}

/** Runs a dead event again with a fresh budget of attempts. False when no such dead event exists. */
export async function replay(db: Queryable, group: string, eventId: string): Promise<boolean> {
  const result = await db.query(
    `UPDATE bus.parked
     SET status = 'retrying', attempts = 0, next_attempt_at = now(), updated_at = now()
     WHERE group_name = $1 AND event_id = $2 AND status = 'dead'`,
    [group, eventId],
  );
  return result.rowCount === 1;
}

/** Drops a dead event for the group (it is never handled); the key's waiting events flow again. */
export async function skip(db: Queryable, group: string, eventId: string): Promise<boolean> {
  const result = await db.query(`DELETE FROM bus.parked WHERE group_name = $1 AND event_id = $2 AND status = 'dead'`, [
    group,
    eventId,
  ]);
  return result.rowCount === 1;
}

export interface DeadLetter {
  group: string;
  eventId: string;
  topic: string;
  key: string;
  partition: number;
  position: string;
  payload: unknown;
  headers: EventHeaders;
  createdAt: Date;
  attempts: number;
  lastError: string | null;
  parkedAt: Date;
  updatedAt: Date;
  /** Later events of the key waiting behind this one. */
  waiting: number;
}

export interface DeadLetterPage {
  items: DeadLetter[];
  nextCursor: string | null;
}

/** Dead events, oldest first (UUIDv7 order), `limit` (default 50, max 200) + opaque `cursor`. */
export async function listDeadLetters(
  db: Queryable,
  { group, limit = 50, cursor }: { group?: string; limit?: number; cursor?: string } = {},
): Promise<DeadLetterPage> {
  const size = Math.min(Math.max(1, Math.trunc(limit)), 200);
  let after: [string, string] | null = null;
  if (cursor) {
    const decoded: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(decoded) || decoded.length !== 2 || !decoded.every((part) => typeof part === 'string')) {
      throw new Error('invalid dead letter cursor: pass back the next_cursor of the previous page');
    }
    after = decoded as [string, string];
  }
  const { rows } = await db.query<{
    group_name: string;
    event_id: string;
    attempts: number;
    last_error: string | null;
    parked_at: Date;
    updated_at: Date;
    waiting: number;
    outbox_id: string;
    txid: string;
    topic: string;
    key: string;
    partition: number;
    payload: unknown;
    headers: EventHeaders;
    created_at: Date;
  }>(
    `SELECT p.group_name, p.event_id, p.attempts, p.last_error, p.parked_at, p.updated_at,
            (SELECT count(*)::int FROM bus.parked w WHERE w.group_name = p.group_name AND w.key = p.key AND w.status = 'waiting') AS waiting,
            o.id::text AS outbox_id, o.txid::text AS txid, o.topic, o.key, o.partition, o.payload, o.headers, o.created_at
     FROM bus.parked p JOIN bus.outbox o ON o.id = p.outbox_id
     WHERE p.status = 'dead'
       AND ($1::text IS NULL OR p.group_name = $1)
       AND ($2::uuid IS NULL OR (p.event_id, p.group_name) > ($2::uuid, $3::text))
     ORDER BY p.event_id, p.group_name
     LIMIT $4`,
    [group ?? null, after?.[0] ?? null, after?.[1] ?? null, size + 1],
  );
  const page = rows.slice(0, size);
  const last = page[page.length - 1];
  return {
    items: page.map((row) => {
      const event = rowFromRaw({ ...row });
      return {
        group: row.group_name,
        eventId: row.event_id,
        topic: event.topic,
        key: event.key,
        partition: event.partition,
        position: formatPosition(event.position),
        payload: event.payload,
        headers: event.headers,
        createdAt: event.createdAt,
        attempts: row.attempts,
        lastError: row.last_error,
        parkedAt: row.parked_at,
        updatedAt: row.updated_at,
        waiting: row.waiting,
      };
    }),
    nextCursor:
      rows.length > size && last ? Buffer.from(JSON.stringify([last.event_id, last.group_name])).toString('base64url') : null,
  };
}
