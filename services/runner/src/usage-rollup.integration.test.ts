import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { publish } from '@llmops/kit/bus/index';
import { eventually, useBuses } from '@llmops/kit/bus/testing';
import { taskCancelled, taskFailed, taskRejected, taskSucceeded } from '@llmops/kit/events/runner';
import { uuidv7 } from '@llmops/kit/ids';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { consumeTaskUsage } from './consumers/usage.ts';
import * as reads from './db/reads.ts';
import * as usage from './tasks/usage.ts';

/*
 * The usage rollup from its buckets (by template, and by model and provider only: sql/runner/000015, 000016,
 * 000018; the pending rows of 000019) gives the same lines as the full scan of the window's tasks: in several
 * zones (one a half-hour zone), with windows that start and end inside an hour or on a UTC day, with unfinished
 * tasks, ended tasks whose event is not handled yet, imported tasks, a redelivered event, a counted task that
 * changes afterwards, and a task that changes while the consumer is adding it (either one waiting for the other).
 */

const db = await useTestDatabase();
const buses = useBuses(db);
// Four: the race below holds two clients and watches them through a third.
const admin = new pg.Pool({ connectionString: db.adminUrl, max: 4 });
afterAll(() => admin.end());

type Status = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'rejected';
const STATUSES: Status[] = ['succeeded', 'succeeded', 'failed', 'cancelled', 'rejected', 'queued', 'running', 'succeeded'];
const models = [
  { model: uuidv7(), provider: uuidv7() },
  { model: uuidv7(), provider: uuidv7() },
];
const templates = [uuidv7(), uuidv7(), null];
// Midnight in Berlin (22:00 UTC in summer) falls inside the span; 47 minutes apart, so hours are split.
const START = Date.parse('2026-06-29T19:13:00Z');

interface Seeded {
  id: string;
  status: Status;
  model: { model: string; provider: string };
}

async function seed(n: number): Promise<Seeded[]> {
  const tasks: Seeded[] = [];
  for (let i = 0; i < n; i++) {
    const status = STATUSES[i % STATUSES.length] as Status;
    const model = models[i % 2] as Seeded['model'];
    const id = uuidv7();
    const ended = !['queued', 'running'].includes(status);
    await admin.query(
      `INSERT INTO runner.tasks (id, requester, source, status, kind, snapshot, template_id, template_version, model_id, provider_id,
         attempts, usage, cost_usd, created_at, finished_at, lease_owner, lease_expires_at)
       VALUES ($1, 'account:a', 'api', $2, 'chat', '{}', $3, CASE WHEN $3::uuid IS NULL THEN NULL ELSE 1 END, $4, $5, $6, $7, $8,
         $9, CASE WHEN $10 THEN $9::timestamptz + interval '5 seconds' END,
         CASE WHEN $2 = 'running' THEN 'w' END, CASE WHEN $2 = 'running' THEN now() + interval '1 hour' END)`,
      [
        id,
        status,
        templates[i % 3],
        model.model,
        model.provider,
        status === 'rejected' ? 0 : 1 + (i % 3),
        i % 5 === 0 ? null : JSON.stringify({ input_tokens: 100 + i, output_tokens: 7 * i, cached_input_tokens: i % 4 }),
        `0.${String(1_000_000_000_007 * (i + 1)).slice(0, 12)}`,
        new Date(START + i * 47 * 60_000).toISOString(),
        ended,
      ],
    );
    tasks.push({ id, status, model });
  }
  return tasks;
}

/** Tasks not in the buckets: the unfinished ones and the ended ones with a pending row. */
const pending = async () =>
  (
    await admin.query<{ n: number }>(
      `SELECT ((SELECT count(*) FROM runner.usage_pending) + (SELECT count(*) FROM runner.tasks WHERE status IN ('queued', 'running')))::int AS n`,
    )
  ).rows[0]?.n ?? -1;
