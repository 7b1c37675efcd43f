import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPool } from './db.ts';
import type { AuditRecorded } from './events/audit.ts';
import { uuidv7 } from './ids.ts';
import type { IdempotencyTable } from './idempotency.ts';
import { deleteExpiredDeadLetters, deleteExpiredKeys, type RemovedDeadLetter } from './retention.ts';
import { groupRole, type ServiceName } from './services.ts';
import { useTestDatabase } from './testing/vitest.ts';

/*
 * Retention of dead letters and idempotency keys: what is past its time goes, what is not stays, the runner's
 * key of a bus task request stays while an event could deliver that request again, and two instances
 * running a pass at the same moment share the rows without conflict.
 */

const db = await useTestDatabase();
const admin = createPool({ connectionString: db.adminUrl, applicationName: 'test', max: 2 });
const pools = new Map<string, pg.Pool>();
const poolOf = (service: ServiceName, n = 0) => {
  const name = `${service}-${n}`;
  let pool = pools.get(name);
  if (!pool) {
    pool = createPool({ connectionString: db.urlFor(service), applicationName: `retention-test-${name}`, max: 2 });
    pools.set(name, pool);
  }
  return pool;
};
afterAll(async () => {
  await Promise.all([...pools.values()].map((pool) => pool.end()));
  await admin.end();
});

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;

async function key(table: IdempotencyTable, actor: string, key: string, age: string, operation = 'test.create'): Promise<void> {
  await admin.query(
    `INSERT INTO ${table} (actor, key, operation, request_hash, status, response, created_at)
     VALUES ($1, $2, $3, 'hash', 201, '{}', now() - $4::interval)`,
    [actor, key, operation, age],
  );
}

const keysOf = async (table: IdempotencyTable) =>
  (await admin.query<{ key: string }>(`SELECT key FROM ${table} ORDER BY key`)).rows.map((row) => row.key);

async function outboxRow(topic: string, payload: unknown, eventId = uuidv7()): Promise<{ id: string; eventId: string }> {
  const { rows } = await admin.query<{ id: string }>(
    `INSERT INTO bus.outbox (topic, key, event_id, payload) VALUES ($1, $2::text, $2::uuid, $3) RETURNING id::text`,
    [topic, eventId, JSON.stringify(payload)],
  );
  return { id: rows[0]!.id, eventId };
}

async function parked(group: string, topic: string, status: 'dead' | 'retrying', age: string): Promise<string> {
  const { id, eventId } = await outboxRow(topic, {});
  await admin.query(
    `INSERT INTO bus.parked (group_name, event_id, outbox_id, txid, key, partition, topic, status, attempts, parked_at, updated_at)
     SELECT $1, o.event_id, o.id, o.txid, o.key, o.partition, o.topic, $2, 8, now() - $3::interval, now() - $3::interval
     FROM bus.outbox o WHERE o.id = $4`,
    [group, status, age, id],
  );
  return eventId;
}

