import { afterAll, describe, expect, it } from 'vitest';
import { createPool, withTransaction } from '@llmops/kit/db';
import { createLogger } from '@llmops/kit/logger';
import { startStack } from '@llmops/kit/testing/stack';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { TASK_COLUMN_NAMES, type TaskError } from '../tasks/task.ts';
import * as lifecycle from '../tasks/lifecycle.ts';
import { Endings, endAttempts, planEnding } from './endings.ts';
import type { AttemptRecord, Outcome } from './outcome.ts';

/*
 * Attempts that end together: one statement records every common outcome (success, retry, fallback,
 * failure, cancel, give back), and an attempt whose task changed since its claim is left to the locked
 * transaction, which records it as lost. The runner's own worker never claims these tasks: their
 * provider is paused; the test starts them itself, under an owner of its own.
 */

const db = await useTestDatabase();
const stack = await startStack({ db, services: ['registry', 'prompt', 'runner'], env: { RUNNER_POLL_MS: '200' } });
const admin = createPool({ connectionString: db.adminUrl, applicationName: 'test', max: 2 });
const pool = createPool({ connectionString: db.urlFor('runner'), applicationName: 'endings test', max: 4 });
const log = createLogger({ service: 'endings-test', level: 'silent' });
afterAll(async () => {
  await stack.stop();
  await admin.end();
  await pool.end();
});

const OWNER = 'endings-test-owner';

async function call(
  service: 'registry' | 'runner',
  path: string,
  body: unknown,
): Promise<{ id: string; tasks?: { id: string }[] }> {
  const identity = { kind: 'account' as const, subject: 'editor-1', role: 'editor' as const, scopes: [], requestId: 'test' };
  const response = await stack.call(
    service,
    path,
    { method: 'POST', body: JSON.stringify(body) },
    service === 'registry' ? undefined : identity,
  );
  const json = (await response.json()) as { id: string; tasks?: { id: string }[] };
  expect(response.status, JSON.stringify(json)).toBe(201);
  return json;
}