const rollUp = (ids: readonly string[]) => usage.rollUp(admin, ids);
const BUCKET_TABLES = ['usage_hours', 'usage_days', 'usage_model_hours', 'usage_model_days'];
/** The tasks counted in each bucket table (all four hold every counted task), and rows gone below zero. */
async function bucketTotals(): Promise<{ tasks: number[]; negative: number }> {
  const tasks: number[] = [];
  let negative = 0;
  for (const table of BUCKET_TABLES) {
    const { rows } = await admin.query<{ tasks: number; negative: number }>(
      `SELECT coalesce(sum(tasks), 0)::int AS tasks, (count(*) FILTER (WHERE tasks < 0))::int AS negative FROM runner.${table}`,
    );
    tasks.push(rows[0]?.tasks ?? -1);
    negative += rows[0]?.negative ?? 0;
  }
  return { tasks, negative };
}

const iso = (ms: number) => new Date(ms).toISOString();
const HOUR = 3_600_000;
const WINDOWS: { from: string | undefined; to: string | undefined }[] = [
  { from: undefined, to: undefined },
  { from: iso(START + 2 * HOUR + 17 * 60_000), to: iso(START + 30 * HOUR + 5 * 60_000) },
  { from: iso(START + 3 * HOUR - 13 * 60_000), to: undefined },
  { from: undefined, to: iso(START + 20 * HOUR) },
  { from: iso(START + 4 * HOUR + 60_000), to: iso(START + 4 * HOUR + 40 * 60_000) }, // inside one hour
  { from: '2026-06-30T00:00:00Z', to: '2026-07-01T00:00:00Z' }, // one whole UTC day
];

