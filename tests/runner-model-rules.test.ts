/**
 * Tasks under their models' rules (issue 11): what a task may ask of a model is checked at creation
 * against the rules the registry copied onto it, and a reasoning model's request carries no parameter
 * its rules refuse, through the official SDK to the provider emulator.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { DEFAULT_MODELS, startEmulator, type EmulatorModel } from '@llmops/emulator/server';
import { startRunnerHarness, type Json } from './runner-support.ts';

const offered = (id: string, modality: EmulatorModel['modality'] = 'chat'): EmulatorModel => ({
  id,
  modality,
  created: 1_735_689_600,
  displayName: id,
});

const db = await useTestDatabase();
const emulator = await startEmulator({
  models: {
    openai: [...DEFAULT_MODELS.openai, offered('o3-mini'), offered('dall-e-3', 'image')],
    anthropic: [...DEFAULT_MODELS.anthropic, offered('claude-sonnet-4-5')],
  },
});
const h = await startRunnerHarness(db, emulator);
afterAll(async () => {
  await h.stop();
  await emulator.stop();
});

const SAMPLING = ['temperature', 'top_p', 'presence_penalty', 'frequency_penalty', 'stop', 'top_k'];

async function refused(body: Record<string, unknown>): Promise<Json> {
  const answer = await h.call('runner', 'POST', '/api/v1/tasks', body);
  expect(answer.status, JSON.stringify(answer.body)).toBe(422);
  expect(answer.headers.get('content-type')).toContain('application/problem+json');
  return answer.body;
}

describe('a reasoning model', () => {
  it('is sent no sampling parameter: the task reaches the emulator with only what its rules take', async () => {
    const { model } = await h.provider({ model: 'o3-mini', max_output_tokens: 2_000 });
    const preset = await h.call('registry', 'POST', '/api/v1/presets', {
      name: 'reasoning, briefly',
      model_id: model,
      parameters: { reasoning_effort: 'low', max_output_tokens: 300 },
    });
    expect(preset.status, JSON.stringify(preset.body)).toBe(201);
    emulator.clearRequests();
    const created = await h.createTask({
      preset_id: preset.body.id,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Why is the sky blue?' },
      ],
    });
    const done = await h.waitFor(created.tasks[0].id);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    const sent = emulator.requestsOf('openai', '/v1/chat/completions');
    expect(sent).toHaveLength(1);
    const body = sent[0]?.body as Json;
    expect(body.model).toBe('o3-mini');
    for (const name of SAMPLING) expect(body, name).not.toHaveProperty(name);
    // What the reasoning model takes, on the wire: its system message as `developer`, the effort, and the
    // output cap as max_completion_tokens (it refuses max_tokens, even from a base URL that is not OpenAI's).
    expect(body.messages).toEqual([
      { role: 'developer', content: 'Be brief.' },
      { role: 'user', content: 'Why is the sky blue?' },
    ]);
    expect(body).toMatchObject({ reasoning_effort: 'low', max_completion_tokens: 300 });
    expect(body).not.toHaveProperty('max_tokens');
    expect(done.snapshot.chain[0]).toMatchObject({ reasoning: true, max_output_tokens: 2_000 });
    const [attempt] = await h.attempts(done.id);
    expect(attempt.request).toMatchObject({ model: 'o3-mini', reasoning: true, defaultMaxOutputTokens: 2_000 });
    expect(attempt.request.parameters).toEqual({ reasoning_effort: 'low', max_output_tokens: 300 });
  });

  it('refuses a task that overrides a sampling parameter, naming the rule', async () => {
    const { model } = await h.provider({ model: 'o3-mini' });
    const problem = await refused({
      model_id: model,
      messages: [{ role: 'user', content: 'Hi' }],
      parameters: { temperature: 0.2 },
    });
    expect(problem.errors).toEqual([
      { field: 'body.parameters.temperature', message: 'model "o3-mini" is a reasoning model and takes no temperature' },
    ]);
  });
});

describe('an Anthropic model', () => {
  it('refuses temperature with top_p on a 4.5-era model, in a task override', async () => {
    const { model } = await h.provider({ protocol: 'anthropic', model: 'claude-sonnet-4-5' });
    const problem = await refused({
      model_id: model,
      messages: [{ role: 'user', content: 'Hi' }],
      parameters: { temperature: 0.5, top_p: 0.8 },
    });
    expect(problem.errors).toEqual([
      { field: 'body.parameters.top_p', message: 'model "claude-sonnet-4-5" takes temperature or top_p, not both' },
    ]);
  });

  it('refuses a system-only conversation at creation, saying why', async () => {
    const { model } = await h.provider({ protocol: 'anthropic' });
    emulator.clearRequests();
    const problem = await refused({ model_id: model, messages: [{ role: 'system', content: 'You are terse.' }] });
    expect(problem.errors).toEqual([
      {
        field: 'body.messages',
        message:
          'model "emu-claude-fast" (anthropic) needs at least one user or assistant message: Anthropic takes system text apart from the conversation and refuses an empty one',
      },
    ]);
    expect(emulator.requestsOf('anthropic')).toHaveLength(0);
  });
});

describe('JSON mode on OpenAI', () => {
  it('refuses a conversation that never says JSON at creation (OpenAI answers it 400), and runs one that does', async () => {
    const { model } = await h.provider({ protocol: 'openai', capabilities: { json_output: true } });
    emulator.clearRequests();
    const parameters = { response_format: { type: 'json_object' } };
    const problem = await refused({
      model_id: model,
      parameters,
      messages: [{ role: 'user', content: 'Three colours, please.' }],
    });
    expect(problem.errors).toEqual([
      {
        field: 'body.messages',
        message:
          'model "emu-gpt-small" (openai) is asked for a JSON object, but no message says "JSON": OpenAI\'s JSON mode refuses such a conversation (400). Ask for JSON in the prompt, or give a json_schema response format',
      },
    ]);
    expect(emulator.requestsOf('openai')).toHaveLength(0);
    const created = await h.createTask({
      model_id: model,
      parameters,
      messages: [{ role: 'user', content: '{"colours": ["red", "green", "blue"], "format": "json"}' }],
    });
    const done = await h.waitFor(created.tasks[0].id);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
  });
});

describe('image options', () => {
  it('are checked per model family: dall-e-3 makes one image, of its sizes and qualities', async () => {
    const { model } = await h.provider({ model: 'dall-e-3', modality: 'image' });
    const problem = await refused({
      model_id: model,
      messages: [{ role: 'user', content: 'A lighthouse' }],
      image: { n: 4, size: '999x999', quality: 'ultra' },
    });
    expect(problem.errors.map((e: Json) => e.field)).toEqual(['body.image.n', 'body.image.size', 'body.image.quality']);
    expect(problem.errors[0].message).toBe('model "dall-e-3" makes one image per request');
  });

  it('take as many images as the family makes: dall-e-2 up to 10, never more than the API takes', async () => {
    const { model } = await h.provider({ model: 'dall-e-2', modality: 'image' });
    const messages = [{ role: 'user', content: 'A lighthouse' }];
    const created = await h.createTask({ model_id: model, messages, image: { n: 10, size: '512x512' } });
    expect(['queued', 'running']).toContain(created.tasks[0].status);
    const problem = await refused({ model_id: model, messages, image: { n: 11 } });
    expect(problem.errors).toEqual([{ field: 'body.image.n', message: 'expected 1 to 10' }]);
  });

  it('of a custom image model are passed on as given', async () => {
    const { model } = await h.provider({ model: 'emu-image', modality: 'image' });
    const created = await h.createTask({
      model_id: model,
      messages: [{ role: 'user', content: 'A lighthouse' }],
      image: { n: 10, size: '640x480', quality: 'draft' },
    });
    expect(['queued', 'running']).toContain(created.tasks[0].status);
  });
});

describe("the runner's copy of prices", () => {
  it('drops a scheduled price the registry withdrew, and keeps the one in effect', async () => {
    const { model } = await h.provider({ price: { input_per_mtok: '1', output_per_mtok: '2' } });
    const future = new Date(Date.now() + 86_400_000).toISOString();
    const scheduled = await h.call('registry', 'PATCH', `/api/v1/models/${model}`, {
      price: { input_per_mtok: 5, output_per_mtok: 6, effective_from: future },
    });
    expect(scheduled.status).toBe(200);
    const copied = async () =>
      (
        await h.admin.query(
          'SELECT input_per_mtok::float8 AS input FROM runner.model_prices WHERE model_id = $1 ORDER BY effective_from',
          [model],
        )
      ).rows.map((row: Json) => row.input);
    await until(async () => (await copied()).length === 2);
    const withdrawn = await h.call('registry', 'DELETE', `/api/v1/models/${model}/prices/${encodeURIComponent(future)}`);
    expect(withdrawn.status, JSON.stringify(withdrawn.body)).toBe(200);
    await until(async () => (await copied()).length === 1);
    expect(await copied()).toEqual([1]);
  });
});

async function until(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('the condition never held');
}

describe('the output cap', () => {
  it('an Anthropic model is sent its own output maximum when the preset gives none', async () => {
    const { model } = await h.provider({ protocol: 'anthropic', max_output_tokens: 2_000 });
    emulator.clearRequests();
    const created = await h.createTask({ model_id: model, messages: [{ role: 'user', content: 'Hi' }] });
    const done = await h.waitFor(created.tasks[0].id);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    const [sent] = emulator.requestsOf('anthropic', '/v1/messages');
    expect((sent?.body as Json).max_tokens).toBe(2_000);
  });
});
