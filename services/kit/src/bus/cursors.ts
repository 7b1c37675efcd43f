import type { Queryable, Pool } from '../db.ts';
import { positionFromRow, positionParams, type Position } from './position.ts';
import { PARTITIONS, toResult, type RawRow, type ReadResult } from './outbox.ts';

/**
 * A condition that is always true and makes the statement's own transaction commit without waiting for
 * its WAL to reach the disk (`SET LOCAL synchronous_commit = off`, from inside the one statement of an
 * autocommit transaction, or for the rest of an open one). Only for the bus's own bookkeeping — a lease
 * and a cursor's advance: losing the last few of them to a crash of PostgreSQL itself (not of a
 * process) re-delivers events a group had handled, which delivery at least once allows (handlers are
 * idempotent by event id). Each was a disk flush of its own, two per batch — a third of a task's flushes
 * in steady state, where commits queue on WAL writes.
 */
const ASYNC_COMMIT = `set_config('synchronous_commit', 'off', true) = 'off'`;

export interface Lease {
  partition: number;
  /** The cursor when leased: the batch reads after it. */
  position: Position;
  /** Fences every later write: a write with a token that no longer owns the lease changes nothing. */
  token: string;
}

/** Records the group's topics and creates its cursors (at the origin, or at "now" for a new group). */
export async function register(
  db: Queryable,
  group: string,
  topics: readonly string[],
  startFrom: 'beginning' | 'now',
): Promise<void> {
  await db.query(
    `INSERT INTO bus.groups (group_name, topics) VALUES ($1, $2::text[])
     ON CONFLICT (group_name) DO UPDATE SET topics = EXCLUDED.topics, updated_at = now()
     WHERE bus.groups.topics IS DISTINCT FROM EXCLUDED.topics`,
    [group, [...topics].sort()],
  );
  await db.query(
    `INSERT INTO bus.cursors (group_name, partition, txid, id)
     SELECT $1, p, CASE WHEN $2 THEN pg_snapshot_xmin(pg_current_snapshot()) ELSE '0'::xid8 END, 0
     FROM generate_series(0, $3::int - 1) AS p
     ON CONFLICT (group_name, partition) DO NOTHING`,
    [group, startFrom === 'now', PARTITIONS],
  );
}

export interface LeasedBatch {
  lease: Lease;
  /** The partition's committed events after the cursor, as `outbox.readAfter` reads them. */
  read: ReadResult;
  /** Keys of those events that have parked events of the group (they must wait behind them). */
  blocked: Set<string>;
}

export interface Leased {
  batches: LeasedBatch[];
  /**
   * Committed events of the topics exist at or above the snapshot's xmin: an older open transaction holds
   * them back (as a broadcast reader's `outbox.readForBroadcast` tells, in the same statement and snapshot).
   */
  held: boolean;
  /** The group has parked events that may still run (retrying or waiting): its retry loop has work to look for. */
  parked: boolean;
}

/**
 * Leases up to `limit` partitions of the group that have committed work after their cursor and no live
 * lease, least recently served first, and reads each one's next batch and its parked keys — one
 * statement: one round trip and one snapshot (it was three, four with the held-back check of an idle
 * poll, which it answers too, and five with the retry loop's look for parked events). The lease is one
 * short UPDATE: no lock or transaction outlives the statement. Instances polling at once pick different
 * partitions: a cursor another instance is leasing at that moment is skipped (SKIP LOCKED), not waited
 * for and then found taken — without it, the instance that lost the race came away empty and slept
 * until the next ring while the winner drained everything. The batch is read below the statement's
 * xmin (commit-safe, ADR 0001) and each row says whether its key is parked for the group. Each topic's
 * events are read along the (topic, partition, position) index and merged, so a group never walks past
 * other topics' events of its partitions.
 *
 * The statement is the PL/pgSQL function `bus.lease_and_read` (sql/bus/000022), which keeps one generic
 * plan per connection: sent as a statement of its own, PostgreSQL planned it again at every call, and
 * planning took three times as long as running it (docs/adr/0009-event-bus.md, "Plans").
 */
