import type { Queryable } from '../db.ts';
import type { EventHeaders } from './contract.ts';
import { ORIGIN, positionFromRow, positionParams, type Position } from './position.ts';

/** Fixed in sql/bus/000002_outbox.sql (the generated `partition` column). */
export const PARTITIONS = 16;

export interface OutboxRow {
  outboxId: string;
  txid: string;
  position: Position;
  eventId: string;
  topic: string;
  key: string;
  partition: number;
  payload: unknown;
  headers: EventHeaders;
  createdAt: Date;
}

export interface ReadResult {
  rows: OutboxRow[];
  /** The xmin of the read's snapshot: every transaction below it has finished. */
  xmin: bigint;
  /**
   * Where a reader stands after this read: the last row, or (xmin, 0) when the read returned fewer rows
   * than asked, since then nothing committed below xmin is left after `after`.
   */
  next: Position;
}

export interface RawRow {
  xmin: string;
  outbox_id: string | null;
  txid: string | null;
  event_id: string;
  topic: string;
  key: string;
  partition: number;
  payload: unknown;
  headers: EventHeaders;
  created_at: Date;
}

export const COLUMNS = `o.id::text AS outbox_id, o.txid::text AS txid, o.event_id, o.topic, o.key, o.partition, o.payload, o.headers, o.created_at`;

export function rowFromRaw(raw: Omit<RawRow, 'xmin'>): OutboxRow {
  return {
    outboxId: raw.outbox_id as string,
    txid: raw.txid as string,
    position: positionFromRow(raw.txid as string, raw.outbox_id as string),
    eventId: raw.event_id,
    topic: raw.topic,
    key: raw.key,
    partition: raw.partition,
    payload: raw.payload,
    headers: raw.headers,
    createdAt: raw.created_at,
  };
}

export function toResult(raws: RawRow[], after: Position, limit: number): ReadResult {
  const xmin = BigInt((raws[0] as RawRow).xmin);
  const rows = raws.filter((raw) => raw.outbox_id !== null).map(rowFromRaw);
  let next = rows.length > 0 ? (rows[rows.length - 1] as OutboxRow).position : after;
  if (rows.length < limit && xmin > next.txid) next = { txid: xmin, id: 0n };
  return { rows, xmin, next };
}

/**
 * The committed events after `after` in position order, only below the snapshot's xmin (commit-safe).
 * `topics` empty means every topic. One statement, so the xmin and the rows come from one snapshot.
 */
export async function readAfter(
  db: Queryable,
  { after, topics, partition, limit }: { after: Position; topics: readonly string[]; partition?: number; limit: number },
): Promise<ReadResult> {
  const [txid, id] = positionParams(after);
  const { rows } = await db.query<RawRow>(
    `WITH snap AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin)
     SELECT snap.xmin::text AS xmin, o.*
     FROM snap LEFT JOIN LATERAL (
       SELECT ${COLUMNS}
       FROM bus.outbox o
       WHERE o.txid < snap.xmin
         AND (o.txid, o.id) > ($1::xid8, $2::bigint)
         AND (cardinality($3::text[]) = 0 OR o.topic = ANY($3::text[]))
         AND ($4::smallint IS NULL OR o.partition = $4::smallint)
       ORDER BY o.txid, o.id
       LIMIT $5
     ) o ON true`,
    [txid, id, topics, partition ?? null, limit],
  );
  return toResult(rows, after, limit);
}

export interface BroadcastRead extends ReadResult {
  /** The highest position retention has deleted, as the same snapshot saw it. */
  horizon: Position;
  /**
   * Committed events of these topics at or above the snapshot's xmin: an older transaction is still open
   * and holds them back. Readers then re-poll soon instead of waiting for the doorbell, because the old
   * transaction's end rings nothing.
   */
  held: boolean;
}

/**
 * A broadcast reader's step in one statement: `readAfter`, the retention horizon and whether events
 * are held back, from one snapshot. Three statements per doorbell and reader before; every
 * ring wakes every reader of every process.
 */
export async function readForBroadcast(
  db: Queryable,
  { after, topics, limit }: { after: Position; topics: readonly string[]; limit: number },
): Promise<BroadcastRead> {
  const [txid, id] = positionParams(after);
  const { rows } = await db.query<RawRow & { horizon_txid: string; horizon_id: string; held: boolean }>({
    name: 'llmops.bus.broadcast-read',
    text: `WITH snap AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin)
     SELECT snap.xmin::text AS xmin, h.txid::text AS horizon_txid, h.id::text AS horizon_id,
       EXISTS (
         -- The same snapshot's xmin, as an expression the planner can take to the index (a CTE's value it cannot).
         SELECT 1 FROM bus.outbox o
         WHERE o.txid >= pg_snapshot_xmin(pg_current_snapshot())
           AND (cardinality($3::text[]) = 0 OR o.topic = ANY($3::text[]))
       ) AS held,
       o.*
     FROM snap CROSS JOIN bus.retention_horizon h LEFT JOIN LATERAL (
       SELECT ${COLUMNS}
       FROM bus.outbox o
       WHERE o.txid < snap.xmin
         AND (o.txid, o.id) > ($1::xid8, $2::bigint)
         AND (cardinality($3::text[]) = 0 OR o.topic = ANY($3::text[]))
       ORDER BY o.txid, o.id
       LIMIT $4
     ) o ON true`,
    values: [txid, id, topics, limit],
  });
  const first = rows[0];
  return {
    ...toResult(rows, after, limit),
    horizon: first ? positionFromRow(first.horizon_txid, first.horizon_id) : ORIGIN,
    held: first?.held === true,
  };
}

/** The position of "now": everything that commits from here on is after it. */
export async function head(db: Queryable): Promise<Position> {
  return (await now(db)).head;
}

/**
 * "Now" exactly: the head position, and which transactions at or above it had already finished. A
 * position cannot tell those apart from the ones still running (it is one transaction id), so a reader
 * starting at the head alone would also deliver events that committed just before it, held back by an
 * older open transaction; a reader given this skips them (see `committedBefore`).
 */
export interface Now {
  head: Position;
  /** Every transaction from here on had not started. */
  xmax: bigint;
  /** The transactions between the head and xmax still running: their events commit after now. */
  running: ReadonlySet<bigint>;
}

export async function now(db: Queryable): Promise<Now> {
  const { rows } = await db.query<{ xmin: string; xmax: string; running: string[] }>(
    `SELECT pg_snapshot_xmin(s)::text AS xmin, pg_snapshot_xmax(s)::text AS xmax,
       ARRAY(SELECT pg_snapshot_xip(s)::text) AS running
     FROM pg_current_snapshot() s`,
  );
  const row = rows[0];
  if (!row) return { head: ORIGIN, xmax: 0n, running: new Set() };
  return { head: { txid: BigInt(row.xmin), id: 0n }, xmax: BigInt(row.xmax), running: new Set(row.running.map(BigInt)) };
}

/** Whether an event of this transaction (at or above the head) had committed before `now` was taken. */
export function committedBefore(at: Now, txid: bigint): boolean {
  return txid >= at.head.txid && txid < at.xmax && !at.running.has(txid);
}

/** The highest position retention has deleted; a reader before it has missed events. */
export async function retentionHorizon(db: Queryable): Promise<Position> {
  const { rows } = await db.query<{ txid: string; id: string }>(`SELECT txid::text, id::text FROM bus.retention_horizon`);
  return rows[0] ? positionFromRow(rows[0].txid, rows[0].id) : ORIGIN;
}
