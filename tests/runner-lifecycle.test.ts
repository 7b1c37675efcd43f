/**
 * Task creation and lifecycle against the real registry, prompt service and runner, with the provider
 * emulator behind the official SDKs: templates and lineage, every validation problem at once,
 * idempotency, groups, retries with backoff, fallback, stream cuts, cancel and retry.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createPool } from '@llmops/kit/db';
import { publish } from '@llmops/kit/bus/index';
import { taskRequested } from '@llmops/kit/events/runner';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { startEmulator } from '@llmops/emulator/server';
import { startRunnerHarness, type Json } from './runner-support.ts';

const db = await useTestDatabase();
const emulator = await startEmulator();
const h = await startRunnerHarness(db, emulator);
afterAll(async () => {
  await h.stop();
  await emulator.stop();
});
beforeEach(() => emulator.clearFaults());

async function preset(body: Record<string, unknown>): Promise<string> {
  const created = await h.call('registry', 'POST', '/api/v1/presets', { name: `preset ${Math.random()}`, ...body });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body.id;
}

async function events(taskId: string): Promise<Json[]> {
  const { rows } = await h.admin.query(
    `SELECT topic, payload FROM bus.outbox WHERE payload->>'task_id' = $1 AND topic LIKE 'runner.task.%' ORDER BY id`,
    [taskId],
  );
  return rows;
}

async function publishedTemplate(defaults: Record<string, unknown> = {}): Promise<{ id: string; version: number }> {
  const part = await h.call('prompt', 'POST', '/api/v1/parts', {
    name: `tone ${Math.random()}`,
    kind: 'style',
    content: 'Answer in the tone of a {{ tone }} editor.',
  });
  expect(part.status, JSON.stringify(part.body)).toBe(201);
  const partVersion = await h.call('prompt', 'POST', `/api/v1/parts/${part.body.id}/publish`, {});
  expect(partVersion.status, JSON.stringify(partVersion.body)).toBe(201);
  const template = await h.call('prompt', 'POST', '/api/v1/templates', {
    name: `headline ${Math.random()}`,
    variables: [
      { name: 'topic', type: 'string' },
      { name: 'tone', type: 'string' },
    ],
    messages: [
      { role: 'system', entries: [{ type: 'part', part_id: part.body.id }] },
      { role: 'user', entries: [{ type: 'text', text: 'Write a headline about {{ topic }}' }] },
    ],
    ...defaults,
  });
  expect(template.status, JSON.stringify(template.body)).toBe(201);
  const published = await h.call('prompt', 'POST', `/api/v1/templates/${template.body.id}/publish`, {});
  expect(published.status, JSON.stringify(published.body)).toBe(201);
  return { id: template.body.id, version: published.body.version };
}

describe('creating tasks', () => {
  it('renders a published template and records its lineage and exactly what is sent', async () => {
    const { model } = await h.provider();
    const template = await publishedTemplate();
    const created = await h.createTask({
      template_id: template.id,
      inputs: { topic: 'sourdough', tone: 'friendly' },
      model_id: model,
    });
    const task = created.tasks[0];
    expect(task.template).toEqual({ id: template.id, version: template.version, label: null });
    const done = await h.waitFor(task.id);
    expect(done.status).toBe('succeeded');
    expect(done.snapshot.messages).toEqual([
      { role: 'system', content: 'Answer in the tone of a friendly editor.' },
      { role: 'user', content: 'Write a headline about sourdough' },
    ]);
    expect(done.part_versions).toHaveLength(1);
    expect(done.output_text).toBe('You said: Write a headline about sourdough');
    const [attempt] = await h.attempts(task.id);
    expect(JSON.parse(attempt.wire.body).messages).toEqual([
      { role: 'system', content: 'Answer in the tone of a friendly editor.' },
      { role: 'user', content: 'Write a headline about sourdough' },
    ]);
    expect(attempt.request).toMatchObject({ model: 'emu-gpt-small', messages: done.snapshot.messages });
  });

  it('lists every problem at once in a 422 and creates nothing', async () => {
    const { model } = await h.provider();
    const disabled = await h.provider();
    const off = await h.call('registry', 'PATCH', `/api/v1/models/${disabled.model}`, { enabled: false });
    expect(off.status).toBe(200);
    // The runner decides from its copy of the registry, which follows the registry's events.
    await expect
      .poll(
        async () => (await h.admin.query('SELECT enabled FROM runner.models WHERE id = $1', [disabled.model])).rows[0]?.enabled,
        {
          timeout: 10_000,
        },
      )
      .toBe(false);
    const template = await publishedTemplate();
    const before = await h.admin.query('SELECT count(*)::int AS n FROM runner.tasks');
    const refused = await h.call('runner', 'POST', '/api/v1/tasks', {
      template_id: template.id,
      inputs: { topic: 'bread' },
      model_ids: [model, disabled.model],
      parameters: { top_k: 5 },
    });
    expect(refused.status).toBe(422);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    const fields = refused.body.errors.map((e: Json) => e.field);
    expect(fields).toContain('body.inputs.tone');
    expect(fields).toContain('body.model_ids[1]');
    expect(fields).toContain('body.parameters.top_k');
    expect(refused.body.errors.find((e: Json) => e.field === 'body.model_ids[1]').message).toMatch(/disabled/);
    const after = await h.admin.query('SELECT count(*)::int AS n FROM runner.tasks');
    expect(after.rows[0].n).toBe(before.rows[0].n);
  });

  it('an unknown label is the one problem, also on a template whose default model would run it', async () => {
    const { model } = await h.provider();
    const template = await publishedTemplate({ default_model_id: model });
    const inputs = { topic: 'rye', tone: 'calm' };
    const refused = await h.call('runner', 'POST', '/api/v1/tasks', { template_id: template.id, label: 'no-such-label', inputs });
    expect(refused.status).toBe(422);
    expect(refused.body.errors).toEqual([{ field: 'body.label', message: expect.stringContaining('no-such-label') }]);
    // The default model is what runs it when the template resolves.
    const created = await h.createTask({ template_id: template.id, version: template.version, inputs });
    expect(created.tasks[0].model_id).toBe(model);
  });

  it("runs the default model of the version it renders, after the template's default changed", async () => {
    const first = await h.provider();
    const second = await h.provider();
    const template = await publishedTemplate({ default_model_id: first.model });
    const inputs = { topic: 'spelt', tone: 'dry' };
    // The runner reads the model it saw last for this template while the next render runs: the render decides.
    expect((await h.createTask({ template_id: template.id, inputs })).tasks[0].model_id).toBe(first.model);
    const changed = await h.call('prompt', 'PATCH', `/api/v1/templates/${template.id}`, { default_model_id: second.model });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    const published = await h.call('prompt', 'POST', `/api/v1/templates/${template.id}/publish`, {});
    expect(published.status, JSON.stringify(published.body)).toBe(201);
    expect((await h.createTask({ template_id: template.id, inputs })).tasks[0].model_id).toBe(second.model);
    expect((await h.createTask({ template_id: template.id, version: template.version, inputs })).tasks[0].model_id).toBe(
      first.model,
    );
    expect((await h.createTask({ template_id: template.id, inputs, model_id: first.model })).tasks[0].model_id).toBe(first.model);
  });

  it('takes literal ad-hoc messages as they are, and renders them only when asked', async () => {
    const { model } = await h.provider();
    const literal = await h.createTask({
      model_id: model,
      messages: [{ role: 'user', content: 'Say {{ x }}' }],
      inputs: { x: 'hi' },
    });
    const rendered = await h.createTask({
      model_id: model,
      messages: [{ role: 'user', content: 'Say {{ x }}' }],
      inputs: { x: 'hi' },
      render: true,
    });
    expect((await h.waitFor(literal.tasks[0].id)).output_text).toBe('You said: Say {{ x }}');
    expect((await h.waitFor(rendered.tasks[0].id)).output_text).toBe('You said: Say hi');
  });

  it('gives the same task for the same Idempotency-Key, and refuses the key with another body', async () => {
    const { model } = await h.provider();
    const body = { model_id: model, messages: [{ role: 'user', content: 'once only' }] };
    const first = await h.call('runner', 'POST', '/api/v1/tasks', body, { 'idempotency-key': 'k-1' });
    const second = await h.call('runner', 'POST', '/api/v1/tasks', body, { 'idempotency-key': 'k-1' });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body.tasks[0].id).toBe(first.body.tasks[0].id);
    // The stored answer is made before the one statement that creates the task, its times set by that statement.
    expect(second.body).toEqual(first.body);
    const other = await h.call('runner', 'POST', '/api/v1/tasks', { ...body, priority: 5 }, { 'idempotency-key': 'k-1' });
    expect(other.status).toBe(422);
    await h.waitFor(first.body.tasks[0].id);
    const { rows } = await h.admin.query(
      `SELECT count(*)::int AS n FROM runner.tasks WHERE snapshot->'messages'->0->>'content' = 'once only'`,
    );
    expect(rows[0].n).toBe(1);
  });

  it('keeps the key and the hash of its request on every task a keyed create makes, a group included', async () => {
    const a = await h.provider();
    const b = await h.provider();
    const body = { model_ids: [a.model, b.model], messages: [{ role: 'user', content: 'keyed group' }] };
    const created = await h.call('runner', 'POST', '/api/v1/tasks', body, { 'idempotency-key': 'k-group' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body.tasks).toHaveLength(2);
    const { rows: keys } = await h.admin.query(
      `SELECT operation, request_hash FROM runner.idempotency_keys WHERE actor = 'account:editor-1' AND key = 'k-group'`,
    );
    expect(keys).toEqual([{ operation: 'task.create', request_hash: expect.stringMatching(/^[0-9a-f]{64}$/) }]);
    const { rows: tasks } = await h.admin.query(`SELECT idempotency_key, request_hash FROM runner.tasks WHERE group_id = $1`, [
      created.body.group_id,
    ]);
    expect(tasks).toEqual([
      { idempotency_key: 'k-group', request_hash: keys[0].request_hash },
      { idempotency_key: 'k-group', request_hash: keys[0].request_hash },
    ]);
  });

  it('runs the same messages on several models as a group', async () => {
    const a = await h.provider();
    const b = await h.provider({ protocol: 'anthropic' });
    const created = await h.createTask({
      model_ids: [a.model, b.model],
      messages: [{ role: 'user', content: 'compare us' }],
      correlation: { post_id: 'p-1' },
    });
    expect(created.group_id).toEqual(expect.any(String));
    expect(created.tasks.map((t: Json) => t.model_id)).toEqual([a.model, b.model]);
    for (const task of created.tasks) {
      const done = await h.waitFor(task.id);
      expect(done.status).toBe('succeeded');
      expect(done.group_id).toBe(created.group_id);
      expect(done.correlation).toEqual({ post_id: 'p-1' });
    }
  });
});

describe('retries, fallback and failures', () => {
  it('retries a 500 with backoff and succeeds, publishing task.retrying', async () => {
    const { model } = await h.provider();
    const p = await preset({ model_id: model, retry_policy: { max_attempts: 3, initial_backoff_ms: 100, max_backoff_ms: 200 } });
    emulator.fault({ protocol: 'openai', status: 500, times: 1 });
    const created = await h.createTask({ preset_id: p, messages: [{ role: 'user', content: 'flaky' }] });
    const done = await h.waitFor(created.tasks[0].id);
    expect(done.status).toBe('succeeded');
    const attempts = await h.attempts(done.id);
    expect(attempts.map((a: Json) => [a.status, a.error?.kind ?? null])).toEqual([
      ['failed', 'server'],
      ['succeeded', null],
    ]);
    expect((await events(done.id)).map((e) => e.topic)).toEqual([
      'runner.task.queued',
      'runner.task.started',
      'runner.task.retrying',
      'runner.task.started',
      'runner.task.succeeded',
    ]);
    expect(new Date(attempts[1].started_at).getTime() - new Date(attempts[0].ended_at).getTime()).toBeGreaterThanOrEqual(40);
  });

  it('falls back to the next model when the first fails for good', async () => {
    const first = await h.provider({ model: 'emu-gpt-large' });
    const second = await h.provider({ protocol: 'anthropic' });
    const p = await preset({
      model_id: first.model,
      fallback_model_ids: [second.model],
      retry_policy: { max_attempts: 2, initial_backoff_ms: 100, max_backoff_ms: 100 },
    });
    emulator.fault({ protocol: 'openai', model: 'emu-gpt-large', status: 503 });
    const created = await h.createTask({ preset_id: p, messages: [{ role: 'user', content: 'fall back' }] });
    const done = await h.waitFor(created.tasks[0].id);
    expect(done.status).toBe('succeeded');
    expect(done.model_id).toBe(second.model);
    expect(done.model_index).toBe(1);
    const attempts = await h.attempts(done.id);
    expect(attempts.map((a: Json) => [a.model_id, a.status])).toEqual([
      [first.model, 'failed'],
      [first.model, 'failed'],
      [second.model, 'succeeded'],
    ]);
    const retrying = (await events(done.id)).filter((e) => e.topic === 'runner.task.retrying');
    expect(retrying.map((e) => e.payload.fallback)).toEqual([false, true]);
  });

  // Strict JSON-schema modes want an object at the root, so a list is asked for as {"items": [...]}.
  const OUTLINE = {
    type: 'json_schema',
    name: 'outline',
    strict: true,
    schema: {
      type: 'object',
      properties: { items: { type: 'array', items: { type: 'string' } } },
      required: ['items'],
      additionalProperties: false,
    },
  };

  it('never records a structured-output reply that breaks its schema as a success', async () => {
    const { model } = await h.provider({
      price: { input_per_mtok: '3', output_per_mtok: '15' },
      capabilities: { json_output: true },
    });
    const p = await preset({
      model_id: model,
      parameters: { response_format: OUTLINE },
      retry_policy: { max_attempts: 2, initial_backoff_ms: 100, max_backoff_ms: 100 },
    });
    // The emulator answers JSON mode with {"reply": "You said: …"}: valid JSON, but not the outline.
    const created = await h.createTask({ preset_id: p, messages: [{ role: 'user', content: 'three headings' }] });
    const done = await h.waitFor(created.tasks[0].id);
    expect(done.status).toBe('failed');
    expect(done.output_text).toBeNull();
    expect(done.error).toMatchObject({ kind: 'invalid_output', retryable: true });
    expect(done.error.output_errors).toEqual(
      expect.arrayContaining([
        { path: '', message: "must have required property 'items'" },
        { path: '', message: "must NOT have additional properties ('reply')" },
      ]),
    );
    const attempts = await h.attempts(done.id);
    // Retried on the same model as the preset says, each reply kept, its tokens paid for.
    expect(attempts.map((a: Json) => [a.status, a.error.kind])).toEqual([
      ['failed', 'invalid_output'],
      ['failed', 'invalid_output'],
    ]);
    expect(JSON.parse(attempts[0].response_text)).toEqual({ reply: 'You said: three headings' });
    expect(attempts[0].usage.output_tokens).toBeGreaterThan(0);
    expect(Number(attempts[0].cost_usd)).toBeGreaterThan(0);
    expect(Number(done.cost_usd)).toBeCloseTo(Number(attempts[0].cost_usd) + Number(attempts[1].cost_usd), 12);
    const failed = (await events(done.id)).find((e) => e.topic === 'runner.task.failed');
    expect(failed.payload.error.kind).toBe('invalid_output');
    expect(failed.payload.error.output_errors.length).toBeGreaterThan(0);
  });

  it('falls back down the chain when a reply is not JSON, and succeeds on a model whose reply fits', async () => {
    const first = await h.provider({ model: 'emu-gpt-large', capabilities: { json_output: true } });
    const second = await h.provider({ protocol: 'anthropic', capabilities: { json_output: true } });
    const fits = {
      type: 'json_schema',
      name: 'echo',
      schema: { type: 'object', properties: { reply: { type: 'string' } }, required: ['reply'], additionalProperties: false },
    };
    const p = await preset({
      model_id: first.model,
      fallback_model_ids: [second.model],
      parameters: { response_format: fits },
      retry_policy: { max_attempts: 1, initial_backoff_ms: 100, max_backoff_ms: 100 },
    });
    // The first model misbehaves: text after its JSON (a proxy echoing the key), so the reply does not parse.
    emulator.fault({ protocol: 'openai', model: 'emu-gpt-large', match: 'json after all', echoKey: 'hex' });
    const created = await h.createTask({ preset_id: p, messages: [{ role: 'user', content: 'json after all' }] });
    const done = await h.waitFor(created.tasks[0].id);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.model_id).toBe(second.model);
    expect(JSON.parse(done.output_text)).toEqual({ reply: 'You said: json after all' });
    const attempts = await h.attempts(done.id);
    expect(attempts.map((a: Json) => [a.model_id, a.status, a.error?.kind ?? null])).toEqual([
      [first.model, 'failed', 'invalid_output'],
      [second.model, 'succeeded', null],
    ]);
    expect(attempts[0].error.message).toMatch(/not valid JSON/);
    const retrying = (await events(done.id)).filter((e) => e.topic === 'runner.task.retrying');
    expect(retrying.map((e) => [e.payload.fallback, e.payload.error.kind])).toEqual([[true, 'invalid_output']]);
  });

  it('fails at once on an error that retrying cannot fix, keeping the error', async () => {
    const { model } = await h.provider();
    emulator.fault({ protocol: 'openai', status: 401, times: 1 });
    const created = await h.createTask({ model_id: model, messages: [{ role: 'user', content: 'no key' }] });
    const done = await h.waitFor(created.tasks[0].id);
    expect(done.status).toBe('failed');
    expect(done.error).toMatchObject({ kind: 'auth', retryable: false, status: 401 });
    expect(await h.attempts(done.id)).toHaveLength(1);
    expect(JSON.stringify(done.error)).not.toContain('sk-test-key');
  });

  it('never stores a stream cut half-way as a success', async () => {
    const { model } = await h.provider();
    const p = await preset({ model_id: model, retry_policy: { max_attempts: 3, initial_backoff_ms: 100, max_backoff_ms: 100 } });
    emulator.fault({ protocol: 'openai', cutAfterChunks: 2, times: 1 });
    const created = await h.createTask({ preset_id: p, messages: [{ role: 'user', content: 'one two three four five six' }] });
    const done = await h.waitFor(created.tasks[0].id);
    expect(done.status).toBe('succeeded');
    expect(done.output_text).toBe('You said: one two three four five six');
    const attempts = await h.attempts(done.id);
    expect(attempts[0]).toMatchObject({ status: 'failed' });
    expect(attempts[0].error.kind).toBe('network');
    expect(attempts[0].response_text.length).toBeGreaterThan(0);
    expect(done.output_text.startsWith(attempts[0].response_text)).toBe(true);
    expect(attempts[0].response_text).not.toBe(done.output_text);
  });
});

describe('cancel and retry', () => {
  it('cancels a queued task before it ever starts', async () => {
    const { provider, model } = await h.provider();
    await h.pauseProvider(provider);
    const created = await h.createTask({ model_id: model, messages: [{ role: 'user', content: 'never' }] });
    const cancelled = await h.call('runner', 'POST', `/api/v1/tasks/${created.tasks[0].id}/cancel`);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    await h.resumeProvider(provider);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(await h.attempts(created.tasks[0].id)).toHaveLength(0);
    expect((await events(created.tasks[0].id)).map((e) => e.topic)).toEqual(['runner.task.queued', 'runner.task.cancelled']);
    const { rows: audit } = await h.admin.query(
      `SELECT payload FROM bus.outbox WHERE topic = 'audit.change.recorded' AND payload->'resource'->>'id' = $1`,
      [created.tasks[0].id],
    );
    expect(audit.map((row: Json) => [row.payload.action, row.payload.actor.id, row.payload.after.status])).toEqual([
      ['task.cancelled', 'editor-1', 'cancelled'],
    ]);
  });

  it('aborts a running task promptly, the provider request included', async () => {
    const { model } = await h.provider();
    emulator.fault({ protocol: 'openai', chunkDelayMs: 300, times: 1 });
    const long = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
    const created = await h.createTask({ model_id: model, messages: [{ role: 'user', content: long }] });
    const id = created.tasks[0].id;
    await h.waitFor(id, ['running']);
    await new Promise((resolve) => setTimeout(resolve, 700));
    const asked = Date.now();
    const cancelled = await h.call('runner', 'POST', `/api/v1/tasks/${id}/cancel`);
    expect(cancelled.status).toBe(202);
    const done = await h.waitFor(id, ['cancelled', 'succeeded', 'failed'], 5_000);
    expect(done.status).toBe('cancelled');
    expect(Date.now() - asked).toBeLessThan(5_000);
    const [attempt] = await h.attempts(id);
    expect(attempt.status).toBe('cancelled');
    expect(attempt.response_text.length).toBeGreaterThan(0);
    expect(attempt.response_text.length).toBeLessThan(long.length);
  });

  it('retries a failed task as a new linked task, on another model if asked', async () => {
    const first = await h.provider();
    const second = await h.provider({ protocol: 'ollama' });
    emulator.fault({ protocol: 'openai', status: 400, times: 1 });
    const created = await h.createTask({ model_id: first.model, messages: [{ role: 'user', content: 'again please' }] });
    const failed = await h.waitFor(created.tasks[0].id);
    expect(failed.status).toBe('failed');
    const retried = await h.call('runner', 'POST', `/api/v1/tasks/${failed.id}/retry`, { model_id: second.model });
    expect(retried.status, JSON.stringify(retried.body)).toBe(201);
    expect(retried.body).toMatchObject({ retry_of: failed.id, model_id: second.model, source: 'retry' });
    const done = await h.waitFor(retried.body.id);
    expect(done.status).toBe('succeeded');
    expect(done.snapshot.messages).toEqual(failed.snapshot.messages);
    const original = await h.waitFor(failed.id);
    expect(original.status).toBe('failed');
    await h.pauseProvider(first.provider);
    const queued = await h.createTask({ model_id: first.model, messages: [{ role: 'user', content: 'busy' }] });
    const conflict = await h.call('runner', 'POST', `/api/v1/tasks/${queued.tasks[0].id}/retry`, {});
    expect(conflict.status).toBe(409);
    expect(conflict.body.detail).toMatch(/still queued/);
  });
});

describe('task events', () => {
  it('name the task’s requester on every topic: the account that asked, or the service that asked over the bus', async () => {
    const { model } = await h.provider();
    const paused = await h.provider();
    await h.pauseProvider(paused.provider);
    const p = await preset({ model_id: model, retry_policy: { max_attempts: 2, initial_backoff_ms: 100, max_backoff_ms: 100 } });
    const ids: string[] = [];

    emulator.fault({ protocol: 'openai', status: 500, times: 1 });
    const retried = await h.createTask({ preset_id: p, messages: [{ role: 'user', content: 'retried' }] });
    ids.push((await h.waitFor(retried.tasks[0].id)).id);
    emulator.fault({ protocol: 'openai', status: 401, times: 1 });
    const failed = await h.createTask({ model_id: model, messages: [{ role: 'user', content: 'failed' }] });
    ids.push((await h.waitFor(failed.tasks[0].id)).id);
    const cancelled = await h.createTask({ model_id: paused.model, messages: [{ role: 'user', content: 'cancelled' }] });
    expect((await h.call('runner', 'POST', `/api/v1/tasks/${cancelled.tasks[0].id}/cancel`)).status).toBe(200);
    ids.push(cancelled.tasks[0].id);

    const workflow = createPool({ connectionString: db.urlFor('workflow'), applicationName: 'test', max: 1 });
    try {
      for (const [key, request] of [
        ['requester-valid', { model_id: model, messages: [{ role: 'user', content: 'from the bus' }] }],
        ['requester-invalid', { model_id: model, messages: [] }],
      ] as const)
        await publish(workflow, taskRequested, { requester: 'workflow', idempotency_key: key, request });
    } finally {
      await workflow.end();
    }
    for (const key of ['requester-valid', 'requester-invalid']) {
      let row: Json;
      for (let i = 0; i < 200 && !row; i++) {
        ({
          rows: [row],
        } = await h.admin.query('SELECT id FROM runner.tasks WHERE idempotency_key = $1', [key]));
        if (!row) await new Promise((resolve) => setTimeout(resolve, 25));
      }
      expect(row, `no task for ${key}`).toBeDefined();
      ids.push((await h.waitFor(row.id)).id);
    }

    const { rows } = await h.admin.query(
      `SELECT o.topic, o.payload->>'requester' AS requester, t.requester AS expected
       FROM bus.outbox o JOIN runner.tasks t ON t.id::text = o.payload->>'task_id'
       WHERE o.topic LIKE 'runner.task.%' AND t.id = ANY ($1::uuid[]) ORDER BY o.id`,
      [ids],
    );
    expect(new Set(rows.map((row: Json) => row.topic))).toEqual(
      new Set(['queued', 'started', 'retrying', 'succeeded', 'failed', 'cancelled', 'rejected'].map((t) => `runner.task.${t}`)),
    );
    expect(new Set(rows.map((row: Json) => row.expected))).toEqual(new Set(['account:editor-1', 'service:workflow']));
    for (const row of rows)
      expect({ topic: row.topic, requester: row.requester }).toEqual({ topic: row.topic, requester: row.expected });
  });
});
