/**
 * What the runner enforces and keeps around a task: spend caps (reserved at claim, never overshot),
 * requests per minute and concurrency held across the claim, images stored in PostgreSQL, tasks asked
 * for over the bus (and rejected ones), timing honesty, streamed deltas, and provider changes.
 */
import pg from 'pg';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createPool } from '@llmops/kit/db';
import { publish } from '@llmops/kit/bus/index';
import { taskRequested, TASK_DELTAS_CHANNEL } from '@llmops/kit/events/runner';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { startEmulator } from '@llmops/emulator/server';
import { startRunnerHarness, type Json } from './runner-support.ts';

const db = await useTestDatabase();
const emulator = await startEmulator();
const h = await startRunnerHarness(db, emulator, { env: { RUNNER_RATE_WINDOW_MS: '3000' } });
afterAll(async () => {
  await h.stop();
  await emulator.stop();
});
beforeEach(() => emulator.clearFaults());

const requestsTo = (model: string) =>
  emulator.requests.filter((r) => (r.body as { model?: string } | null)?.model === model && r.method === 'POST');

describe('spend caps', () => {
  it('fails a task that would pass the cap at once, with no provider request', async () => {
    const { model } = await h.provider({
      model: 'emu-gpt-large',
      monthly_spend_cap_usd: '0.01',
      price: { input_per_mtok: '1000', output_per_mtok: '1000' },
    });
    const before = requestsTo('emu-gpt-large').length;
    const created = await h.createTask({ model_id: model, messages: [{ role: 'user', content: 'too dear' }] });
    const done = await h.waitFor(created.tasks[0].id);
    expect(done.status).toBe('failed');
    expect(done.error.kind).toBe('budget_exceeded');
    expect(done.error.message).toMatch(/spend cap/);
    expect(await h.attempts(done.id)).toHaveLength(0);
    expect(requestsTo('emu-gpt-large').length).toBe(before);
  });

  it('moves a task whose provider is at its cap down its preset chain to a model of another provider', async () => {
    const capped = await h.provider({
      model: 'emu-gpt-large',
      monthly_spend_cap_usd: '0.01',
      price: { input_per_mtok: '1000', output_per_mtok: '1000' },
    });
    const fallback = await h.provider({ protocol: 'anthropic', model: 'emu-claude-fast' });
    const preset = await h.call('registry', 'POST', '/api/v1/presets', {
      name: `capped then anthropic ${Math.random()}`,
      model_id: capped.model,
      fallback_model_ids: [fallback.model],
    });
    expect(preset.status, JSON.stringify(preset.body)).toBe(201);
    const before = requestsTo('emu-gpt-large').length;
    const created = await h.createTask({ preset_id: preset.body.id, messages: [{ role: 'user', content: 'over the cap' }] });
    const done = await h.waitFor(created.tasks[0].id);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.model_id).toBe(fallback.model);
    expect(done.output_text).toContain('over the cap');
    expect(requestsTo('emu-gpt-large').length).toBe(before);

    // The API says why the first model was skipped: a note, not an attempt (no request was made).
    const detail = await h.call('runner', 'GET', `/api/v1/tasks/${done.id}`);
    expect(detail.body.attempts.map((a: Json) => [a.model_id, a.status])).toEqual([[fallback.model, 'succeeded']]);
    expect(detail.body.skipped_models).toEqual([
      expect.objectContaining({ model_index: 0, model_id: capped.model, provider_id: capped.provider, kind: 'budget_exceeded' }),
    ]);
    expect(detail.body.skipped_models[0].message).toMatch(/monthly spend cap/);
    const { rows } = await h.admin.query(
      `SELECT topic, payload FROM bus.outbox WHERE payload->>'task_id' = $1 AND topic = 'runner.task.retrying'`,
      [done.id],
    );
    expect(rows.map((r: Json) => [r.payload.fallback, r.payload.error.kind])).toEqual([[true, 'budget_exceeded']]);
  });

  it('fails budget_exceeded only when no model of the chain can run, noting each model it skipped', async () => {
    const first = await h.provider({
      model: 'emu-gpt-small',
      monthly_spend_cap_usd: '0.01',
      price: { input_per_mtok: '1000', output_per_mtok: '1000' },
    });
    const second = await h.provider({
      protocol: 'anthropic',
      model: 'emu-claude-deep',
      monthly_spend_cap_usd: '0.01',
      price: { input_per_mtok: '1000', output_per_mtok: '1000' },
    });
    const preset = await h.call('registry', 'POST', '/api/v1/presets', {
      name: `all capped ${Math.random()}`,
      model_id: first.model,
      fallback_model_ids: [second.model],
    });
    expect(preset.status, JSON.stringify(preset.body)).toBe(201);
    const created = await h.createTask({ preset_id: preset.body.id, messages: [{ role: 'user', content: 'nowhere to go' }] });
    const done = await h.waitFor(created.tasks[0].id);
    expect(done.status).toBe('failed');
    expect(done.error.kind).toBe('budget_exceeded');
    expect(done.error.message).toMatch(/no model of its chain is left/);
    expect(await h.attempts(done.id)).toHaveLength(0);
    const detail = await h.call('runner', 'GET', `/api/v1/tasks/${done.id}`);
    expect(detail.body.skipped_models.map((s: Json) => [s.model_index, s.model_id])).toEqual([
      [0, first.model],
      [1, second.model],
    ]);
  });

  it('reserves estimates under the cap so a batch claimed together never overshoots it, then settles', async () => {
    // Each task reserves about (input estimate + 100 output tokens) × $100 per million ≈ $0.0113: a cap of
    // $0.03 holds two reservations, never three.
    const { provider, model } = await h.provider({
      model: 'emu-claude-deep',
      protocol: 'anthropic',
      monthly_spend_cap_usd: '0.03',
      price: { input_per_mtok: '100', output_per_mtok: '100' },
    });
    const first = await h.createTask({
      model_id: model,
      messages: [{ role: 'user', content: 'hi' }],
      parameters: { max_output_tokens: 100 },
    });
    await h.waitFor(first.tasks[0].id);
    await h.pauseProvider(provider);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const created = await h.createTask({
        model_id: model,
        messages: [{ role: 'user', content: `hi ${i}` }],
        parameters: { max_output_tokens: 100 },
      });
      ids.push(created.tasks[0].id);
    }
    await h.resumeProvider(provider);
    const done = await Promise.all(ids.map((id) => h.waitFor(id)));
    const statuses = done.map((t: Json) => t.status).sort();
    // All four are claimed together: two fit under the cap beside what the first one spent, two do not.
    expect(statuses).toEqual(['failed', 'failed', 'succeeded', 'succeeded']);
    for (const task of done.filter((t: Json) => t.status === 'failed')) expect(task.error.kind).toBe('budget_exceeded');
    const { rows } = await h.admin.query('SELECT spent_usd, reserved_usd FROM runner.provider_spend WHERE provider_id = $1', [
      provider,
    ]);
    expect(Number(rows[0].reserved_usd)).toBe(0);
    const { rows: cost } = await h.admin.query(
      `SELECT sum(cost_usd)::text AS total FROM runner.attempts WHERE provider_id = $1`,
      [provider],
    );
    expect(Number(rows[0].spent_usd)).toBeCloseTo(Number(cost[0].total), 6);
    expect(Number(rows[0].spent_usd)).toBeLessThanOrEqual(0.03);
  });
});

