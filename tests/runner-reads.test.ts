/**
 * The read side of the runner's API (docs/tasks.md), through the gateway as a viewer: the task list with
 * every filter, pages, full-text search over outputs and correlation containment; a task with its
 * attempts, images and retries, and `Server-Timing`; a synchronous read (`wait`) that answers as soon as
 * the task ends, or with its current state when the time is up; task groups; usage rolled up by day in
 * a time zone and by model with names; image bytes. Tasks are written straight into runner.* so these
 * reads are pinned down apart from how tasks get made.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { createPool, type Pool } from '@llmops/kit/db';
import { uuidv7 } from '@llmops/kit/ids';
import type { TaskDetailSchema, TaskGroupSchema, TaskPageSchema, UsageReportSchema } from '@llmops/kit/contracts/runner';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { startGateway, type GatewayHarness } from './gateway-support.ts';

const db = await useTestDatabase();

type Page = z.output<typeof TaskPageSchema>;
type Detail = z.output<typeof TaskDetailSchema>;
type Group = z.output<typeof TaskGroupSchema>;
type Usage = z.output<typeof UsageReportSchema>;

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'rejected']);

interface TaskSeed {
  status?: 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'rejected';
  kind?: 'chat' | 'image';
  group_id?: string | null;
  retry_of?: string | null;
  correlation?: Record<string, unknown> | null;
  template?: { id: string; version: number; label: string | null } | null;
  preset_id?: string | null;
  model_id?: string | null;
  provider_id?: string | null;
  output_text?: string | null;
  usage?: { input_tokens: number; output_tokens: number; cached_input_tokens: number } | null;
  cost_usd?: string;
  /** RFC 3339; default now(). */
  created_at?: string;
  timing?: { queue_wait_ms: number; provider_ms: number; overhead_ms: number };
  inputs?: Record<string, unknown>;
  error?: Record<string, unknown> | null;
  problems?: { field: string; message: string }[] | null;
}

