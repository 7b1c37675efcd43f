import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '@llmops/kit/ids';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import * as usage from './tasks/usage.ts';

/*
 * The usage rollup's triggers on runner.tasks (sql/runner/000019, 000026): a task that ends is marked pending, a
 * counted one whose figures change moves them between buckets, and every other update leaves the rollup alone.
 * PostgreSQL compiles a trigger's WHEN clause from its stored node string at every statement that writes the
 * table (each claim, finish, lease extension and create), so the clauses stay short.
 */

const db = await useTestDatabase();
const admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });
afterAll(() => admin.end());

async function endedTask(): Promise<string> {
  const id = uuidv7();
  await admin.query(
    `INSERT INTO runner.tasks (id, requester, source, status, kind, snapshot, attempts, cost_usd, usage, finished_at)
     VALUES ($1, 'account:a', 'api', 'succeeded', 'chat', '{}', 1, 0.25, '{"input_tokens": 10, "output_tokens": 5}', now())`,
    [id],
  );
  return id;
}

async function rollup(): Promise<{ tasks: number; attempts: number; cost: string; pending: number }> {
  const { rows } = await admin.query(
    `SELECT coalesce(sum(tasks), 0)::int AS tasks, coalesce(sum(attempts), 0)::int AS attempts,
       coalesce(sum(cost_usd), 0)::text AS cost, (SELECT count(*)::int FROM runner.usage_pending) AS pending
     FROM runner.usage_hours`,
  );
  return rows[0];
}

describe('the usage triggers on runner.tasks', () => {
  it('count an ended task once, leave it alone when nothing counted changes, and follow it when something does', async () => {
    const id = await endedTask();
    expect(await rollup()).toMatchObject({ tasks: 0, pending: 1 });
    expect(await usage.rollUp(admin, [id])).toBe(1);
    expect(await rollup()).toEqual({ tasks: 1, attempts: 1, cost: '0.250000000000', pending: 0 });

    await admin.query(`UPDATE runner.tasks SET updated_at = now(), error = '{"kind": "x"}' WHERE id = $1`, [id]);
    expect(await rollup()).toEqual({ tasks: 1, attempts: 1, cost: '0.250000000000', pending: 0 });

    await admin.query(`UPDATE runner.tasks SET cost_usd = cost_usd + 0.5, attempts = 2 WHERE id = $1`, [id]);
    expect(await rollup()).toEqual({ tasks: 1, attempts: 2, cost: '0.750000000000', pending: 0 });

    // No longer ended (no code path does this today): it leaves the buckets.
    await admin.query(`UPDATE runner.tasks SET status = 'queued', finished_at = NULL WHERE id = $1`, [id]);
    expect(await rollup()).toMatchObject({ tasks: 0, attempts: 0, pending: 0 });
    await admin.query(`UPDATE runner.tasks SET status = 'failed', finished_at = now() WHERE id = $1`, [id]);
    expect(await rollup()).toMatchObject({ tasks: 0, pending: 1 });
    await admin.query(`DELETE FROM runner.tasks WHERE id = $1`, [id]);
    expect(await rollup()).toMatchObject({ tasks: 0, pending: 0 });
  });

  it('compile little at each statement: their WHEN clauses are short', async () => {
    const { rows } = await admin.query<{ name: string; when: number }>(
      `SELECT tgname AS name, length(tgqual) AS when FROM pg_trigger
       WHERE tgrelid = 'runner.tasks'::regclass AND NOT tgisinternal AND tgqual IS NOT NULL`,
    );
    expect(rows.length).toBeGreaterThan(0);
    // A node string, as PostgreSQL stores the clause: `old.finished_at IS NOT NULL` is about 300 characters; the
    // clauses of sql/runner/000019 were 1.1-5.1 kB each, 7.4 kB for an update.
    for (const row of rows) expect(row.when, row.name).toBeLessThan(700);
  });
});