/** A paused provider (the runner's copy holds it back for an hour) with a priced model. */
async function pausedModel(name: string): Promise<{ provider: string; model: string }> {
  const provider = await call('registry', '/api/v1/providers', {
    name,
    kind: 'openai',
    base_url: 'http://127.0.0.1:9/v1',
    api_key: 'sk-test-key-0123456789',
  });
  for (let i = 0; ; i++) {
    const paused = await admin.query(`UPDATE runner.providers SET paused_until = now() + interval '1 hour' WHERE id = $1`, [
      provider.id,
    ]);
    if (paused.rowCount === 1) break;
    if (i > 400) throw new Error('the runner never copied the provider');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const model = await call('registry', '/api/v1/models', {
    provider_id: provider.id,
    provider_model_id: 'emu-gpt-small',
    price: { input_per_mtok: '2.5', output_per_mtok: '10' },
  });
  for (let i = 0; ; i++) {
    const { rowCount } = await admin.query('SELECT 1 FROM runner.model_prices WHERE model_id = $1', [model.id]);
    if (rowCount === 1) break;
    if (i > 400) throw new Error('the runner never copied the price');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return { provider: provider.id, model: model.id };
}

const first = await pausedModel('endings first');
const second = await pausedModel('endings second');
const preset = await call('registry', '/api/v1/presets', {
  name: 'endings preset',
  model_id: first.model,
  fallback_model_ids: [second.model],
  retry_policy: { max_attempts: 2, initial_backoff_ms: 60_000, max_backoff_ms: 60_000 },
});

/** Queued tasks on the preset, started by this test (the runner's worker leaves them: their provider is paused). */
async function claimed(n: number): Promise<lifecycle.ClaimedTask[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const created = await call('runner', '/api/v1/tasks', {
      preset_id: preset.id,
      messages: [{ role: 'user', content: `task ${i}` }],
    });
    ids.push((created.tasks as { id: string }[])[0]?.id as string);
  }
  const started = await withTransaction(pool, (tx) => lifecycle.start(tx, ids, OWNER, 60_000));
  return ids.map((id) => started.find((task) => task.row.id === id) as lifecycle.ClaimedTask);
}

function ended(outcome: Outcome): AttemptRecord {
  return { outcome, wire: null, provider_ms: 40, latency_ms: 50, time_to_first_token_ms: 10, announce_use: false };
}

const usage = { input_tokens: 1_000, output_tokens: 100, cached_input_tokens: 0 };
const price = {
  input_per_mtok: '2.5',
  output_per_mtok: '10',
  cached_input_per_mtok: null,
  per_image: null,
  effective_from: '2020-01-01',
};
const error = (kind: TaskError['kind'], retryable: boolean, retryAfterMs: number | null = null): TaskError => ({
  kind,
  message: `${kind} from the test`,
  retryable,
  status: kind === 'rate_limit' ? 429 : 500,
  retry_after_ms: retryAfterMs,
  provider_code: null,
});

async function task(id: string) {
  const { rows } = await admin.query('SELECT *, xmin::text AS xid FROM runner.tasks WHERE id = $1', [id]);
  return rows[0];
}

async function topics(id: string): Promise<string[]> {
  const { rows } = await admin.query(`SELECT topic FROM bus.outbox WHERE payload->>'task_id' = $1 ORDER BY id`, [id]);
  return rows.map((row: { topic: string }) => row.topic);
}

describe('attempts that end together', () => {
  it('are recorded in one statement, each outcome moving its task on as the locked transaction would', async () => {
    const [ok, retry, rateLimited, cancelled, givenBack] = await claimed(5);
    await admin.query('UPDATE runner.tasks SET cancel_requested_at = now() WHERE id = $1', [cancelled?.row.id]);
    const outcomes: [lifecycle.ClaimedTask | undefined, Outcome][] = [
      [
        ok,
        {
          kind: 'succeeded',
          text: 'done',
          finish_reason: 'stop',
          provider_finish_reason: 'stop',
          response_id: 'r1',
          usage,
          images: [],
        },
      ],
      [retry, { kind: 'failed', error: error('server', true), text: '' }],
      [rateLimited, { kind: 'failed', error: error('rate_limit', true, 120_000), text: 'partial' }],
      [cancelled, { kind: 'cancelled', text: 'half an ans' }],
      [givenBack, { kind: 'abandoned', reason: 'the runner process was stopping', text: '' }],
    ];
    const planned = outcomes.map(([c, outcome]) => planEnding(c as lifecycle.ClaimedTask, ended(outcome), price));
    expect(planned.every((p) => p !== null)).toBe(true);
    const done = await endAttempts(
      pool,
      OWNER,
      planned.flatMap((p) => p ?? []),
    );
    expect(done.size).toBe(5);

    const rows = await Promise.all(outcomes.map(([c]) => task(c?.row.id as string)));
    // One statement, one transaction: every attempt row it ended carries the same xmin. (Not the tasks':
    // the runner's usage consumer marks an ended task counted soon after, in a transaction of its own.)
    const { rows: written } = await admin.query<{ xid: string }>(
      'SELECT xmin::text AS xid FROM runner.attempts WHERE task_id = ANY($1::uuid[])',
      [rows.map((row) => row.id)],
    );
    expect(written).toHaveLength(5);
    expect(new Set(written.map((row) => row.xid)).size).toBe(1);
    expect(rows.map((row) => row.status)).toEqual(['succeeded', 'queued', 'queued', 'cancelled', 'queued']);
    const [okRow, retryRow, limitedRow, cancelledRow, backRow] = rows;
    expect(okRow).toMatchObject({ output_text: 'done', finish_reason: 'stop', cost_usd: '0.003500000000', lease_owner: null });
    expect(okRow.finished_at).not.toBeNull();
    expect(retryRow).toMatchObject({ model_attempts: 1, model_index: 0, error: { kind: 'server' } });
    expect(retryRow.run_after.getTime()).toBeGreaterThan(Date.now() + 30_000);
    expect(limitedRow).toMatchObject({ model_attempts: 1, error: { kind: 'rate_limit' } });
    expect(cancelledRow.finished_at).not.toBeNull();
    expect(backRow).toMatchObject({ model_attempts: 0, provider_ms: 0, error: null });

    const { rows: attempts } = await admin.query(
      'SELECT task_id, status, cost_usd, ended_at IS NOT NULL AS ended FROM runner.attempts WHERE task_id = ANY ($1::uuid[])',
      [rows.map((row) => row.id)],
    );
    expect(attempts.every((a: { ended: boolean }) => a.ended)).toBe(true);
    expect(attempts.find((a: { task_id: string }) => a.task_id === okRow.id)).toMatchObject({
      status: 'succeeded',
      cost_usd: '0.003500000000',
    });
    expect(attempts.find((a: { task_id: string }) => a.task_id === backRow.id)).toMatchObject({ status: 'abandoned' });

    expect(await topics(okRow.id)).toEqual(['runner.task.queued', 'runner.task.started', 'runner.task.succeeded']);
    expect(await topics(cancelledRow.id)).toEqual(['runner.task.queued', 'runner.task.started', 'runner.task.cancelled']);
    expect(await topics(backRow.id)).toEqual(['runner.task.queued', 'runner.task.started', 'runner.task.queued']);
    // A retry's run_after is the row's (PostgreSQL's clock), to the millisecond.
    const { rows: retrying } = await admin.query(
      `SELECT payload->>'run_after' AS run_after FROM bus.outbox WHERE topic = 'runner.task.retrying' AND payload->>'task_id' = $1`,
      [retryRow.id],
    );
    expect(retrying).toHaveLength(1);
    expect(new Date(retrying[0].run_after).getTime()).toBe(Math.floor(retryRow.run_after.getTime()));
    // A 429 with Retry-After pauses its provider for at least that long.
    const { rows: provider } = await admin.query('SELECT paused_until FROM runner.providers WHERE id = $1', [first.provider]);
    expect(provider[0].paused_until.getTime()).toBeGreaterThan(Date.now() + 60_000);
  });

  it('fall back down the chain, or fail, when a model has no attempt left', async () => {
    const [lastOnFirst] = await claimed(1);
    // Its first attempt failed before (as if): this one is its second and last on the first model.
    const again = await withTransaction(pool, async (tx) => {
      await tx.query(`UPDATE runner.tasks SET status = 'queued', lease_owner = NULL WHERE id = $1`, [lastOnFirst?.row.id]);
      return lifecycle.start(tx, [lastOnFirst?.row.id as string], OWNER, 60_000);
    });
    const retryable = { kind: 'failed' as const, error: error('server', true), text: '' };
    const planned = planEnding(again[0] as lifecycle.ClaimedTask, ended(retryable), price);
    expect(await endAttempts(pool, OWNER, planned ? [planned] : [])).toEqual(new Set([lastOnFirst?.row.id]));
    const moved = await task(lastOnFirst?.row.id as string);
    expect(moved).toMatchObject({ status: 'queued', model_index: 1, model_attempts: 0, model_id: second.model });
    const { rows: retrying } = await admin.query(
      `SELECT payload FROM bus.outbox WHERE topic = 'runner.task.retrying' AND payload->>'task_id' = $1`,
      [moved.id],
    );
    expect(
      retrying.map((r: { payload: { fallback: boolean; model_id: string } }) => [r.payload.fallback, r.payload.model_id]),
    ).toEqual([[true, second.model]]);

    const [failing] = await claimed(1);
    const fatal = { kind: 'failed' as const, error: error('bad_request', false), text: '' };
    // Not retryable, but the chain has a second model: on to it; on the second model it fails.
    const onSecond = await withTransaction(pool, async (tx) => {
      await tx.query(
        `UPDATE runner.tasks SET status = 'queued', lease_owner = NULL, model_index = 1, model_id = $2, provider_id = $3 WHERE id = $1`,
        [failing?.row.id, second.model, second.provider],
      );
      return lifecycle.start(tx, [failing?.row.id as string], OWNER, 60_000);
    });
    const last = planEnding(onSecond[0] as lifecycle.ClaimedTask, ended(fatal), price);
    await endAttempts(pool, OWNER, last ? [last] : []);
    expect(await task(failing?.row.id as string)).toMatchObject({ status: 'failed', error: { kind: 'bad_request' } });
    expect((await topics(failing?.row.id as string)).at(-1)).toBe('runner.task.failed');
  });

  it('leave a task that changed since its claim to the locked transaction, which records the attempt as lost', async () => {
    const [kept, lost] = await claimed(2);
    // Another process took `lost` over (its lease expired and it was claimed again).
    await admin.query(`UPDATE runner.tasks SET lease_owner = 'another-runner' WHERE id = $1`, [lost?.row.id]);
    const endings = new Endings(pool, OWNER, log);
    const success = {
      kind: 'succeeded' as const,
      text: 'ok',
      finish_reason: 'stop',
      provider_finish_reason: 'stop',
      response_id: null,
      usage,
      images: [],
    };
    await Promise.all([
      endings.finish(kept as lifecycle.ClaimedTask, ended(success)),
      endings.finish(lost as lifecycle.ClaimedTask, ended(success)),
    ]);
    expect(await task(kept?.row.id as string)).toMatchObject({ status: 'succeeded' });
    const lostRow = await task(lost?.row.id as string);
    expect(lostRow).toMatchObject({ status: 'running', lease_owner: 'another-runner', cost_usd: '0.003500000000' });
    const { rows } = await admin.query('SELECT status FROM runner.attempts WHERE task_id = $1', [lostRow.id]);
    expect(rows.map((r: { status: string }) => r.status)).toEqual(['abandoned']);
  });
});

describe('what an ending writes', () => {
  /** runner.attempts' updates and HOT updates so far, as this database's statistics have them. */
  async function attemptUpdates(): Promise<{ upd: number; hot: number }> {
    const { rows } = await admin.query<{ upd: number; hot: number }>(
      `SELECT n_tup_upd::int AS upd, n_tup_hot_upd::int AS hot FROM pg_stat_user_tables
       WHERE schemaname = 'runner' AND relname = 'attempts'`,
    );
    return rows[0] as { upd: number; hot: number };
  }

  it('closes each attempt with a HOT update: no index of runner.attempts holds a column the ending changes', async () => {
    const tasks = await claimed(3);
    // The claim's inserts and any earlier update reach the statistics within a second of their backend idling.
    let before = await attemptUpdates();
    for (let i = 0; i < 40; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const now = await attemptUpdates();
      if (now.upd === before.upd && i >= 8) break;
      before = now;
    }
    const success = { kind: 'succeeded' as const, text: 'ok', finish_reason: 'stop', provider_finish_reason: 'stop' };
    const planned = tasks.map((c) => planEnding(c, ended({ ...success, response_id: null, usage, images: [] }), price));
    expect(
      await endAttempts(
        pool,
        OWNER,
        planned.flatMap((p) => p ?? []),
      ),
    ).toHaveProperty('size', 3);
    let after = await attemptUpdates();
    for (let i = 0; i < 60 && after.upd < before.upd + 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      after = await attemptUpdates();
    }
    // (The reaper may close an earlier test's lost attempt meanwhile: that ending is HOT as well.)
    expect(after.upd - before.upd).toBeGreaterThanOrEqual(3);
    expect(after.hot - before.hot).toBe(after.upd - before.upd);
  });
});

describe('the columns a task row holds', () => {
  it('are every column of runner.tasks but the search column and the usage mark, so a new column is not forgotten', async () => {
    const { rows } = await admin.query<{ name: string }>(
      `SELECT column_name AS name FROM information_schema.columns
       WHERE table_schema = 'runner' AND table_name = 'tasks' AND column_name NOT IN ('output_search', 'usage_pending')
       ORDER BY column_name`,
    );
    expect([...TASK_COLUMN_NAMES].sort()).toEqual(rows.map((row) => row.name));
  });
});