describe('provider limits', () => {
  it('never starts more than rpm_limit attempts in a window', async () => {
    const { provider, model } = await h.provider({ model: 'emu-qwen:7b', protocol: 'ollama', rpm_limit: 2 });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++)
      ids.push((await h.createTask({ model_id: model, messages: [{ role: 'user', content: `rate ${i}` }] })).tasks[0].id);
    const done = await Promise.all(ids.map((id) => h.waitFor(id, undefined, 30_000)));
    expect(done.every((t: Json) => t.status === 'succeeded')).toBe(true);
    const { rows } = await h.admin.query('SELECT started_at FROM runner.attempts WHERE provider_id = $1 ORDER BY started_at', [
      provider,
    ]);
    const starts = rows.map((r: Json) => new Date(r.started_at).getTime());
    // The window is 3 s here (RUNNER_RATE_WINDOW_MS): any three consecutive starts span at least that.
    for (let i = 2; i < starts.length; i++)
      expect((starts[i] as number) - (starts[i - 2] as number)).toBeGreaterThanOrEqual(2_990);
  });

  it('keeps at most max_concurrency attempts running at once', async () => {
    const { provider, model } = await h.provider({ model: 'emu-claude-fast', protocol: 'anthropic', max_concurrency: 2 });
    emulator.fault({ protocol: 'anthropic', model: 'emu-claude-fast', chunkDelayMs: 40 });
    const ids: string[] = [];
    for (let i = 0; i < 8; i++)
      ids.push((await h.createTask({ model_id: model, messages: [{ role: 'user', content: `a b c d e ${i}` }] })).tasks[0].id);
    const done = await Promise.all(ids.map((id) => h.waitFor(id)));
    expect(done.every((t: Json) => t.status === 'succeeded')).toBe(true);
    const { rows } = await h.admin.query('SELECT started_at, ended_at FROM runner.attempts WHERE provider_id = $1', [provider]);
    const points = rows.flatMap((r: Json) => [
      [new Date(r.started_at).getTime(), 1],
      [new Date(r.ended_at).getTime(), -1],
    ]) as [number, number][];
    points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let open = 0;
    let most = 0;
    for (const [, delta] of points) {
      open += delta;
      most = Math.max(most, open);
    }
    expect(most).toBeLessThanOrEqual(2);
    expect(most).toBe(2);
  });
});

