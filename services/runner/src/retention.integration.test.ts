import { afterAll, describe, expect, it } from 'vitest';
import { createPool } from '@llmops/kit/db';
import { publish, replay, runRetention } from '@llmops/kit/bus/index';
import { eventually, useBuses } from '@llmops/kit/bus/testing';
import { taskRequested } from '@llmops/kit/events/runner';
import { revisionWritten, runFinished } from '@llmops/kit/events/workflow';
import { createServiceClient } from '@llmops/kit/http/service-client';
import { requestHash } from '@llmops/kit/idempotency';
import { uuidv7 } from '@llmops/kit/ids';
import { deleteExpiredKeys } from '@llmops/kit/retention';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { consumeWorkflowPins } from './consumers/pins.ts';
import { consumeTaskRequests, REQUESTS_GROUP } from './consumers/task-requests.ts';
import { TaskService } from './create/service.ts';
import * as reads from './db/reads.ts';
import { attemptJson } from './routes/json.ts';
import { removeAttemptPayloads } from './tasks/payload-retention.ts';

/*
 * Retention in the runner: opt-in attempt payload retention (expired payloads go, fresh ones and pinned
 * tasks' stay, two instances share a pass, the API says what was removed), and the replay of a dead-lettered
 * task request after key retention ran.
 */

const db = await useTestDatabase();
const buses = useBuses(db);
const admin = createPool({ connectionString: db.adminUrl, applicationName: 'test', max: 2 });
afterAll(() => admin.end());

const DAY_MS = 86_400_000;
const WIRE = { method: 'POST', url: 'http://127.0.0.1:1/v1/chat/completions', headers: { 'content-type': 'application/json' } };

/** A succeeded task with one attempt that ended `endedDaysAgo` days ago (and started `startedDaysAgo` days ago). */
async function taskWithAttempt(endedDaysAgo: number, startedDaysAgo = endedDaysAgo): Promise<string> {
  const id = uuidv7();
  await admin.query(
    `INSERT INTO runner.tasks (id, requester, source, status, kind, snapshot, output_text, created_at, finished_at)
     VALUES ($1, 'account:a', 'api', 'succeeded', 'chat', '{}', 'A title', now() - $2 * interval '1 day', now() - $2 * interval '1 day')`,
    [id, endedDaysAgo],
  );
  await admin.query(
    `INSERT INTO runner.attempts (id, task_id, number, model_index, model_id, provider_id, provider_model_id, worker, status,
       request, wire, response_text, usage, cost_usd, queue_wait_ms, started_at, ended_at)
     VALUES ($1, $2, 1, 0, $3, $3, 'model-a', 'worker-1', 'succeeded', $4, $5, 'A title', $6, 0.0125, 5,
       now() - $8 * interval '1 day', now() - $7 * interval '1 day')`,
    [
      uuidv7(),
      id,
      uuidv7(),
      JSON.stringify({ model: 'model-a', messages: [{ role: 'user', content: 'Write a title' }] }),
      JSON.stringify({ ...WIRE, body: '{"model":"model-a"}' }),
      JSON.stringify({ input_tokens: 12, output_tokens: 7 }),
      endedDaysAgo,
      startedDaysAgo,
    ],
  );
  return id;
}

async function attemptOf(taskId: string) {
  const { rows } = await admin.query(
    `SELECT wire, response_text, payload_removed_at, request, usage, cost_usd::text, status FROM runner.attempts WHERE task_id = $1`,
    [taskId],
  );
  return rows[0] as Record<string, unknown>;
}