describe('idempotency key retention', () => {
  it("removes every service's keys past their time and keeps the fresh ones", async () => {
    const tables: [ServiceName, IdempotencyTable][] = [
      ['registry', 'registry.idempotency_keys'],
      ['prompt', 'prompt.idempotency_keys'],
      ['runner', 'runner.idempotency_keys'],
      ['workflow', 'workflow.idempotency_keys'],
    ];
    for (const [service, table] of tables) {
      await key(table, 'account:a', 'old-1', '8 days');
      await key(table, 'account:b', 'old-2', '30 days');
      await key(table, 'account:a', 'fresh', '6 days');
      expect(await deleteExpiredKeys(poolOf(service), table, { maxAgeMs: WEEK_MS, batchSize: 1 }), table).toBe(2);
      expect(await keysOf(table), table).toEqual(['fresh']);
      await admin.query(`DELETE FROM ${table}`);
    }
  });

  it("keeps the runner's key of a bus task request while an outbox row could deliver the request again", async () => {
    const table = 'runner.idempotency_keys';
    const explicit = await outboxRow('runner.task.requested', { requester: 'workflow', idempotency_key: 'run-1', request: {} });
    const byEventId = await outboxRow('runner.task.requested', { requester: 'workflow', request: {} });
    await key(table, 'service:workflow', 'run-1', '30 days', 'task.request');
    await key(table, 'service:workflow', byEventId.eventId, '30 days', 'task.request');
    await key(table, 'service:other', 'run-1', '30 days', 'task.request'); // another requester's key of that name
    await key(table, 'service:workflow', 'run-2', '30 days', 'task.request'); // its event is gone
    await key(table, 'account:a', 'run-1', '30 days'); // an HTTP create of that name
    expect(await deleteExpiredKeys(poolOf('runner'), table, { maxAgeMs: WEEK_MS })).toBe(3);
    expect(await keysOf(table)).toEqual([byEventId.eventId, 'run-1'].sort());

    await admin.query(`DELETE FROM bus.outbox WHERE id = ANY($1::bigint[])`, [[explicit.id, byEventId.id]]);
    expect(await deleteExpiredKeys(poolOf('runner'), table, { maxAgeMs: WEEK_MS })).toBe(2);
    expect(await keysOf(table)).toEqual([]);
  });

  it('lets two instances run a pass at the same moment: each key is removed once, none is left', async () => {
    const table = 'workflow.idempotency_keys';
    await admin.query(
      `INSERT INTO ${table} (actor, key, operation, request_hash, created_at)
       SELECT 'account:a', 'k' || n, 'test.create', 'hash', now() - interval '8 days' FROM generate_series(1, 2000) n`,
    );
    const passes = await Promise.all(
      [0, 1].map((n) => deleteExpiredKeys(poolOf('workflow', n), table, { maxAgeMs: WEEK_MS, batchSize: 50 })),
    );
    expect(passes[0]! + passes[1]!).toBe(2000);
    expect(await keysOf(table)).toEqual([]);
  });
});

/** The audit records retention wrote for the dead letters of `group`. */
async function auditOf(group: string): Promise<AuditRecorded[]> {
  const { rows } = await admin.query<{ payload: AuditRecorded }>(
    `SELECT payload FROM bus.outbox
     WHERE topic = 'audit.change.recorded' AND payload->>'action' = 'dead_letter.expired' AND payload->'before'->>'group' = $1
     ORDER BY id`,
    [group],
  );
  return rows.map((row) => row.payload);
}