async function expectSameAnswers() {
  let compared = 0;
  for (const groupBy of ['day', 'model', 'provider', 'template'] as const)
    for (const splitBy of [null, 'model', 'provider', 'template'] as const) {
      if (splitBy === groupBy) continue;
      for (const tz of ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Kolkata'])
        for (const window of WINDOWS) {
          const options = { groupBy, splitBy, tz, ...window };
          expect(await reads.usage(admin, options), JSON.stringify(options)).toEqual(await reads.usageFullScan(admin, options));
          compared++;
        }
    }
  return compared;
}

describe('the usage rollup from hourly buckets', () => {
  it('answers as the full scan does, counts each ended task once, and follows a counted task that changes', async () => {
    const tasks = await seed(64);
    const ended = tasks.filter((t) => !['queued', 'running'].includes(t.status));
    const { bus, pool } = await buses.startBus({ service: 'runner' });
    consumeTaskUsage(bus, pool);
    const runner = buses.servicePool('runner');
    // Ended tasks: most get their event; one event comes twice; the last four get none yet (the rollup reads them).
    const withEvents = ended.slice(0, -4);
    for (const task of withEvents) {
      const fields = {
        task_id: task.id,
        group_id: null,
        correlation: null,
        requester: 'account:a',
        model_id: task.model.model,
        provider_id: task.model.provider,
        attempt: 1,
        at: new Date().toISOString(),
      };
      if (task.status === 'succeeded')
        await publish(runner, taskSucceeded, {
          ...fields,
          output_chars: 0,
          finish_reason: 'stop',
          usage: { input_tokens: 1, output_tokens: 1, cached_input_tokens: 0 },
          cost_usd: '0.000000000000',
          images: 0,
        });
      else if (task.status === 'failed')
        await publish(runner, taskFailed, {
          ...fields,
          error: { kind: 'provider', message: 'x', retryable: false, status: 500, retry_after_ms: null, provider_code: null },
          cost_usd: '0.000000000000',
        });
      else if (task.status === 'rejected') await publish(runner, taskRejected, { ...fields, problems: [] });
      else await publish(runner, taskCancelled, { ...fields, was: 'queued' });
    }
    const twice = withEvents.find((t) => t.status === 'cancelled') as Seeded;
    await publish(runner, taskCancelled, {
      task_id: twice.id,
      group_id: null,
      correlation: null,
      requester: 'account:a',
      model_id: twice.model.model,
      provider_id: twice.model.provider,
      attempt: 1,
      at: new Date().toISOString(),
      was: 'queued',
    });
    const unfinished = tasks.length - ended.length;
    await eventually(async () => ((await pending()) === unfinished + 4 ? true : undefined), {
      what: 'the usage group to add every ended task with an event',
    });
    // The import route's call (no event comes for an imported task), made twice, adds each once; an unfinished task not at all.
    const imported = ended.slice(-4).map((t) => t.id);
    expect(await rollUp(imported.slice(0, 2))).toBe(2);
    expect(await rollUp(imported.slice(0, 2))).toBe(0);
    expect(await rollUp(tasks.filter((t) => t.status === 'queued').map((t) => t.id))).toBe(0);
    expect(await bucketTotals()).toEqual({ tasks: BUCKET_TABLES.map(() => ended.length - 2), negative: 0 });

    expect(await expectSameAnswers()).toBeGreaterThan(200);

    // A counted task that changes later (a legacy re-import links a template; a lost attempt's cost) moves in its bucket.
    const counted = withEvents[0] as Seeded;
    await admin.query(`UPDATE runner.tasks SET template_id = $2, cost_usd = cost_usd + 1.5 WHERE id = $1`, [
      counted.id,
      templates[1],
    ]);
    await admin.query(`DELETE FROM runner.tasks WHERE id = $1`, [withEvents[1]?.id]);
    // A pending task that changes, and one deleted, before the consumer comes: counted as they are then.
    const [late, gone] = imported.slice(2) as [string, string];
    await admin.query(`UPDATE runner.tasks SET cost_usd = cost_usd + 0.25 WHERE id = $1`, [late]);
    await admin.query(`DELETE FROM runner.tasks WHERE id = $1`, [gone]);
    expect(await rollUp([late, gone])).toBe(1);
    await expectSameAnswers();
    expect(await bucketTotals()).toEqual({ tasks: BUCKET_TABLES.map(() => ended.length - 2), negative: 0 });
  });

  it('counts a task that changes while the consumer adds it, whichever of the two waits for the other', async () => {
    const tasks = (await seed(16)).filter((t) => t.status === 'succeeded');
    const [first, second] = tasks as [Seeded, Seeded];
    const waitingOnLock = async (pid: number) =>
      (
        await admin.query<{ waiting: boolean }>(
          `SELECT wait_event_type = 'Lock' AS waiting FROM pg_stat_activity WHERE pid = $1`,
          [pid],
        )
      ).rows[0]?.waiting
        ? true
        : undefined;
    const consumer = await admin.connect();
    const changer = await admin.connect();
    try {
      const changerPid = (await changer.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid as number;
      const consumerPid = (await consumer.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid as number;

      // The consumer first: the change waits for its pending row, then finds the task counted and moves it.
      await consumer.query('BEGIN');
      expect(await usage.rollUp(consumer, [first.id])).toBe(1);
      const change = changer.query(`UPDATE runner.tasks SET cost_usd = cost_usd + 1, attempts = attempts + 1 WHERE id = $1`, [
        first.id,
      ]);
      await eventually(() => waitingOnLock(changerPid), { what: 'the change to wait for the consumer' });
      await consumer.query('COMMIT');
      await change;

      // The change first: the consumer's delete waits for it, then its read sees the change.
      await changer.query('BEGIN');
      await changer.query(`UPDATE runner.tasks SET cost_usd = cost_usd + 2 WHERE id = $1`, [second.id]);
      await consumer.query('BEGIN');
      const adding = usage.rollUp(consumer, [second.id]);
      await eventually(() => waitingOnLock(consumerPid), { what: 'the consumer to wait for the change' });
      await changer.query('COMMIT');
      expect(await adding).toBe(1);
      await consumer.query('COMMIT');
    } finally {
      consumer.release();
      changer.release();
    }
    await expectSameAnswers();
  });
});
