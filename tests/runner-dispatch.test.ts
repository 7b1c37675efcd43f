/**
 * Direct dispatch (create/insert.ts): a task created while its runner's worker has a free slot, and a
 * claim made at that moment would pick it, is started by the create's own statement — running, its
 * attempt opened, `runner.task.started` after `runner.task.queued` — and runs with no claim. Otherwise
 * it is queued as before: behind a due queued task, for a limited or paused provider, or with the worker
 * full. A probe trigger records every queued → running update, i.e. every task a claim started.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { startEmulator } from '@llmops/emulator/server';
import { attemptRequest, normalizedRequest } from '../services/runner/src/tasks/request.ts';
import { startRunnerHarness, type Json } from './runner-support.ts';

const db = await useTestDatabase();
const emulator = await startEmulator();
// One slot, and no poll within a test's time: the worker claims only when something wakes it.
const h = await startRunnerHarness(db, emulator, { env: { RUNNER_CONCURRENCY: '1', RUNNER_POLL_MS: '60000' } });

beforeAll(async () => {
  await h.admin.query(`
    CREATE TABLE public.claim_probe (task_id uuid NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());
    CREATE FUNCTION public.claim_probe() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS $$
      BEGIN INSERT INTO public.claim_probe (task_id) VALUES (NEW.id); RETURN NULL; END $$;
    GRANT EXECUTE ON FUNCTION public.claim_probe() TO PUBLIC;
    CREATE TRIGGER claim_probe AFTER UPDATE OF status ON runner.tasks FOR EACH ROW
      WHEN (OLD.status = 'queued' AND NEW.status = 'running') EXECUTE FUNCTION public.claim_probe();`);
});
afterAll(async () => {
  await h.stop();
  await emulator.stop();
});

/** The tasks a claim started (queued → running), in the order it started them. */
async function claimed(ids: readonly string[]): Promise<string[]> {
  const { rows } = await h.admin.query(`SELECT task_id FROM public.claim_probe WHERE task_id = ANY ($1::uuid[]) ORDER BY at`, [
    ids,
  ]);
  return rows.map((row: Json) => row.task_id);
}

const ask = (model: string, content: string, extra: Record<string, unknown> = {}) =>
  h.createTask({ model_id: model, messages: [{ role: 'user', content }], ...extra });

/** A queued copy of an ended task, due a second ago, inserted with SQL (no event wakes the worker for it). */
async function queuedCopy(of: string, priority: number): Promise<string> {
  const { rows } = await h.admin.query(
    `INSERT INTO runner.tasks (id, requester, source, status, kind, priority, correlation, inputs, snapshot, model_id, provider_id,
       run_after)
     SELECT gen_random_uuid(), requester, source, 'queued', kind, $2, correlation, inputs, snapshot, model_id, provider_id,
       now() - interval '1 second'
     FROM runner.tasks WHERE id = $1
     RETURNING id`,
    [of, priority],
  );
  return rows[0].id;
}

async function copied(provider: string, limited: boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const { rows } = await h.admin.query(`SELECT max_concurrency FROM runner.providers WHERE id = $1`, [provider]);
    if (rows[0] && (rows[0].max_concurrency !== null) === limited) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`the runner has no copy of provider ${provider}`);
}