describe('dead letter retention', () => {
  it('removes dead letters past their time as a skip, keeps fresh ones and events still retrying', async () => {
    const group = 'test.retention-dead';
    await admin.query(`INSERT INTO bus.groups (group_name, topics) VALUES ($1, ARRAY['test.retention.dead'])`, [group]);
    const old = await parked(group, 'test.retention.dead', 'dead', '31 days');
    const fresh = await parked(group, 'test.retention.dead', 'dead', '29 days');
    const retrying = await parked(group, 'test.retention.dead', 'retrying', '31 days');
    const removed: RemovedDeadLetter[] = [];
    expect(
      await deleteExpiredDeadLetters(poolOf('gateway'), {
        maxAgeMs: 30 * DAY_MS,
        service: 'gateway',
        onRemoved: (rows) => removed.push(...rows),
      }),
    ).toBe(1);
    expect(removed).toEqual([
      { group, eventId: old, topic: 'test.retention.dead', key: old, attempts: 8, diedAt: expect.any(Date) },
    ]);
    const { rows } = await admin.query<{ event_id: string }>(
      `SELECT event_id FROM bus.parked WHERE group_name = $1 ORDER BY event_id`,
      [group],
    );
    expect(rows.map((row) => row.event_id)).toEqual([fresh, retrying].sort());

    // Audited like a skip by hand, on the same resource: which event of which group was given up, and when it died.
    const audit = await auditOf(group);
    expect(audit).toEqual([
      {
        actor: { kind: 'service', id: 'retention' },
        action: 'dead_letter.expired',
        service: 'gateway',
        resource: { type: 'dead_letter', id: `${group}/${old}` },
        before: {
          group,
          event_id: old,
          topic: 'test.retention.dead',
          key: old,
          attempts: 8,
          died_at: removed[0]!.diedAt.toISOString(),
        },
        after: null,
        request_id: null,
        at: expect.any(String),
      },
    ]);
    expect(Date.now() - removed[0]!.diedAt.getTime()).toBeGreaterThan(30 * DAY_MS);
  });

  it('writes no audit record for a removal that did not commit', async () => {
    const group = 'test.retention-dead-rollback';
    await admin.query(`INSERT INTO bus.groups (group_name, topics) VALUES ($1, ARRAY['test.retention.rollback'])`, [group]);
    const old = await parked(group, 'test.retention.rollback', 'dead', '31 days');
    // The audit insert fails inside the batch's transaction (the outbox refuses this process's rows for a moment):
    // the dead letter stays, and so does no record of its removal.
    await admin.query(`REVOKE INSERT ON bus.outbox FROM ${groupRole('registry')}`);
    try {
      await expect(deleteExpiredDeadLetters(poolOf('registry'), { maxAgeMs: 30 * DAY_MS, service: 'registry' })).rejects.toThrow(
        /permission denied/,
      );
    } finally {
      await admin.query(`GRANT INSERT ON bus.outbox TO ${groupRole('registry')}`);
    }
    expect((await admin.query(`SELECT 1 FROM bus.parked WHERE group_name = $1`, [group])).rowCount).toBe(1);
    expect(await auditOf(group)).toEqual([]);
    expect(await deleteExpiredDeadLetters(poolOf('registry'), { maxAgeMs: 30 * DAY_MS, service: 'registry' })).toBe(1);
    expect((await auditOf(group)).map((record) => record.resource.id)).toEqual([`${group}/${old}`]);
  });

  it('lets two instances run a pass at the same moment: each dead letter is removed once', async () => {
    const group = 'test.retention-dead-many';
    await admin.query(`INSERT INTO bus.groups (group_name, topics) VALUES ($1, ARRAY['test.retention.many'])`, [group]);
    await admin.query(
      `WITH rows AS (
         INSERT INTO bus.outbox (topic, key, event_id, payload)
         SELECT 'test.retention.many', id::text, id, '{}' FROM (SELECT gen_random_uuid() AS id FROM generate_series(1, 300)) ids
         RETURNING id, txid, key, partition, topic, event_id
       )
       INSERT INTO bus.parked (group_name, event_id, outbox_id, txid, key, partition, topic, status, attempts, parked_at, updated_at)
       SELECT $1, event_id, id, txid, key, partition, topic, 'dead', 8, now() - interval '31 days', now() - interval '31 days' FROM rows`,
      [group],
    );
    const passes = await Promise.all(
      (['runner', 'workflow'] as const).map((service) =>
        deleteExpiredDeadLetters(poolOf(service), { maxAgeMs: 30 * DAY_MS, batchSize: 20, service }),
      ),
    );
    expect(passes[0]! + passes[1]!).toBe(300);
    expect((await admin.query(`SELECT 1 FROM bus.parked WHERE group_name = $1`, [group])).rowCount).toBe(0);
    // One audit record per dead letter, by whichever instance removed it.
    const audit = await auditOf(group);
    expect(new Set(audit.map((record) => record.resource.id)).size).toBe(300);
    expect(audit.filter((record) => record.service === 'runner')).toHaveLength(passes[0]!);
    expect(audit.filter((record) => record.service === 'workflow')).toHaveLength(passes[1]!);
  });
});