describe('the runner’s task reads', () => {
  let gw: GatewayHarness;
  let admin: Pool;
  let auth: Record<string, string>;
  const providerA = uuidv7();
  const providerB = uuidv7();
  const modelA = uuidv7();
  const modelB = uuidv7();
  const template = uuidv7();
  const preset = uuidv7();

  /**
   * Writes a task row as a runner would have left it in `status`. The stack's own worker must leave them
   * alone: queued ones are due tomorrow (in backoff), running ones hold a long lease of another process.
   */
  async function seedTask(seed: TaskSeed = {}): Promise<string> {
    const id = uuidv7();
    const status = seed.status ?? 'succeeded';
    const modelId = seed.model_id === undefined ? modelA : seed.model_id;
    const snapshot = {
      messages: [{ role: 'user', content: `Write a title for task ${id}` }],
      parameters: { temperature: 0.2 },
      chain: [],
      retry_policy: { max_attempts: 3, initial_backoff_ms: 100, max_backoff_ms: 1000, backoff_multiplier: 2 },
      timeouts: { first_byte_ms: null, idle_ms: null },
      image: null,
      estimated_input_tokens: 12,
      rendered: false,
    };
    await admin.query(
      `INSERT INTO runner.tasks (id, group_id, retry_of, requester, source, status, kind, correlation, template_id,
         template_version, template_label, part_versions, preset_id, inputs, snapshot, model_id, provider_id,
         lease_owner, lease_expires_at, run_after, output_text, finish_reason, usage, cost_usd, error, problems,
         queue_wait_ms, provider_ms, overhead_ms, created_at, started_at, finished_at)
       VALUES ($1, $2, $3, 'account:test', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
         CASE WHEN $5 = 'running' THEN 'elsewhere-1' END, CASE WHEN $5 = 'running' THEN now() + interval '1 hour' END,
         CASE WHEN $5 = 'queued' THEN now() + interval '1 day' ELSE now() END,
         $17, CASE WHEN $5 = 'succeeded' THEN 'stop' END, $18, $19, $20, $21, $22, $23, $24,
         coalesce($25::timestamptz, now()),
         CASE WHEN $5 NOT IN ('queued', 'rejected') THEN coalesce($25::timestamptz, now()) END,
         CASE WHEN $26 THEN coalesce($25::timestamptz, now()) + interval '1.5 seconds' END)`,
      [
        id,
        seed.group_id ?? null,
        seed.retry_of ?? null,
        seed.retry_of ? 'retry' : 'api',
        status,
        seed.kind ?? 'chat',
        seed.correlation === undefined || seed.correlation === null ? null : JSON.stringify(seed.correlation),
        seed.template?.id ?? null,
        seed.template?.version ?? null,
        seed.template?.label ?? null,
        JSON.stringify(seed.template ? [{ part_id: template, version: 2 }] : []),
        seed.preset_id ?? null,
        JSON.stringify(seed.inputs ?? {}),
        JSON.stringify(snapshot),
        modelId,
        seed.provider_id === undefined ? (modelId === modelB ? providerB : modelId ? providerA : null) : seed.provider_id,
        seed.output_text ?? null,
        seed.usage ? JSON.stringify(seed.usage) : null,
        seed.cost_usd ?? '0',
        seed.error ? JSON.stringify(seed.error) : null,
        seed.problems ? JSON.stringify(seed.problems) : null,
        seed.timing?.queue_wait_ms ?? 0,
        seed.timing?.provider_ms ?? 0,
        seed.timing?.overhead_ms ?? 0,
        seed.created_at ?? null,
        TERMINAL.has(status),
      ],
    );
    return id;
  }

  /** Writes attempt `number` of a task; returns its id. */
  async function seedAttempt(
    taskId: string,
    number: number,
    fields: { status: 'succeeded' | 'failed'; cost_usd: string; model_id?: string; response_text?: string | null },
  ): Promise<string> {
    const id = uuidv7();
    const modelId = fields.model_id ?? modelA;
    await admin.query(
      `INSERT INTO runner.attempts (id, task_id, number, model_index, model_id, provider_id, provider_model_id, worker,
         status, request, wire, response_text, finish_reason, usage, price, cost_usd, error, queue_wait_ms, provider_ms,
         overhead_ms, latency_ms, time_to_first_token_ms, started_at, ended_at)
       VALUES ($1, $2, $3, 0, $4, $5, $6, 'worker-1', $7, $8, $9, $10, $11, $12, $13, $14, $15, 5, 800, 12, 812, 150,
         now() - interval '2 seconds', now() - interval '1 second')`,
      [
        id,
        taskId,
        number,
        modelId,
        modelId === modelB ? providerB : providerA,
        modelId === modelB ? 'model-b' : 'model-a',
        fields.status,
        JSON.stringify({ model: 'model-a', messages: [{ role: 'user', content: 'Write a title' }], parameters: {} }),
        JSON.stringify({
          method: 'POST',
          url: 'http://127.0.0.1:1/v1/chat/completions',
          headers: { 'content-type': 'application/json' },
          body: '{"model":"model-a"}',
        }),
        fields.response_text ?? null,
        fields.status === 'succeeded' ? 'stop' : null,
        JSON.stringify({ input_tokens: 12, output_tokens: 7, cached_input_tokens: 0 }),
        JSON.stringify({
          input_per_mtok: '2.500000',
          output_per_mtok: '10.000000',
          cached_input_per_mtok: null,
          per_image: null,
          effective_from: '2025-01-01T00:00:00.000Z',
        }),
        fields.cost_usd,
        fields.status === 'failed'
          ? JSON.stringify({
              kind: 'rate_limit',
              message: 'slow down',
              retryable: true,
              status: 429,
              retry_after_ms: 1000,
              provider_code: null,
            })
          : null,
      ],
    );
    // As the claim keeps them: a task's `attempts` is the number of its last attempt (the usage rollup counts it).
    await admin.query('UPDATE runner.tasks SET attempts = greatest(attempts, $2) WHERE id = $1', [taskId, number]);
    return id;
  }

  async function read<T>(path: string): Promise<{ status: number; body: T; response: Response }> {
    const response = await gw.api(path, { headers: auth });
    return { status: response.status, body: (await response.json()) as T, response };
  }

  const list = async (query: string): Promise<string[]> => {
    const { status, body } = await read<Page>(`/api/v1/tasks?${query}`);
    expect(status, query).toBe(200);
    return body.items.map((task) => task.id);
  };

  beforeAll(async () => {
    admin = createPool({ connectionString: db.adminUrl, applicationName: 'test-seed', max: 4 });
    await admin.query(
      `INSERT INTO runner.providers (id, name, kind, timeout_ms, enabled, updated_at)
       VALUES ($1, 'Alpha Cloud', 'openai', 60000, true, now()), ($2, 'Beta Local', 'ollama', 60000, true, now())`,
      [providerA, providerB],
    );
    await admin.query(
      `INSERT INTO runner.models (id, provider_id, provider_kind, provider_model_id, display_name, modality, enabled, updated_at)
       VALUES ($1, $2, 'openai', 'model-a', 'Model A', 'chat', true, now()), ($3, $4, 'ollama', 'model-b', 'Model B', 'chat', true, now())`,
      [modelA, providerA, modelB, providerB],
    );
    gw = await startGateway(db, { services: ['runner'] });
    const viewer = await gw.caller('viewer');
    auth = { authorization: `Bearer ${viewer.token}` };
  });
  afterAll(async () => {
    await gw?.stop();
    await admin?.end();
  });

  describe('the list', () => {
    const ids: Record<string, string> = {};
    let group: string;

    beforeAll(async () => {
      group = uuidv7();
      await admin.query(`INSERT INTO runner.task_groups (id, requester, correlation) VALUES ($1, 'account:test', $2)`, [
        group,
        JSON.stringify({ post_id: 'p-2' }),
      ]);
      ids.title = await seedTask({
        template: { id: template, version: 3, label: 'production' },
        preset_id: preset,
        correlation: { post_id: 'p-1', field: 'title', meta: { lang: 'en', tags: ['a', 'b'] } },
        output_text: 'The quick brown fox jumps over the lazy dog',
        created_at: '2025-02-01T10:00:00Z',
      });
      ids.summary = await seedTask({
        status: 'failed',
        model_id: modelB,
        correlation: { post_id: 'p-1', field: 'summary' },
        error: { kind: 'auth', message: 'bad key', retryable: false, status: 401, retry_after_ms: null, provider_code: null },
        created_at: '2025-02-02T10:00:00Z',
      });
      ids.queued = await seedTask({
        status: 'queued',
        template: { id: template, version: 4, label: 'latest' },
        group_id: group,
        correlation: { post_id: 'p-2' },
        created_at: '2025-02-03T10:00:00Z',
      });
      ids.running = await seedTask({
        status: 'running',
        model_id: modelB,
        group_id: group,
        correlation: { post_id: 'p-2' },
        created_at: '2025-02-04T10:00:00Z',
      });
      ids.retry = await seedTask({
        status: 'cancelled',
        retry_of: ids.title,
        output_text: 'A quick red fox',
        created_at: '2025-02-05T10:00:00Z',
      });
      ids.rejected = await seedTask({
        status: 'rejected',
        model_id: null,
        problems: [{ field: 'body.inputs.topic', message: 'required' }],
        created_at: '2025-02-06T10:00:00Z',
      });
    });

    it('lists newest first (id order), page by page with next_cursor, every task once', async () => {
      const all = await list('limit=200');
      const seeded = Object.values(ids);
      expect(all.filter((id) => seeded.includes(id))).toEqual([...seeded].reverse());
      expect([...all].sort().reverse()).toEqual(all);

      const paged: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = `limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const { body }: { body: Page } = await read<Page>(`/api/v1/tasks?${query}`);
        expect(body.items.length).toBeLessThanOrEqual(2);
        paged.push(...body.items.map((task) => task.id));
        cursor = body.next_cursor;
        pages += 1;
      } while (cursor !== null && pages < 100);
      expect(paged).toEqual(all);
      expect(pages).toBe(Math.ceil(all.length / 2));

      const bad = await read<{ errors: { field: string }[] }>('/api/v1/tasks?cursor=not-a-cursor');
      expect(bad.status).toBe(400);
      expect(bad.body.errors.map((e) => e.field)).toEqual(['query.cursor']);
    });

    it('filters by status, template, label, model, provider, preset, group, retry_of and creation time', async () => {
      expect(await list('status=failed,cancelled')).toEqual([ids.retry, ids.summary]);
      expect(await list('status=queued')).toEqual([ids.queued]);
      expect(await list(`template_id=${template}`)).toEqual([ids.queued, ids.title]);
      expect(await list(`template_id=${template}&label=production`)).toEqual([ids.title]);
      expect(await list('label=latest')).toEqual([ids.queued]);
      expect(await list(`model_id=${modelB}`)).toEqual([ids.running, ids.summary]);
      expect(await list(`provider_id=${providerB}`)).toEqual([ids.running, ids.summary]);
      expect(await list(`preset_id=${preset}`)).toEqual([ids.title]);
      expect(await list(`group_id=${group}`)).toEqual([ids.running, ids.queued]);
      expect(await list(`retry_of=${ids.title}`)).toEqual([ids.retry]);
      expect(await list(`model_id=${modelB}&status=running`)).toEqual([ids.running]);
      const window = `created_after=${encodeURIComponent('2025-02-02T10:00:00Z')}&created_before=${encodeURIComponent('2025-02-04T10:00:00Z')}`;
      expect(await list(window)).toEqual([ids.queued, ids.summary]);
      expect(await list(`${window}&status=queued`)).toEqual([ids.queued]);
      expect(await list(`${window}&status=failed,cancelled`)).toEqual([ids.summary]);
      expect(await list(`${window}&limit=1`)).toEqual([ids.queued]);
      expect(
        await list(`created_after=${encodeURIComponent('2025-02-06T11:00:00+01:00')}&created_before=2025-02-07T00:00:00Z`),
      ).toEqual([ids.rejected]);

      const bad = await read<{ errors: { field: string }[] }>('/api/v1/tasks?status=done&model_id=nope');
      expect(bad.status).toBe(400);
      expect(bad.body.errors.map((e) => e.field).sort()).toEqual(['query.model_id', 'query.status']);
    });

    it('finds tasks whose output has all the words (q), and leaves outputs out when asked', async () => {
      expect(await list('q=fox')).toEqual([ids.retry, ids.title]);
      expect(await list('q=QUICK%20brown')).toEqual([ids.title]);
      expect(await list('q=fox%20cat')).toEqual([]);
      expect(await list('q=fox&status=succeeded')).toEqual([ids.title]);

      const full = await read<Page>(`/api/v1/tasks?retry_of=${ids.title}`);
      expect(full.body.items[0]?.output_text).toBe('A quick red fox');
      const lean = await read<Page>(`/api/v1/tasks?retry_of=${ids.title}&include_output=false`);
      expect(lean.body.items[0]?.id).toBe(ids.retry);
      expect(lean.body.items[0]?.output_text).toBeNull();
      expect(lean.body.items[0]?.status).toBe('cancelled');
    });

    it('finds tasks whose correlation contains a JSON object; anything else is a 400 naming query.correlation', async () => {
      const by = (value: unknown) => list(`correlation=${encodeURIComponent(JSON.stringify(value))}`);
      expect(await by({ post_id: 'p-1' })).toEqual([ids.summary, ids.title]);
      expect(await by({ field: 'title', post_id: 'p-1' })).toEqual([ids.title]);
      expect(await by({ post_id: 'p-1', field: 'body' })).toEqual([]);
      expect(await by({ meta: { lang: 'en' } })).toEqual([ids.title]);
      expect(await by({ post_id: 'p-2' })).toEqual([ids.running, ids.queued]);
      expect(await by({})).toEqual(expect.arrayContaining([ids.title, ids.summary, ids.queued, ids.running]));

      for (const malformed of ['post-1', '["p-1"]', '"p-1"', '{"post_id":']) {
        const bad = await read<{ status: number; errors: { field: string }[] }>(
          `/api/v1/tasks?correlation=${encodeURIComponent(malformed)}`,
        );
        expect(bad.status, malformed).toBe(400);
        expect(bad.response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
        expect(bad.body.errors.map((e) => e.field)).toEqual(['query.correlation']);
      }
    });

    it('shows a task group with its tasks in creation order', async () => {
      const { status, body } = await read<Group>(`/api/v1/task-groups/${group}`);
      expect(status).toBe(200);
      expect(body.id).toBe(group);
      expect(body.correlation).toEqual({ post_id: 'p-2' });
      expect(body.tasks.map((task) => task.id)).toEqual([ids.queued, ids.running]);
      expect(body.tasks.map((task) => task.status)).toEqual(['queued', 'running']);
      expect((await read(`/api/v1/task-groups/${uuidv7()}`)).status).toBe(404);
    });
  });

  describe('one task', () => {
    it('shows the task with its snapshot, lineage, attempts in order, images, retries and Server-Timing', async () => {
      const id = await seedTask({
        kind: 'image',
        template: { id: template, version: 5, label: null },
        inputs: { topic: 'owls' },
        usage: { input_tokens: 24, output_tokens: 14, cached_input_tokens: 0 },
        cost_usd: '0.000290000000',
        timing: { queue_wait_ms: 12, provider_ms: 1600, overhead_ms: 21 },
      });
      const second = await seedAttempt(id, 2, { status: 'succeeded', cost_usd: '0.000200', response_text: 'owl' });
      const first = await seedAttempt(id, 1, { status: 'failed', cost_usd: '0.000090' });
      const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0x10, 0x80]);
      await admin.query(
        `INSERT INTO runner.images (id, task_id, attempt_id, index, content_type, size_bytes, revised_prompt, data)
         VALUES ($1, $2, $3, 1, 'image/webp', 3, null, $4), ($5, $2, $3, 0, 'image/png', $6, 'An owl at dusk', $7)`,
        [uuidv7(), id, second, Buffer.from([1, 2, 3]), uuidv7(), png.length, png],
      );
      const retryA = await seedTask({ status: 'queued', retry_of: id });
      const retryB = await seedTask({ status: 'queued', retry_of: id });

      const { status, body, response } = await read<Detail>(`/api/v1/tasks/${id}`);
      expect(status).toBe(200);
      expect(response.headers.get('server-timing')).toBe('queue;dur=12, provider;dur=1600, overhead;dur=21');
      expect(body).toMatchObject({
        id,
        status: 'succeeded',
        kind: 'image',
        template: { id: template, version: 5, label: null },
        inputs: { topic: 'owls' },
        part_versions: [{ part_id: template, version: 2 }],
        usage: { input_tokens: 24, output_tokens: 14, cached_input_tokens: 0 },
        cost_usd: '0.000290000000',
        timing: { queue_wait_ms: 12, provider_ms: 1600, overhead_ms: 21, total_ms: 1500 },
      });
      expect((body.snapshot as { messages: unknown[] }).messages).toHaveLength(1);
      expect(body.attempts.map((a) => [a.number, a.id, a.status])).toEqual([
        [1, first, 'failed'],
        [2, second, 'succeeded'],
      ]);
      expect(body.attempts[0]).toMatchObject({
        cost_usd: '0.000090000000',
        error: { kind: 'rate_limit', status: 429, retry_after_ms: 1000 },
        price: {
          input_per_mtok: '2.500000000000',
          output_per_mtok: '10.000000000000',
          cached_input_per_mtok: null,
          effective_from: '2025-01-01T00:00:00.000Z',
        },
        wire: {
          method: 'POST',
          url: 'http://127.0.0.1:1/v1/chat/completions',
          headers: { 'content-type': 'application/json' },
          body: '{"model":"model-a"}',
        },
        latency_ms: 812,
      });
      expect(body.attempts[1]?.response_text).toBe('owl');
      expect(body.images).toEqual([
        {
          index: 0,
          content_type: 'image/png',
          size_bytes: png.length,
          revised_prompt: 'An owl at dusk',
          url: `/api/v1/tasks/${id}/images/0`,
        },
        { index: 1, content_type: 'image/webp', size_bytes: 3, revised_prompt: null, url: `/api/v1/tasks/${id}/images/1` },
      ]);
      expect(body.retries).toEqual([retryA, retryB]);

      // The image's bytes, through the gateway, exactly as stored.
      const image = await gw.api(body.images[0]?.url ?? '', { headers: auth });
      expect(image.status).toBe(200);
      expect(image.headers.get('content-type')).toBe('image/png');
      expect(image.headers.get('content-length')).toBe(String(png.length));
      expect(image.headers.get('cache-control')).toBe('private, max-age=31536000, immutable');
      expect(Buffer.from(await image.arrayBuffer()).equals(png)).toBe(true);
      const webp = await gw.api(`/api/v1/tasks/${id}/images/1`, { headers: auth });
      expect(webp.headers.get('content-type')).toBe('image/webp');
      expect([...new Uint8Array(await webp.arrayBuffer())]).toEqual([1, 2, 3]);
      expect((await gw.api(`/api/v1/tasks/${id}/images/2`, { headers: auth })).status).toBe(404);
      expect((await gw.api(`/api/v1/tasks/${uuidv7()}/images/0`, { headers: auth })).status).toBe(404);
      expect((await gw.api(`/api/v1/tasks/${id}/images/first`, { headers: auth })).status).toBe(400);
    });

    it('answers 404 for an unknown task, 400 naming the id for a bad one, 401 without credentials', async () => {
      const missing = await read<{ status: number }>(`/api/v1/tasks/${uuidv7()}`);
      expect(missing.status).toBe(404);
      expect(missing.response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const bad = await read<{ errors: { field: string }[] }>('/api/v1/tasks/not-a-uuid');
      expect(bad.status).toBe(400);
      expect(bad.body.errors.map((e) => e.field)).toEqual(['param.id']);
      expect((await read('/api/v1/task-groups/not-a-uuid')).status).toBe(400);
      expect((await fetch(`${gw.url}/api/v1/tasks`)).status).toBe(401);
      const badWait = await read<{ errors: { field: string }[] }>(`/api/v1/tasks/${uuidv7()}?wait=61`);
      expect(badWait.status).toBe(400);
      expect(badWait.body.errors.map((e) => e.field)).toEqual(['query.wait']);
    });

    it('waits (wait=N) until the task ends, and answers with its new state as soon as it has', async () => {
      const id = await seedTask({ status: 'running' });
      const started = Date.now();
      const reading = read<Detail>(`/api/v1/tasks/${id}?wait=30`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await admin.query(
        `UPDATE runner.tasks SET status = 'succeeded', lease_owner = NULL, lease_expires_at = NULL,
           output_text = 'Done at last', finished_at = now(), updated_at = now() WHERE id = $1`,
        [id],
      );
      const { status, body } = await reading;
      const elapsed = Date.now() - started;
      expect(status).toBe(200);
      expect(body.status).toBe('succeeded');
      expect(body.output_text).toBe('Done at last');
      // It answered because the task ended, long before the 30 s were up.
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(20_000);
    });

    it('answers with the current state when the wait is over and the task still runs; at once when it has ended', async () => {
      const id = await seedTask({ status: 'queued' });
      const started = Date.now();
      const { status, body } = await read<Detail>(`/api/v1/tasks/${id}?wait=1`);
      expect(status).toBe(200);
      expect(body.status).toBe('queued');
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);

      const ended = await seedTask({ status: 'failed' });
      const before = Date.now();
      const answer = await read<Detail>(`/api/v1/tasks/${ended}?wait=60`);
      expect(answer.body.status).toBe('failed');
      expect(Date.now() - before).toBeLessThan(30_000);
    });
  });

  describe('usage', () => {
    const from = '2025-03-01T20:00:00Z';
    const to = '2025-03-02T04:00:00Z';
    const usageOf = (query: string) => read<Usage>(`/api/v1/usage?from=${from}&to=${to}&${query}`);

    beforeAll(async () => {
      // Around midnight: UTC and Berlin (UTC+1 in March) put them on different days.
      const late = await seedTask({
        created_at: '2025-03-01T22:30:00Z',
        usage: { input_tokens: 100, output_tokens: 50, cached_input_tokens: 10 },
        cost_usd: '0.001500000000',
      });
      await seedAttempt(late, 1, { status: 'failed', cost_usd: '0.000500' });
      await seedAttempt(late, 2, { status: 'succeeded', cost_usd: '0.001000' });
      const night = await seedTask({
        status: 'failed',
        model_id: modelB,
        created_at: '2025-03-01T23:30:00Z',
        usage: { input_tokens: 20, output_tokens: 0, cached_input_tokens: 0 },
        cost_usd: '0.000100000000',
      });
      await seedAttempt(night, 1, { status: 'failed', cost_usd: '0.000100', model_id: modelB });
      const early = await seedTask({
        created_at: '2025-03-02T00:30:00Z',
        template: { id: template, version: 1, label: 'latest' },
        usage: { input_tokens: 1, output_tokens: 2, cached_input_tokens: 0 },
        cost_usd: '0.000020000000',
      });
      await seedAttempt(early, 1, { status: 'succeeded', cost_usd: '0.000020' });
      await seedTask({ status: 'rejected', model_id: null, created_at: '2025-03-02T01:00:00Z' });
      // Outside the window: never counted.
      await seedTask({ created_at: '2025-03-02T04:00:00Z', cost_usd: '5' });
    });

    it('rolls up by day in the given time zone, with the total', async () => {
      const berlin = await usageOf('group_by=day&tz=Europe/Berlin');
      expect(berlin.status).toBe(200);
      expect(berlin.body).toMatchObject({
        group_by: 'day',
        tz: 'Europe/Berlin',
        from: '2025-03-01T20:00:00.000Z',
        to: '2025-03-02T04:00:00.000Z',
      });
      expect(berlin.body.rows).toEqual([
        {
          key: '2025-03-01',
          label: null,
          tasks: 1,
          succeeded: 1,
          failed: 0,
          attempts: 2,
          input_tokens: 100,
          output_tokens: 50,
          cached_input_tokens: 10,
          cost_usd: '0.001500000000',
        },
        {
          key: '2025-03-02',
          label: null,
          tasks: 3,
          succeeded: 1,
          failed: 1,
          attempts: 2,
          input_tokens: 21,
          output_tokens: 2,
          cached_input_tokens: 0,
          cost_usd: '0.000120000000',
        },
      ]);
      expect(berlin.body.total).toEqual({
        key: null,
        label: null,
        tasks: 4,
        succeeded: 2,
        failed: 1,
        attempts: 4,
        input_tokens: 121,
        output_tokens: 52,
        cached_input_tokens: 10,
        cost_usd: '0.001620000000',
      });

      const utc = await usageOf('group_by=day');
      expect(utc.body.tz).toBe('UTC');
      expect(utc.body.rows.map((row) => [row.key, row.tasks, row.cost_usd])).toEqual([
        ['2025-03-01', 2, '0.001600000000'],
        ['2025-03-02', 2, '0.000020000000'],
      ]);
      expect(utc.body.total.cost_usd).toBe('0.001620000000');
    });

    it('rolls up by model and provider with their names, by template without', async () => {
      const byModel = await usageOf('group_by=model');
      expect(byModel.status).toBe(200);
      // Costliest first.
      expect(byModel.body.rows.map((row) => [row.key, row.label, row.tasks, row.attempts, row.cost_usd])).toEqual([
        [modelA, 'Model A', 2, 3, '0.001520000000'],
        [modelB, 'Model B', 1, 1, '0.000100000000'],
        [null, null, 1, 0, '0.000000000000'],
      ]);
      const byProvider = await usageOf('group_by=provider');
      expect(byProvider.body.rows.map((row) => [row.key, row.label, row.tasks])).toEqual([
        [providerA, 'Alpha Cloud', 2],
        [providerB, 'Beta Local', 1],
        [null, null, 1],
      ]);
      const byTemplate = await usageOf('group_by=template');
      expect(byTemplate.body.rows.map((row) => [row.key, row.label, row.tasks, row.cost_usd])).toEqual([
        [null, null, 3, '0.001600000000'],
        [template, null, 1, '0.000020000000'],
      ]);
      expect(byTemplate.body.total.tasks).toBe(4);

      expect(byModel.body.split_by).toBeNull();
      expect(byModel.body.rows[0]).not.toHaveProperty('split');

      const empty = await read<Usage>('/api/v1/usage?from=2001-01-01T00:00:00Z&to=2001-01-02T00:00:00Z');
      expect(empty.body.rows).toEqual([]);
      expect(empty.body.total).toMatchObject({ key: null, tasks: 0, attempts: 0, cost_usd: '0.000000000000' });

      const badZone = await read<{ errors: { field: string }[] }>('/api/v1/usage?tz=Mars/Olympus');
      expect(badZone.status).toBe(400);
      expect(badZone.body.errors.map((e) => e.field)).toEqual(['query.tz']);
    });

    it('splits each line by a second dimension, with names, the splits adding up to their line', async () => {
      const byDay = await usageOf('group_by=day&split_by=model');
      expect(byDay.status).toBe(200);
      expect(byDay.body.split_by).toBe('model');
      const shape = (row: Usage['rows'][number]) =>
        (row.split ?? []).map((part) => [part.key, part.label, part.tasks, part.cost_usd]);
      expect(byDay.body.rows.map((row) => [row.key, row.cost_usd, shape(row)])).toEqual([
        [
          '2025-03-01',
          '0.001600000000',
          [
            [modelA, 'Model A', 1, '0.001500000000'],
            [modelB, 'Model B', 1, '0.000100000000'],
          ],
        ],
        [
          '2025-03-02',
          '0.000020000000',
          [
            [modelA, 'Model A', 1, '0.000020000000'],
            [null, null, 1, '0.000000000000'],
          ],
        ],
      ]);
      // The window's total is split the same way.
      expect(shape(byDay.body.total)).toEqual([
        [modelA, 'Model A', 2, '0.001520000000'],
        [modelB, 'Model B', 1, '0.000100000000'],
        [null, null, 1, '0.000000000000'],
      ]);

      const byTemplate = await usageOf('group_by=template&split_by=provider');
      expect(byTemplate.body.rows.map((row) => [row.key, shape(row)])).toEqual([
        [
          null,
          [
            [providerA, 'Alpha Cloud', 1, '0.001500000000'],
            [providerB, 'Beta Local', 1, '0.000100000000'],
            [null, null, 1, '0.000000000000'],
          ],
        ],
        [template, [[providerA, 'Alpha Cloud', 1, '0.000020000000']]],
      ]);

      const same = await read<{ errors: { field: string }[] }>('/api/v1/usage?group_by=model&split_by=model');
      expect(same.status).toBe(400);
      expect(same.body.errors.map((e) => e.field)).toEqual(['query.split_by']);
      const unknown = await read<{ errors: { field: string }[] }>('/api/v1/usage?split_by=day');
      expect(unknown.status).toBe(400);
      expect(unknown.body.errors.map((e) => e.field)).toEqual(['query.split_by']);
    });
  });

  describe('a search past the 10,000 newest tasks', () => {
    const far: string[] = [];
    beforeAll(async () => {
      // 10,050 tasks newer than the others; only the two oldest of them have the word and the correlation.
      const ids = Array.from({ length: 10_050 }, () => uuidv7());
      far.push(ids[1] as string, ids[0] as string);
      await admin.query(
        `INSERT INTO runner.tasks (id, requester, source, status, kind, inputs, snapshot, output_text, correlation, finished_at)
         SELECT u.id, 'account:test', 'api', 'succeeded', 'chat', '{}', '{"chain": []}',
           CASE WHEN u.n <= 2 THEN 'a zebra crossing' ELSE 'plain words' END,
           CASE WHEN u.n <= 2 THEN '{"post_id": "p-far"}'::jsonb END, now()
         FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, n)`,
        [ids],
      );
    });
    afterAll(async () => {
      await admin.query(`DELETE FROM runner.tasks WHERE output_text IN ('a zebra crossing', 'plain words')`);
    });

    it('finds a rare word or correlation among older tasks, page by page, and a common one among the newest', async () => {
      expect(await list('q=zebra')).toEqual(far);
      expect(await list(`correlation=${encodeURIComponent('{"post_id":"p-far"}')}`)).toEqual(far);
      const first = await read<Page>('/api/v1/tasks?q=zebra&limit=1');
      expect(first.body.items.map((item) => item.id)).toEqual([far[0]]);
      const second = await read<Page>(`/api/v1/tasks?q=zebra&limit=1&cursor=${first.body.next_cursor}`);
      expect(second.body.items.map((item) => item.id)).toEqual([far[1]]);
      expect(second.body.next_cursor).toBeNull();
      const common = await list('q=plain&limit=3');
      expect(common).toHaveLength(3);
      expect(common.every((id) => !far.includes(id))).toBe(true);
      expect([...common].sort().reverse()).toEqual(common);
    });
  });
});
