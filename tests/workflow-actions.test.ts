/**
 * LLM actions end to end (DESIGN D12, ADR 0016) against the real registry, prompt service, runner and
 * workflow, with the provider emulator: a run asks for a task over the bus, the workflow's consumer
 * group writes its result back once, as a suggestion (review) or a revision by the task (apply), as a
 * conflict when the field changed meanwhile; failures and bus rejections show on the post; list fields
 * are filled through structured output; forged tasks and redelivered events change nothing; two
 * instances make one suggestion per task.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createPool } from '@llmops/kit/db';
import { SUCCEEDED_OUTPUT_MAX_CHARS } from '@llmops/kit/events/runner';
import { createServiceClient } from '@llmops/kit/http/service-client';
import { startStack } from '@llmops/kit/testing/stack';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { startEmulator } from '@llmops/emulator/server';
import { writeBack } from '@llmops/workflow/write-back';
import { startRunnerHarness } from './runner-support.ts';
import { admin, editor, otherEditor, type Json } from './workflow-support.ts';

const db = await useTestDatabase();
const emulator = await startEmulator();
const h = await startRunnerHarness(db, emulator, { services: ['registry', 'prompt', 'runner', 'workflow'] });
// A second instance of the workflow service: the same consumer group, sharing the work.
const second = await startStack({
  db,
  services: ['workflow'],
  env: { RUNNER_URL: h.stack.urls.runner as string, LLMOPS_INTERNAL_SECRET: h.stack.secret, LLMOPS_BUS_SWEEP_MS: '500' },
});
const workflowPool = createPool({ connectionString: db.urlFor('workflow'), applicationName: 'test', max: 2 });
afterAll(async () => {
  await second.stop();
  await workflowPool.end();
  await h.stop();
  await emulator.stop();
});
beforeEach(() => emulator.clearFaults());

async function wf(
  method: string,
  path: string,
  body?: unknown,
  as = editor,
): Promise<{ status: number; body: Json; text: string }> {
  const response = await h.stack.call(
    'workflow',
    `/api/v1/workflow${path}`,
    { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) },
    as,
  );
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, text };
}

const { model } = await h.provider({ capabilities: { json_output: true } });
// A model without structured output, and an image model: shared by the tests that need one.
const plain = await h.provider({ capabilities: { json_output: false } });
const painter = await h.provider({ modality: 'image', price: { input_per_mtok: '0', output_per_mtok: '0', per_image: '0.04' } });
const onceOnly = await h.call('registry', 'POST', '/api/v1/presets', {
  name: 'once only',
  model_id: model,
  retry_policy: { max_attempts: 1, initial_backoff_ms: 100, max_backoff_ms: 100 },
});
const template = await (async () => {
  const created = await h.call('prompt', 'POST', '/api/v1/templates', {
    name: 'echo the text',
    variables: [{ name: 'text', type: 'string' }],
    messages: [{ role: 'user', entries: [{ type: 'text', text: '{{ text }}' }] }],
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const published = await h.call('prompt', 'POST', `/api/v1/templates/${created.body.id}/publish`, {});
  expect(published.status, JSON.stringify(published.body)).toBe(201);
  return created.body.id as string;
})();
const stages = (await wf('GET', '/stages')).body.items;
const idea = stages[0].substages[0].id as string;

let n = 0;
async function action(fields: Json): Promise<Json> {
  const created = await wf(
    'POST',
    '/actions',
    { substage_id: idea, label: `Action ${++n}`, template_id: template, model_id: model, ...fields },
    admin,
  );
  expect(created.status, created.text).toBe(201);
  return created.body;
}

async function post(): Promise<string> {
  const created = await wf('POST', '/posts', { title: `Post ${++n}` });
  expect(created.status, created.text).toBe(201);
  return created.body.id;
}

async function write(postId: string, key: string, value: unknown, base: string | null = null, as = editor): Promise<Json> {
  const written = await wf('PUT', `/posts/${postId}/values/${key}`, { value, base_revision_id: base }, as);
  expect(written.status, written.text).toBe(200);
  return written.body;
}

async function run(postId: string, actionId: string): Promise<Json[]> {
  const started = await wf('POST', `/posts/${postId}/actions/${actionId}/runs`);
  expect(started.status, started.text).toBe(202);
  return started.body.runs;
}

/** Waits until the run has been written back (its status moved on from `requested`). */
async function finished(postId: string, runId: string): Promise<Json> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const found = (await wf('GET', `/posts/${postId}/runs`)).body.items.find((r: Json) => r.id === runId);
    if (found && found.status !== 'requested') return found;
    if (Date.now() > deadline) throw new Error(`run ${runId} is still ${found?.status ?? 'missing'} after 20 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function suggestionCount(taskId: string): Promise<number> {
  const { rows } = await h.admin.query('SELECT count(*)::int AS n FROM workflow.suggestions WHERE task_id = $1', [taskId]);
  return rows[0].n;
}

describe('review mode', () => {
  it('makes a suggestion from the task’s output, recording what the run read; accepting writes a revision naming the task', async () => {
    const a = await action({ target_field: 'working_title', inputs: { text: { from: 'post_field', field: 'basic_idea' } } });
    const p = await post();
    const ideaValue = await write(p, 'basic_idea', 'Tea at five');
    const [started] = await run(p, a.id);
    expect(started).toMatchObject({ status: 'requested', target_base_revision_id: null, field_key: 'working_title' });
    expect(started.inputs).toEqual({ text: { value: 'Tea at five', revision_id: ideaValue.revision_id } });

    const done = await finished(p, started.id);
    expect(done.status).toBe('suggested');
    expect(done.task_id).toEqual(expect.any(String));
    expect(done.output_text).toBe('You said: Tea at five');
    expect(done.suggestion).toMatchObject({ value: 'You said: Tea at five', valid: true, status: 'open', task_id: done.task_id });
    // The correlation carries ids only; the base revisions stay on the run.
    const task = await h.call('runner', 'GET', `/api/v1/tasks/${done.task_id}`);
    expect(task.body.correlation).toEqual({ post_id: p, section_id: null, action_id: a.id, action_run_id: started.id });
    expect(task.body.requester).toBe('service:workflow');

    const accepted = await wf('POST', `/suggestions/${done.suggestion.id}/accept`, { base_revision_id: null });
    expect(accepted.status, accepted.text).toBe(200);
    expect(accepted.body).toMatchObject({ status: 'accepted', decided_by: 'account:editor-1' });
    const revisions = (await wf('GET', `/posts/${p}/values/working_title/revisions`)).body.items;
    expect(revisions[0]).toMatchObject({ author: { kind: 'account', id: 'editor-1' }, source_task_id: done.task_id });
    expect((await wf('POST', `/suggestions/${done.suggestion.id}/accept`, { base_revision_id: revisions[0].id })).status).toBe(
      409,
    );
  });

  it('edit-and-accept writes the edited value; accepting on a stale base is a 409; reject closes it', async () => {
    const a = await action({ target_field: 'working_title', inputs: { text: { from: 'literal', value: 'Scones' } } });
    const p = await post();
    const one = await finished(p, (await run(p, a.id))[0].id);
    const edited = await wf('POST', `/suggestions/${one.suggestion.id}/accept`, {
      base_revision_id: null,
      value: 'Scones, edited',
    });
    expect(edited.status, edited.text).toBe(200);
    expect((await wf('GET', `/posts/${p}`)).body.values[0].value).toBe('Scones, edited');

    const two = await finished(p, (await run(p, a.id))[0].id);
    const stale = await wf('POST', `/suggestions/${two.suggestion.id}/accept`, { base_revision_id: null });
    expect(stale.status).toBe(409);
    expect(stale.body.current.value).toBe('Scones, edited');
    expect((await wf('POST', `/suggestions/${two.suggestion.id}/reject`)).body.status).toBe('rejected');
  });

  it('a run adjusted by the editor takes the inputs and model given for it alone, recorded without a revision', async () => {
    const other = await h.provider({ model: 'emu-gpt-large', capabilities: { json_output: true } });
    const a = await action({ target_field: 'working_title', inputs: { text: { from: 'post_field', field: 'basic_idea' } } });
    const p = await post();
    await write(p, 'basic_idea', 'Tea at five');
    const started = await wf('POST', `/posts/${p}/actions/${a.id}/runs`, {
      inputs: { text: 'Tea at six' },
      model_id: other.model,
    });
    expect(started.status, started.text).toBe(202);
    expect(started.body.runs[0].inputs).toEqual({ text: { value: 'Tea at six', revision_id: null } });
    const done = await finished(p, started.body.runs[0].id);
    expect(done.suggestion.value).toBe('You said: Tea at six');
    expect((await h.call('runner', 'GET', `/api/v1/tasks/${done.task_id}`)).body.model_id).toBe(other.model);
    // The action itself is unchanged: the next plain run reads the post again.
    const [plain] = await run(p, a.id);
    expect(plain.inputs.text.value).toBe('Tea at five');
    const refused = await wf('POST', `/posts/${p}/actions/${a.id}/runs`, { inputs: { 'not a name': 'x' } });
    expect(refused.status).toBe(422);
  });

  it('is idempotent: the same terminal event again changes nothing, and a forged task’s event writes nothing', async () => {
    const a = await action({ target_field: 'working_title', inputs: { text: { from: 'literal', value: 'Once' } } });
    const p = await post();
    const done = await finished(p, (await run(p, a.id))[0].id);
    const runner = createServiceClient({
      caller: 'workflow',
      service: 'runner',
      url: h.stack.urls.runner as string,
      secret: h.stack.secret,
    });
    const { rows } = await h.admin.query(
      `SELECT topic, payload FROM bus.outbox WHERE topic = 'runner.task.succeeded' AND payload->>'task_id' = $1`,
      [done.task_id],
    );
    expect(rows).toHaveLength(1);
    expect(await writeBack({ pool: workflowPool, runner }, rows[0], 'test')).toBeUndefined();
    expect(await suggestionCount(done.task_id)).toBe(1);

    // A run still waiting (its provider slowed down), and a task anyone could make naming it.
    emulator.fault({ match: 'slow forged target', delayFirstByteMs: 1_500 });
    const slow = await action({
      target_field: 'working_title',
      inputs: { text: { from: 'literal', value: 'slow forged target' } },
    });
    const q = await post();
    const [waiting] = await run(q, slow.id);
    const forged = await h.createTask({
      messages: [{ role: 'user', content: 'forged' }],
      model_id: model,
      correlation: { post_id: q, section_id: null, action_id: slow.id, action_run_id: waiting.id },
    });
    const forgedDone = await h.waitFor(forged.tasks[0].id);
    expect(forgedDone.status).toBe('succeeded');
    // Even claiming to be the workflow's: the task as the runner keeps it says otherwise.
    const claimed = {
      topic: 'runner.task.succeeded' as const,
      payload: { task_id: forgedDone.id, requester: 'service:workflow', correlation: { action_run_id: waiting.id } },
    };
    expect(await writeBack({ pool: workflowPool, runner }, claimed, 'test')).toBeUndefined();
    // Nor with an output of its own in the event: the run already knows its task (from `queued`), and it is another.
    await expect
      .poll(
        async () => (await h.admin.query('SELECT task_id FROM workflow.action_runs WHERE id = $1', [waiting.id])).rows[0].task_id,
      )
      .not.toBeNull();
    const carrying = { ...claimed, payload: { ...claimed.payload, output_text: 'forged output', cost_usd: '0' } };
    expect(await writeBack({ pool: workflowPool, runner }, carrying, 'test')).toBeUndefined();
    const real = await finished(q, waiting.id);
    expect(real.status).toBe('suggested');
    expect(real.task_id).not.toBe(forgedDone.id);
    expect(real.suggestion.value).toBe('You said: slow forged target');
    expect(await suggestionCount(forgedDone.id)).toBe(0);
  });

  it('a text output travels in the succeeded event; one too long for it is read from the runner, whole', async () => {
    const a = await action({ target_field: 'scope', inputs: { text: { from: 'post_field', field: 'basic_idea' } } });
    const [short, long] = await Promise.all([post(), post()]);
    const longText = 'tea '.repeat(SUCCEEDED_OUTPUT_MAX_CHARS / 4).trim();
    await Promise.all([write(short, 'basic_idea', 'Short tea'), write(long, 'basic_idea', longText)]);
    const [shortRun, longRun] = await Promise.all([short, long].map(async (p) => finished(p, (await run(p, a.id))[0].id)));
    const succeeded = async (taskId: string): Promise<Json> =>
      (
        await h.admin.query(`SELECT payload FROM bus.outbox WHERE topic = 'runner.task.succeeded' AND payload->>'task_id' = $1`, [
          taskId,
        ])
      ).rows[0].payload;
    expect(await succeeded(shortRun.task_id)).toMatchObject({ output_text: 'You said: Short tea', output_chars: 19 });
    const longEvent = await succeeded(longRun.task_id);
    expect(longEvent.output_chars).toBe(`You said: ${longText}`.length);
    expect(longEvent).not.toHaveProperty('output_text');
    expect(shortRun.suggestion.value).toBe('You said: Short tea');
    expect(longRun.suggestion.value).toBe(`You said: ${longText}`);
  });

  it('makes exactly one suggestion per task with two instances of the service', async () => {
    const a = await action({ target_field: 'working_title', inputs: { text: { from: 'post', attribute: 'title' } } });
    const posts = await Promise.all(Array.from({ length: 6 }, () => post()));
    const runs = (await Promise.all(posts.map((p) => run(p, a.id)))).flat();
    const done = await Promise.all(runs.map((r: Json) => finished(r.post_id, r.id)));
    for (const d of done) {
      expect(d.status).toBe('suggested');
      expect(await suggestionCount(d.task_id)).toBe(1);
    }
  });
});

describe('apply mode and conflicts', () => {
  it('an apply run writes a revision attributed to its task', async () => {
    const a = await action({
      target_field: 'working_title',
      mode: 'apply',
      inputs: { text: { from: 'literal', value: 'Applied' } },
    });
    const p = await post();
    const done = await finished(p, (await run(p, a.id))[0].id);
    expect(done).toMatchObject({ status: 'applied', suggestion: null });
    const value = (await wf('GET', `/posts/${p}`)).body.values[0];
    expect(value).toMatchObject({ value: 'You said: Applied', author: { kind: 'task', id: done.task_id } });
    const revisions = (await wf('GET', `/posts/${p}/values/working_title/revisions`)).body.items;
    expect(revisions[0].source_task_id).toBe(done.task_id);
    const { rows: audited } = await h.admin.query(
      `SELECT payload FROM bus.outbox WHERE topic = 'audit.change.recorded' AND payload->'after'->>'task_id' = $1`,
      [done.task_id],
    );
    expect(audited.map((r: Json) => [r.payload.action, r.payload.actor])).toEqual([
      ['value.applied', { kind: 'service', id: 'workflow' }],
    ]);
  });

  it('a field changed after the request gives a conflict suggestion, even in apply mode', async () => {
    emulator.fault({ match: 'conflicting', delayFirstByteMs: 1_000 });
    const a = await action({
      target_field: 'working_title',
      mode: 'apply',
      inputs: { text: { from: 'literal', value: 'conflicting' } },
    });
    const p = await post();
    const before = await write(p, 'working_title', 'Mine');
    const [started] = await run(p, a.id);
    expect(started.target_base_revision_id).toBe(before.revision_id);
    const mine = await write(p, 'working_title', 'Mine, changed', before.revision_id, otherEditor);
    const done = await finished(p, started.id);
    expect(done.status).toBe('conflict');
    expect(done.suggestion).toMatchObject({
      status: 'conflict',
      value: 'You said: conflicting',
      base_revision_id: before.revision_id,
    });
    expect((await wf('GET', `/posts/${p}`)).body.values[0].value).toBe('Mine, changed');
    const accepted = await wf('POST', `/suggestions/${done.suggestion.id}/accept`, { base_revision_id: mine.revision_id });
    expect(accepted.status, accepted.text).toBe(200);
  });
});

describe('failures and structured output', () => {
  it('a request the runner rejects on the bus shows as a failure on the post, with the reason', async () => {
    // The label existed when the action was saved (it is checked then) and was deleted before the run.
    const set = await h.call('prompt', 'PUT', `/api/v1/templates/${template}/labels/staging`, { version: 1 });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    const a = await action({
      target_field: 'working_title',
      template_label: 'staging',
      inputs: { text: { from: 'literal', value: 'x' } },
    });
    const deleted = await h.call('prompt', 'DELETE', `/api/v1/templates/${template}/labels/staging`);
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(204);
    const p = await post();
    const done = await finished(p, (await run(p, a.id))[0].id);
    expect(done.status).toBe('rejected');
    expect(done.error.problems.length).toBeGreaterThan(0);
    expect(done.task_id).toEqual(expect.any(String));
  });

  it('a list field is filled through structured output ({"items": [...]}); a reply that does not fit fails as invalid_output', async () => {
    const a = await action({ target_field: 'tags', inputs: { text: { from: 'literal', value: '{"items":["tea","scones"]}' } } });
    const p = await post();
    const [started] = await run(p, a.id);
    expect(started).toBeDefined();
    const done = await finished(p, started.id);
    expect(done.status, JSON.stringify(done.error)).toBe('suggested');
    expect(done.suggestion).toMatchObject({ value: ['tea', 'scones'], valid: true });
    const task = await h.call('runner', 'GET', `/api/v1/tasks/${done.task_id}`);
    expect(task.body.attempts[0].request.parameters.response_format).toMatchObject({ type: 'json_schema', name: 'tags' });

    const bad = await action({
      target_field: 'tags',
      model_id: undefined,
      preset_id: onceOnly.body.id,
      inputs: { text: { from: 'literal', value: 'not a list' } },
    });
    const failed = await finished(p, (await run(p, bad.id))[0].id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ kind: 'invalid_output' });
    expect(failed.cost_usd).toMatch(/^\d+\.\d{12}$/);
    expect(failed.suggestion).toBeNull();
  });
});

describe('models without structured output', () => {
  it('a reply that does not fit the field is shown as an invalid suggestion, which is not accepted as it is', async () => {
    const field = await wf(
      'POST',
      '/fields',
      {
        key: `angle_${++n}`,
        label: 'Angle',
        kind: 'json',
        json_schema: { type: 'object', properties: { angle: { type: 'string' } }, required: ['angle'] },
        substage_id: idea,
      },
      admin,
    );
    expect(field.status, field.text).toBe(201);
    const a = await action({
      target_field: field.body.key,
      model_id: plain.model,
      inputs: { text: { from: 'literal', value: 'an angle' } },
    });
    const p = await post();
    const done = await finished(p, (await run(p, a.id))[0].id);
    expect(done.status, JSON.stringify(done.error)).toBe('suggested');
    expect(done.suggestion).toMatchObject({
      value: 'You said: an angle',
      valid: false,
      invalid_reasons: [{ field: 'value', message: 'the output is not JSON' }],
      status: 'open',
    });
    const asItIs = await wf('POST', `/suggestions/${done.suggestion.id}/accept`, { base_revision_id: null });
    expect(asItIs.status, asItIs.text).toBe(422);
    const edited = await wf('POST', `/suggestions/${done.suggestion.id}/accept`, {
      base_revision_id: null,
      value: { angle: 'an angle' },
    });
    expect(edited.status, edited.text).toBe(200);
  });

  it('are asked for plain text, and a list field takes the reply’s lines', async () => {
    const a = await action({
      target_field: 'tags',
      model_id: plain.model,
      inputs: { text: { from: 'literal', value: 'tea\n- scones' } },
    });
    const p = await post();
    const done = await finished(p, (await run(p, a.id))[0].id);
    expect(done.status, JSON.stringify(done.error)).toBe('suggested');
    expect(done.suggestion).toMatchObject({ value: ['You said: tea', 'scones'], valid: true });
    const task = await h.call('runner', 'GET', `/api/v1/tasks/${done.task_id}`);
    expect(task.body.attempts[0].request.parameters?.response_format).toBeUndefined();
  });
});

describe('sections and per-post choices', () => {
  it('a section target runs once per section, each its own suggestion; a section removed meanwhile makes its suggestion obsolete', async () => {
    emulator.fault({ match: 'slow section', delayFirstByteMs: 1_000 });
    const a = await action({ target_field: 'draft', inputs: { text: { from: 'section_field', field: 'heading' } } });
    const p = await post();
    const one = (await wf('POST', `/posts/${p}/sections`, {})).body;
    const two = (await wf('POST', `/posts/${p}/sections`, {})).body;
    const heading = await wf('PUT', `/posts/${p}/values/heading`, { value: 'First', base_revision_id: null, section_id: one.id });
    expect(heading.status, heading.text).toBe(200);
    await wf('PUT', `/posts/${p}/values/heading`, { value: 'slow section', base_revision_id: null, section_id: two.id });
    const started = await run(p, a.id);
    expect(started.map((r: Json) => r.section_id)).toEqual([one.id, two.id]);
    expect((await wf('DELETE', `/posts/${p}/sections/${two.id}`)).status).toBe(204);
    const [first, second] = await Promise.all(started.map((r: Json) => finished(p, r.id)));
    expect(first.suggestion).toMatchObject({ section_id: one.id, value: 'You said: First', status: 'open' });
    expect(second.status).toBe('obsolete');
    expect(second.suggestion.status).toBe('obsolete');
  });

  it('a post hides an action or overrides its inputs and target, and copies its choices to a new post', async () => {
    const a = await action({ target_field: 'working_title', inputs: { text: { from: 'literal', value: 'Default' } } });
    const p = await post();
    const hidden = await wf('PUT', `/posts/${p}/actions/${a.id}/choice`, { hidden: true });
    expect(hidden.body).toMatchObject({ hidden: true, overridden: false });
    expect((await wf('POST', `/posts/${p}/actions/${a.id}/runs`)).status).toBe(409);
    const overridden = await wf('PUT', `/posts/${p}/actions/${a.id}/choice`, {
      hidden: false,
      target_field: 'meta_title',
      inputs: { text: { from: 'literal', value: 'Override' } },
    });
    expect(overridden.body).toMatchObject({ hidden: false, overridden: true, target_field: 'meta_title' });
    const done = await finished(p, (await run(p, a.id))[0].id);
    expect(done).toMatchObject({ field_key: 'meta_title', output_text: 'You said: Override' });
    const bad = await wf('PUT', `/posts/${p}/actions/${a.id}/choice`, {
      inputs: { text: { from: 'post_field', field: 'nope' } },
    });
    expect(bad.body.errors).toEqual([{ field: 'body.inputs.text.field', message: 'no field nope' }]);

    const q = await post();
    expect((await wf('POST', `/posts/${p}/actions/copy`, { to_post_id: q })).body).toEqual({ copied: 1 });
    const seen = (await wf('GET', `/posts/${q}/available-actions`)).body.items.find((x: Json) => x.id === a.id);
    expect(seen).toMatchObject({ target_field: 'meta_title', overridden: true });
  });
});

describe('image fields', () => {
  it('an image task’s result is written back as the field’s value: the image, the prompt sent, and a caption', async () => {
    const review = await action({
      target_field: 'header_image',
      model_id: painter.model,
      inputs: { text: { from: 'post', attribute: 'title' } },
    });
    const p = await post();
    const title = (await wf('GET', `/posts/${p}`)).body.title as string;
    const done = await finished(p, (await run(p, review.id))[0].id);
    expect(done.status, JSON.stringify(done.error)).toBe('suggested');
    expect(done.suggestion).toMatchObject({
      valid: true,
      status: 'open',
      value: { url: `/api/v1/tasks/${done.task_id}/images/0`, prompt: title, caption: `An image of: ${title}` },
    });
    expect(done.cost_usd).toMatch(/^0\.04/);
    // The reference is the runner's image: its bytes are there to fetch.
    const bytes = await h.stack.call('runner', done.suggestion.value.url, { method: 'GET' }, editor);
    expect(bytes.status).toBe(200);
    expect(bytes.headers.get('content-type')).toMatch(/^image\//);
    await bytes.arrayBuffer();

    const accepted = await wf('POST', `/suggestions/${done.suggestion.id}/accept`, { base_revision_id: null });
    expect(accepted.status, accepted.text).toBe(200);
    const revisions = (await wf('GET', `/posts/${p}/values/header_image/revisions`)).body.items;
    expect(revisions[0]).toMatchObject({ value: done.suggestion.value, source_task_id: done.task_id });

    const apply = await action({
      target_field: 'header_image',
      model_id: painter.model,
      mode: 'apply',
      inputs: { text: { from: 'literal', value: 'a teapot at dusk' } },
    });
    const q = await post();
    const applied = await finished(q, (await run(q, apply.id))[0].id);
    expect(applied.status, JSON.stringify(applied.error)).toBe('applied');
    const value = (await wf('GET', `/posts/${q}`)).body.values.find((v: Json) => v.field_key === 'header_image');
    expect(value).toMatchObject({
      value: {
        url: `/api/v1/tasks/${applied.task_id}/images/0`,
        prompt: 'a teapot at dusk',
        caption: 'An image of: a teapot at dusk',
      },
      author: { kind: 'task', id: applied.task_id },
    });
  });
});

describe('actions are checked when they are saved', () => {
  it('a template, version or label that does not exist, an unmapped or unknown variable, or a model of the wrong kind is a 422 naming it', async () => {
    const text = { text: { from: 'literal', value: 'x' } };
    const base = { substage_id: idea, label: 'Checked', template_id: template, model_id: model, target_field: 'working_title' };
    const draftOnly = await h.call('prompt', 'POST', '/api/v1/templates', {
      name: 'never published',
      variables: [{ name: 'text', type: 'string' }],
      messages: [{ role: 'user', entries: [{ type: 'text', text: '{{ text }} {{ tone }}' }] }],
    });
    const cases: [Json, string[]][] = [
      [{ ...base, template_id: randomUUID(), inputs: text }, ['body.template_id']],
      [{ ...base, template_id: draftOnly.body.id, inputs: text }, ['body.template_id']],
      [{ ...base, template_version: 99, inputs: text }, ['body.template_version']],
      [{ ...base, template_label: 'no-such-label', inputs: text }, ['body.template_label']],
      [{ ...base, inputs: {} }, ['body.inputs.text']],
      [{ ...base, inputs: { ...text, txet: { from: 'literal', value: 'y' } } }, ['body.inputs.txet']],
      [{ ...base, target_field: 'header_image', inputs: text }, ['body.model_id']],
      [{ ...base, model_id: painter.model, inputs: text }, ['body.model_id']],
      [{ ...base, model_id: randomUUID(), inputs: text }, ['body.model_id']],
    ];
    for (const [body, fields] of cases) {
      const refused = await wf('POST', '/actions', body, admin);
      expect(refused.status, refused.text).toBe(422);
      expect(
        refused.body.errors.map((e: Json) => e.field),
        refused.text,
      ).toEqual(fields);
    }
    const missing = await wf('POST', '/actions', { ...base, inputs: {} }, admin);
    expect(missing.body.errors[0].message).toBe(
      'version 1 of the template needs text: map it to a field, a post attribute or a literal',
    );

    // An update is held to the same rules, and a post's own mapping too.
    const a = await action({ target_field: 'working_title', inputs: text });
    const unmapped = await wf('PATCH', `/actions/${a.id}`, { inputs: {} }, admin);
    expect(
      unmapped.body.errors?.map((e: Json) => e.field),
      unmapped.text,
    ).toEqual(['body.inputs.text']);
    const painted = await wf('PATCH', `/actions/${a.id}`, { model_id: painter.model }, admin);
    expect(
      painted.body.errors?.map((e: Json) => e.field),
      painted.text,
    ).toEqual(['body.model_id']);
    const p = await post();
    const choice = await wf('PUT', `/posts/${p}/actions/${a.id}/choice`, { inputs: { other: { from: 'literal', value: 'z' } } });
    expect(
      choice.body.errors?.map((e: Json) => e.field),
      choice.text,
    ).toEqual(['body.inputs.text', 'body.inputs.other']);
  });

  it('a retry with another model is a run of the action edited to name it', async () => {
    const other = await h.provider();
    const a = await action({ target_field: 'working_title', inputs: { text: { from: 'literal', value: 'again' } } });
    const p = await post();
    const first = await finished(p, (await run(p, a.id))[0].id);
    const edited = await wf('PATCH', `/actions/${a.id}`, { model_id: other.model, template_version: 1 }, admin);
    expect(edited.status, edited.text).toBe(200);
    expect(edited.body).toMatchObject({ model_id: other.model, template_version: 1, template_label: null });
    const second = await finished(p, (await run(p, a.id))[0].id);
    const tasks = await Promise.all(
      [first, second].map(async (r) => (await h.call('runner', 'GET', `/api/v1/tasks/${r.task_id}`)).body.model_id),
    );
    expect(tasks).toEqual([model, other.model]);
  });
});