describe('a task created while its runner has a free slot', () => {
  it('is running with its attempt and runner.task.started when the create answers, and no claim started it', async () => {
    const { model } = await h.provider();
    const created = await ask(model, 'Dispatch me', { correlation: { post: 7 } });
    const task = created.tasks[0];
    expect(task.status).toBe('running');
    expect(task.attempt_count).toBe(1);
    expect(task.started_at).toBe(task.created_at);

    const { rows } = await h.admin.query(`SELECT * FROM runner.tasks WHERE id = $1`, [task.id]);
    const row = rows[0];
    expect(row).toMatchObject({ attempts: 1, model_attempts: 1, queue_wait_ms: 0 });
    expect(row.lease_owner).toMatch(/^runner@/);
    const attempts = await h.attempts(task.id);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ number: 1, model_index: 0, worker: row.lease_owner, queue_wait_ms: 0 });
    expect(attempts[0].request).toEqual(normalizedRequest(attemptRequest(row, row.snapshot.chain[0])));
    const { rows: events } = await h.admin.query(
      `SELECT topic, payload FROM bus.outbox WHERE key = $1 AND topic IN ('runner.task.queued', 'runner.task.started') ORDER BY id`,
      [task.id],
    );
    expect(events.map((event: Json) => event.topic)).toEqual(['runner.task.queued', 'runner.task.started']);
    expect(events[1].payload).toMatchObject({
      task_id: task.id,
      requester: row.requester,
      correlation: { post: 7 },
      attempt: 1,
      worker: row.lease_owner,
      queue_wait_ms: 0,
    });

    expect((await h.waitFor(task.id)).status).toBe('succeeded');
    expect(await claimed([task.id])).toEqual([]);
    // A replay of the create answers what the first answer said.
    const key = { 'idempotency-key': `dispatch-${task.id}` };
    const keyedCreate = () =>
      h.call('runner', 'POST', '/api/v1/tasks', { model_id: model, messages: [{ role: 'user', content: 'K' }] }, key);
    const keyed = await keyedCreate();
    const again = await keyedCreate();
    expect(keyed.body.tasks[0].status).toBe('running');
    expect(again.status).toBe(200);
    expect(again.body).toEqual(keyed.body);
    await h.waitFor(keyed.body.tasks[0].id);
  });

  it('is queued behind a due queued task, which is claimed first; it jumps a queued task of lower priority', async () => {
    const { model } = await h.provider();
    const seed = await ask(model, 'Seed');
    await h.waitFor(seed.tasks[0].id);

    const older = await queuedCopy(seed.tasks[0].id, 0);
    const created = await ask(model, 'Behind the backlog');
    const task = created.tasks[0];
    expect(task.status).toBe('queued');
    expect((await h.waitFor(older)).status).toBe('succeeded');
    expect((await h.waitFor(task.id)).status).toBe('succeeded');
    // One slot: the claim took the older task first, then this one.
    expect(await claimed([older, task.id])).toEqual([older, task.id]);

    const lower = await queuedCopy(seed.tasks[0].id, -5);
    const urgent = await ask(model, 'Urgent', { priority: 5 });
    expect(urgent.tasks[0].status).toBe('running');
    expect((await h.waitFor(urgent.tasks[0].id)).status).toBe('succeeded');
    expect(await claimed([urgent.tasks[0].id])).toEqual([]);
    await h.admin.query(`UPDATE runner.tasks SET status = 'cancelled', finished_at = now() WHERE id = $1`, [lower]);
  });

  it('is queued when its provider has a limit or is paused, and a claim starts it', async () => {
    const limited = await h.provider({ max_concurrency: 4 });
    await copied(limited.provider, true);
    const capped = (await ask(limited.model, 'Limited')).tasks[0];
    expect(capped.status).toBe('queued');
    expect((await h.waitFor(capped.id)).status).toBe('succeeded');
    expect(await claimed([capped.id])).toEqual([capped.id]);

    const free = await h.provider();
    await copied(free.provider, false);
    await h.pauseProvider(free.provider);
    const held = (await ask(free.model, 'Paused')).tasks[0];
    expect(held.status).toBe('queued');
    await h.resumeProvider(free.provider);
    expect((await h.waitFor(held.id)).status).toBe('succeeded');
    expect(await claimed([held.id])).toEqual([held.id]);
  });

  it('is queued when its worker has no free slot, and claimed once one frees', async () => {
    const { model } = await h.provider();
    emulator.fault({ protocol: 'openai', path: '/v1/chat/completions', chunkDelayMs: 200, times: 1 });
    const slow = (await ask(model, 'Take your time')).tasks[0];
    expect(slow.status).toBe('running');
    const next = (await ask(model, 'Wait for the slot')).tasks[0];
    expect(next.status).toBe('queued');
    expect((await h.waitFor(slow.id)).status).toBe('succeeded');
    expect((await h.waitFor(next.id)).status).toBe('succeeded');
    expect(await claimed([slow.id, next.id])).toEqual([next.id]);
  });
});