describe('images', () => {
  it('stores the images of an image task in PostgreSQL with type and size', async () => {
    const { model } = await h.provider({
      modality: 'image',
      price: { input_per_mtok: '0', output_per_mtok: '0', per_image: '0.04' },
    });
    const created = await h.createTask({
      model_id: model,
      messages: [{ role: 'user', content: 'a loaf of bread' }],
      image: { n: 2, size: '256x256' },
    });
    expect(created.tasks[0].kind).toBe('image');
    const done = await h.waitFor(created.tasks[0].id);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    const { rows } = await h.admin.query(
      'SELECT index, content_type, size_bytes, length(data) AS n FROM runner.images WHERE task_id = $1 ORDER BY index',
      [done.id],
    );
    expect(rows).toHaveLength(2);
    expect(rows[0].content_type).toMatch(/^image\//);
    expect(rows[0].size_bytes).toBe(rows[0].n);
    expect(Number(done.cost_usd)).toBeCloseTo(0.08, 6);
  });

  it('refuses image options for a text model', async () => {
    const { model } = await h.provider();
    const refused = await h.call('runner', 'POST', '/api/v1/tasks', {
      model_id: model,
      messages: [{ role: 'user', content: 'x' }],
      image: { n: 1 },
    });
    expect(refused.status).toBe(422);
    expect(refused.body.errors.map((e: Json) => e.field)).toContain('body.image');
  });
});

describe('tasks requested over the bus', () => {
  /** The tasks a bus request's key made, once there are some. */
  const find = async (key: string) => {
    for (let i = 0; i < 200; i++) {
      const { rows } = await h.admin.query(`SELECT * FROM runner.tasks WHERE idempotency_key = $1 ORDER BY id`, [key]);
      if (rows.length > 0) return rows;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`no task for ${key}`);
  };
  /** The `runner.task.rejected` event with this correlation, once it is published. */
  const rejection = async (correlation: Record<string, string>) => {
    for (let i = 0; i < 200; i++) {
      const { rows } = await h.admin.query(
        `SELECT payload FROM bus.outbox WHERE topic = 'runner.task.rejected' AND payload->'correlation' = $1::jsonb`,
        [JSON.stringify(correlation)],
      );
      if (rows[0]) return rows[0].payload;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`no runner.task.rejected for ${JSON.stringify(correlation)}`);
  };
  const request = async (payload: { idempotency_key: string; request: Record<string, unknown> }) => {
    const bus = createPool({ connectionString: db.urlFor('workflow'), applicationName: 'test', max: 1 });
    try {
      await publish(bus, taskRequested, { requester: 'workflow', ...payload });
    } finally {
      await bus.end();
    }
  };

  it('runs a valid request and rejects an invalid one with its problems and correlation', async () => {
    const { model } = await h.provider();
    const bus = createPool({ connectionString: db.urlFor('workflow'), applicationName: 'test', max: 1 });
    try {
      await publish(bus, taskRequested, {
        requester: 'workflow',
        idempotency_key: 'post-1-title',
        request: { model_id: model, messages: [{ role: 'user', content: 'from the bus' }], correlation: { post_id: 'post-1' } },
      });
      await publish(bus, taskRequested, {
        requester: 'workflow',
        idempotency_key: 'post-2-title',
        request: { model_id: '01936f6e-7c1a-7b2e-9f3c-2b6d1e8a4c5d', messages: [], correlation: { post_id: 'post-2' } },
      });
      // The same request again (a redelivery, or a second publish) is the same task.
      await publish(bus, taskRequested, {
        requester: 'workflow',
        idempotency_key: 'post-1-title',
        request: { model_id: model, messages: [{ role: 'user', content: 'from the bus' }], correlation: { post_id: 'post-1' } },
      });
    } finally {
      await bus.end();
    }
    const [valid] = await find('post-1-title');
    const done = await h.waitFor(valid.id);
    expect(done).toMatchObject({
      status: 'succeeded',
      requester: 'service:workflow',
      source: 'bus',
      correlation: { post_id: 'post-1' },
    });
    const rejected = await find('post-2-title');
    expect(rejected).toHaveLength(1);
    expect(rejected[0].status).toBe('rejected');
    expect(rejected[0].problems.map((p: Json) => p.field)).toContain('body.messages');
    const { rows: events } = await h.admin.query(`SELECT payload FROM bus.outbox WHERE topic = 'runner.task.rejected'`);
    expect(events.map((e: Json) => e.payload.correlation)).toContainEqual({ post_id: 'post-2' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await find('post-1-title')).length).toBe(1);
  });

  it('refuses the same key with another request: no task, and runner.task.rejected on idempotency_key', async () => {
    const { model } = await h.provider();
    const asking = (content: string, post: string) => ({
      model_id: model,
      messages: [{ role: 'user', content }],
      correlation: { post_id: post },
    });
    await request({ idempotency_key: 'post-3-title', request: asking('the first request', 'post-3') });
    const [first] = await find('post-3-title');
    await request({ idempotency_key: 'post-3-title', request: asking('another request', 'post-3-again') });
    const refusal = await rejection({ post_id: 'post-3-again' });
    expect(refusal.problems).toEqual([{ field: 'idempotency_key', message: expect.stringContaining('already used') }]);
    expect((await find('post-3-title')).map((task: Json) => task.id)).toEqual([first.id]);
    expect((await h.call('runner', 'GET', `/api/v1/tasks/${refusal.task_id}`)).status).toBe(404);
    // The key keeps the hash of the request it came with, as the task it made does.
    const { rows: keys } = await h.admin.query(
      `SELECT operation, request_hash FROM runner.idempotency_keys WHERE actor = 'service:workflow' AND key = 'post-3-title'`,
    );
    expect(keys).toEqual([{ operation: 'task.request', request_hash: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    expect(first.request_hash).toBe(keys[0].request_hash);
  });

  it('makes a group of a request for several models, every task under the request’s key', async () => {
    const a = await h.provider();
    const b = await h.provider();
    await request({
      idempotency_key: 'post-4-variants',
      request: { model_ids: [a.model, b.model], messages: [{ role: 'user', content: 'two takes' }] },
    });
    const tasks = await find('post-4-variants');
    expect(tasks).toHaveLength(2);
    expect(tasks[0].group_id).not.toBeNull();
    expect(tasks[1].group_id).toBe(tasks[0].group_id);
    expect(tasks.map((task: Json) => task.status)).not.toContain('rejected');
  });
});

describe('what a task keeps and streams', () => {
  it('records honest timing per attempt and per task', async () => {
    const { model } = await h.provider();
    emulator.fault({ protocol: 'openai', delayFirstByteMs: 150, times: 1 });
    const created = await h.createTask({ model_id: model, messages: [{ role: 'user', content: 'time me' }] });
    const done = await h.waitFor(created.tasks[0].id);
    const [attempt] = await h.attempts(done.id);
    expect(attempt.provider_ms).toBeGreaterThanOrEqual(150);
    expect(attempt.latency_ms).toBeGreaterThanOrEqual(attempt.provider_ms);
    expect(attempt.overhead_ms).toBe(attempt.latency_ms - attempt.provider_ms);
    expect(attempt.time_to_first_token_ms).toBeGreaterThanOrEqual(150);
    expect(attempt.queue_wait_ms).toBeGreaterThanOrEqual(0);
    expect(done.provider_ms).toBe(attempt.provider_ms);
    expect(done.overhead_ms).toBe(attempt.overhead_ms);
  });

  it('streams deltas over NOTIFY that add up to the stored output', async () => {
    const { model } = await h.provider();
    emulator.fault({ protocol: 'openai', chunkDelayMs: 30, times: 1 });
    const listener = new pg.Client({ connectionString: db.adminUrl });
    await listener.connect();
    const items: Json[] = [];
    listener.on('notification', (message) => items.push(...JSON.parse(message.payload ?? '{}').items));
    await listener.query(`LISTEN "llmops_eph:${TASK_DELTAS_CHANNEL}"`);
    try {
      const text = Array.from({ length: 30 }, (_, i) => `w${i}`).join(' ');
      const created = await h.createTask({
        model_id: model,
        messages: [{ role: 'user', content: text }],
        correlation: { post_id: 'p-9' },
      });
      const done = await h.waitFor(created.tasks[0].id);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const mine = items.filter((item) => item.task_id === done.id);
      expect(mine.length).toBeGreaterThan(1);
      expect(mine.map((item) => item.seq)).toEqual(mine.map((_, i) => i));
      expect(mine.every((item) => item.attempt === 1 && item.correlation?.post_id === 'p-9')).toBe(true);
      expect(mine.map((item) => item.text).join('')).toBe(done.output_text);
    } finally {
      await listener.end();
    }
  });

  it('uses a new key as soon as the registry changes it, and fails tasks of a disabled provider', async () => {
    const { provider, model } = await h.provider();
    const first = await h.createTask({ model_id: model, messages: [{ role: 'user', content: 'old key' }] });
    await h.waitFor(first.tasks[0].id);
    const changed = await h.call('registry', 'PATCH', `/api/v1/providers/${provider}`, { api_key: 'sk-rotated-key-9876543210' });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    await h.waitForCopy(provider, changed.body.updated_at);
    const second = await h.createTask({ model_id: model, messages: [{ role: 'user', content: 'new key' }] });
    await h.waitFor(second.tasks[0].id);
    const last = emulator.requests.filter((r) => JSON.stringify(r.body).includes('new key')).at(-1);
    expect(last?.headers.authorization).toBe('Bearer sk-rotated-key-9876543210');

    await h.pauseProvider(provider);
    const third = await h.createTask({ model_id: model, messages: [{ role: 'user', content: 'disabled soon' }] });
    const off = await h.call('registry', 'PATCH', `/api/v1/providers/${provider}`, { enabled: false });
    expect(off.status).toBe(200);
    await h.waitForCopy(provider, off.body.updated_at);
    await h.resumeProvider(provider);
    const done = await h.waitFor(third.tasks[0].id);
    expect(done.status).toBe('failed');
    expect(done.error.kind).toBe('unavailable');
  });
});