describe('attempt payload retention', () => {
  it('removes only old, unpinned payloads, waits for the pins consumer, and shows what it removed', async () => {
    const old = await taskWithAttempt(40);
    const fresh = await taskWithAttempt(10);
    const long = await taskWithAttempt(10, 40); // started before the cut-off, ended after it (the walk is by start)
    const revised = await taskWithAttempt(40); // a revision was written from it
    const suggested = await taskWithAttempt(40); // its run ended in a suggestion
    const failedRun = await taskWithAttempt(40); // its run failed: nothing refers to it
    const workflow = buses.servicePool('workflow');
    const at = new Date().toISOString();
    const post = { post_id: uuidv7(), section_id: null };
    await publish(workflow, revisionWritten, {
      ...post,
      field_key: 'title',
      revision_id: uuidv7(),
      author: { kind: 'task', id: revised },
      amended: false,
      at,
    });
    const run = { ...post, action_id: uuidv7(), at };
    await publish(workflow, runFinished, {
      ...run,
      action_run_id: uuidv7(),
      task_id: suggested,
      status: 'suggested',
      suggestion_id: uuidv7(),
    });
    await publish(workflow, runFinished, {
      ...run,
      action_run_id: uuidv7(),
      task_id: failedRun,
      status: 'failed',
      suggestion_id: null,
    });

    const { bus, pool } = await buses.startBus({ service: 'runner' });
    // Before the pins consumer has read those events, a pass could reach a task one of them pins: it waits.
    expect(await removeAttemptPayloads(pool, { maxAgeMs: 30 * DAY_MS })).toEqual({ removed: 0, held: true });

    consumeWorkflowPins(bus, pool);
    const pass = await eventually(
      async () => {
        const result = await removeAttemptPayloads(pool, { maxAgeMs: 30 * DAY_MS });
        return result.held ? undefined : result;
      },
      { what: 'the pins consumer to catch up' },
    );
    expect(pass).toEqual({ removed: 2, held: false });
    const pinned = await admin.query(`SELECT task_id, reason FROM runner.pinned_tasks ORDER BY reason`);
    expect(pinned.rows).toEqual([
      { task_id: revised, reason: 'revision' },
      { task_id: suggested, reason: 'suggestion' },
    ]);

    for (const task of [old, failedRun]) {
      const attempt = await attemptOf(task);
      expect(attempt.wire).toEqual(WIRE); // the body alone is gone
      expect(attempt.response_text).toBeNull();
      expect(attempt.payload_removed_at).toBeInstanceOf(Date);
      expect(attempt).toMatchObject({
        status: 'succeeded',
        cost_usd: '0.012500000000',
        usage: { input_tokens: 12, output_tokens: 7 },
      });
      expect(attempt.request).toEqual({ model: 'model-a', messages: [{ role: 'user', content: 'Write a title' }] });
    }
    for (const task of [fresh, long, revised, suggested]) {
      expect(await attemptOf(task)).toMatchObject({
        wire: { ...WIRE, body: '{"model":"model-a"}' },
        response_text: 'A title',
        payload_removed_at: null,
      });
    }
    const [shown] = await reads.attempts(pool, old);
    expect(attemptJson(shown!)).toMatchObject({
      wire: { ...WIRE, body: null },
      response_text: null,
      payload_removed_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const [kept] = await reads.attempts(pool, fresh);
    expect(attemptJson(kept!)).toMatchObject({ wire: { body: '{"model":"model-a"}' }, payload_removed_at: null });
  });

  it('lets two runner instances run a pass at the same moment: each payload is removed once', async () => {
    await admin.query(`UPDATE runner.attempts SET ended_at = now() WHERE payload_removed_at IS NULL`); // the first test's
    const { rows: made } = await admin.query<{ id: string }>(
      `WITH tasks AS (
         INSERT INTO runner.tasks (id, requester, source, status, kind, snapshot, created_at, finished_at)
         SELECT gen_random_uuid(), 'account:a', 'api', 'failed', 'chat', '{}', now() - interval '40 days', now() - interval '40 days'
         FROM generate_series(1, 60)
         RETURNING id
       )
       INSERT INTO runner.attempts (id, task_id, number, model_index, model_id, provider_id, provider_model_id, worker, status,
         request, response_text, queue_wait_ms, started_at, ended_at)
       SELECT gen_random_uuid(), id, 1, 0, id, id, 'model-a', 'worker-1', 'failed', '{}', 'partial', 5,
         now() - interval '40 days', now() - interval '40 days'
       FROM tasks
       RETURNING task_id AS id`,
    );
    const tasks = made.map((row) => row.id);
    const pools = [buses.servicePool('runner'), buses.servicePool('runner')];
    const passes = await Promise.all(pools.map((pool) => removeAttemptPayloads(pool, { maxAgeMs: 30 * DAY_MS, batchSize: 5 })));
    expect(passes.every((pass) => !pass.held)).toBe(true);
    expect(passes[0]!.removed + passes[1]!.removed).toBe(60);
    const { rows } = await admin.query(
      `SELECT count(*)::int AS n FROM runner.attempts WHERE task_id = ANY($1::uuid[]) AND payload_removed_at IS NOT NULL`,
      [tasks],
    );
    expect(rows[0]).toEqual({ n: 60 });
  });
});

describe('a dead-lettered task request replayed after key retention ran', () => {
  it('is the same task: its key stays while the dead letter exists, and goes once the event is gone', async () => {
    const { bus, pool } = await buses.startBus({ service: 'runner', config: { maxAttempts: 2 } });
    // Registry and prompt do not answer: a request that is new to the runner fails and is retried, then dies.
    const nowhere = (service: 'registry' | 'prompt') =>
      createServiceClient({
        caller: 'runner',
        service,
        url: 'http://127.0.0.1:9',
        secret: 'retention-test-secret-0123456789abcdef',
        timeoutMs: 500,
      });
    const tasks = new TaskService({ pool, bus, registry: nowhere('registry'), prompt: nowhere('prompt'), wake: () => undefined });
    consumeTaskRequests(bus, tasks);

    const request = { model_id: uuidv7(), messages: [{ role: 'user', content: 'Write a title' }] };
    const workflow = buses.servicePool('workflow');
    const event = await publish(workflow, taskRequested, { requester: 'workflow', idempotency_key: 'run-1', request });
    await eventually(
      async () =>
        (
          await admin.query(`SELECT 1 FROM bus.parked WHERE group_name = $1 AND event_id = $2 AND status = 'dead'`, [
            REQUESTS_GROUP,
            event.id,
          ])
        ).rowCount === 1 || undefined,
      { what: 'the request to be dead-lettered' },
    );

    // Meanwhile an earlier delivery of the same request made its task, a month ago.
    const task = uuidv7();
    await admin.query(
      `INSERT INTO runner.tasks (id, requester, source, idempotency_key, request_hash, status, kind, snapshot, created_at, finished_at)
       VALUES ($1, 'service:workflow', 'bus', 'run-1', $2, 'succeeded', 'chat', '{}', now() - interval '30 days', now() - interval '30 days')`,
      [task, requestHash('task.request', request)],
    );
    await admin.query(
      `INSERT INTO runner.idempotency_keys (actor, key, operation, request_hash, status, response, created_at)
       VALUES ('service:workflow', 'run-1', 'task.request', $1, 201, $2, now() - interval '30 days')`,
      [requestHash('task.request', request), JSON.stringify({ group_id: null, task_ids: [task] })],
    );

    // Key retention (a week) runs: the key outlived its time, but the dead letter could deliver it again.
    expect(await deleteExpiredKeys(pool, 'runner.idempotency_keys', { maxAgeMs: 7 * DAY_MS })).toBe(0);

    // The replay finds the key and is the same task: handled without asking anyone (they do not answer).
    expect(await replay(pool, REQUESTS_GROUP, event.id)).toBe(true);
    await eventually(
      async () => (await admin.query(`SELECT 1 FROM bus.parked WHERE event_id = $1`, [event.id])).rowCount === 0 || undefined,
      { what: 'the replayed request to be handled' },
    );
    const made = await admin.query(
      `SELECT id FROM runner.tasks WHERE requester = 'service:workflow' AND idempotency_key = 'run-1'`,
    );
    expect(made.rows).toEqual([{ id: task }]);

    // Handled, the event stays until outbox retention deletes it; then nothing can deliver the key again.
    expect(await deleteExpiredKeys(pool, 'runner.idempotency_keys', { maxAgeMs: 7 * DAY_MS })).toBe(0);
    await admin.query(`UPDATE bus.outbox SET created_at = now() - interval '8 days' WHERE event_id = $1`, [event.id]);
    await eventually(async () => ((await runRetention(pool, { maxAgeMs: 7 * DAY_MS })).deleted > 0 ? true : undefined), {
      what: 'outbox retention to delete the handled request',
    });
    expect(await deleteExpiredKeys(pool, 'runner.idempotency_keys', { maxAgeMs: 7 * DAY_MS })).toBe(1);
  });
});