export async function acquireAndRead(
  db: Queryable,
  {
    group,
    topics,
    limit,
    owner,
    leaseMs,
    batchSize,
  }: { group: string; topics: readonly string[]; limit: number; owner: string; leaseMs: number; batchSize: number },
): Promise<Leased> {
  const { rows } = await db.query<
    RawRow & {
      leased_partition: number | null;
      cursor_txid: string;
      cursor_id: string;
      lease_owner: string;
      held: boolean;
      parked: boolean;
      blocked: boolean;
    }
  >({
    name: 'llmops.bus.lease-and-read',
    text: `SELECT * FROM bus.lease_and_read($1, $2::text[], $3, $4, $5, $6)`,
    values: [group, topics, limit, owner, leaseMs, batchSize],
  });
  const batches = new Map<number, { lease: Lease; raws: RawRow[]; blocked: Set<string> }>();
  for (const row of rows) {
    if (row.leased_partition === null) continue;
    let batch = batches.get(row.leased_partition);
    if (!batch) {
      const lease = {
        partition: row.leased_partition,
        position: positionFromRow(row.cursor_txid, row.cursor_id),
        token: row.lease_owner,
      };
      batch = { lease, raws: [], blocked: new Set() };
      batches.set(row.leased_partition, batch);
    }
    batch.raws.push(row);
    if (row.blocked) batch.blocked.add(row.key);
  }
  return {
    batches: [...batches.values()].map(({ lease, raws, blocked }) => ({
      lease,
      read: toResult(raws, lease.position, batchSize),
      blocked,
    })),
    held: rows[0]?.held === true,
    parked: rows[0]?.parked === true,
  };
}

/** Pushes the lease's expiry out while a slow batch runs; false when the lease was lost. */
export async function extend(db: Queryable, group: string, lease: Lease, leaseMs: number): Promise<boolean> {
  const result = await db.query(
    `UPDATE bus.cursors SET lease_expires_at = now() + $4 * interval '1 millisecond'
     WHERE group_name = $1 AND partition = $2 AND lease_owner = $3`,
    [group, lease.partition, lease.token, leaseMs],
  );
  return result.rowCount === 1;
}

/** Gives the partition back without moving its cursor. */
export async function release(db: Queryable, group: string, lease: Lease): Promise<void> {
  await db.query(
    `UPDATE bus.cursors SET lease_owner = NULL, lease_expires_at = NULL
     WHERE group_name = $1 AND partition = $2 AND lease_owner = $3`,
    [group, lease.partition, lease.token],
  );
}

export interface ParkRow {
  eventId: string;
  outboxId: string;
  txid: string;
  key: string;
  partition: number;
  topic: string;
  status: 'retrying' | 'waiting' | 'dead';
  error: string | null;
}

export interface Backoff {
  baseMs: number;
  maxMs: number;
}

/**
 * Moves the cursor and releases the lease in one UPDATE fenced by the lease token; the events that
 * failed or wait behind a failed one are parked in the same transaction. False (and nothing written)
 * when the lease was lost meanwhile: another instance owns the partition and redoes the batch.
 */
export async function complete(
  pool: Pool,
  {
    group,
    lease,
    position,
    parks,
    backoff,
  }: { group: string; lease: Lease; position: Position; parks: ParkRow[]; backoff: Backoff },
): Promise<boolean> {
  // Named (planned once per connection): one per batch, as the lease-and-read.
  const advance = (db: Queryable) =>
    db.query({
      name: 'llmops.bus.advance',
      text: `UPDATE bus.cursors
       SET txid = $4::xid8, id = $5::bigint, lease_owner = NULL, lease_expires_at = NULL, updated_at = now()
       WHERE group_name = $1 AND partition = $2 AND lease_owner = $3 AND ${ASYNC_COMMIT}`,
      values: [group, lease.partition, lease.token, ...positionParams(position)],
    });
  if (parks.length === 0) return (await advance(pool)).rowCount === 1;
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    if ((await advance(client)).rowCount !== 1) {
      await client.query('ROLLBACK');
      return false;
    }
    await client.query(
      `INSERT INTO bus.parked (group_name, event_id, outbox_id, txid, key, partition, topic, status, attempts, next_attempt_at, last_error)
       SELECT $1, p.event_id, p.outbox_id, p.txid, p.key, p.partition, p.topic, p.status,
              CASE WHEN p.status = 'waiting' THEN 0 ELSE 1 END,
              CASE WHEN p.status = 'retrying'
                THEN now() + least($10::float8, $9::float8) * (0.5 + random() / 2) * interval '1 millisecond'
                ELSE now() END,
              p.error
       FROM unnest($2::uuid[], $3::bigint[], $4::xid8[], $5::text[], $6::smallint[], $7::text[], $8::text[], $11::text[])
         AS p(event_id, outbox_id, txid, key, partition, topic, status, error)
       ON CONFLICT (group_name, event_id) DO NOTHING`,
      [
        group,
        parks.map((p) => p.eventId),
        parks.map((p) => p.outboxId),
        parks.map((p) => p.txid),
        parks.map((p) => p.key),
        parks.map((p) => p.partition),
        parks.map((p) => p.topic),
        parks.map((p) => p.status),
        backoff.baseMs,
        backoff.maxMs,
        parks.map((p) => p.error),
      ],
    );
    await client.query('COMMIT');
    return true;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Forgets a consumer group: its cursors and parked events. Retention stops keeping events for it. */
export async function dropGroup(db: Queryable, group: string): Promise<boolean> {
  const result = await db.query(`DELETE FROM bus.groups WHERE group_name = $1`, [group]);
  return result.rowCount === 1;
}
