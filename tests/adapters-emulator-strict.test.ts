/**
 * The emulator is as strict as the real APIs: each refuses, through the official SDKs, what its API
 * reference (and its prose) refuses, with the provider's own 400 body. One emulator for the file.
 */
import Anthropic from '@anthropic-ai/sdk';
import { Ollama } from 'ollama';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODELS, emulatorModel, startEmulator } from '@llmops/emulator/server';

const emu = await startEmulator({
  models: {
    openai: [
      ...DEFAULT_MODELS.openai,
      emulatorModel('emu-gpt-5-mini'),
      emulatorModel('emu-gpt-5.1'),
      emulatorModel('emu-o4-mini'),
      emulatorModel('emu-o1-mini'),
      emulatorModel('emu-dall-e-3', 'image'),
      emulatorModel('emu-dall-e-2', 'image'),
    ],
    anthropic: [
      ...DEFAULT_MODELS.anthropic,
      ...['emu-claude-sonnet-4-5', 'emu-claude-opus-4-1-20250805', 'emu-claude-opus-4-20250514'].map((id) => emulatorModel(id)),
    ],
  },
});
afterAll(() => emu.stop());

const openai = new OpenAI({ baseURL: emu.baseUrl('openai'), apiKey: 'sk-strict', maxRetries: 0 });
const anthropic = new Anthropic({ baseURL: emu.baseUrl('anthropic'), apiKey: 'sk-ant-strict', maxRetries: 0 });
const ollama = new Ollama({ host: emu.baseUrl('ollama') });
const user = [{ role: 'user' as const, content: 'hello' }];

/** What a call threw: the SDK's error, with the provider's body. */
async function refusal(call: () => Promise<unknown>): Promise<{ status?: number; status_code?: number; error?: unknown }> {
  try {
    await call();
  } catch (error) {
    return error as { status?: number; error?: unknown };
  }
  throw new Error('expected the emulator to refuse the request');
}

describe('OpenAI: refused with {error: {message, type, param, code}}', () => {
  const chat = (body: Record<string, unknown>) =>
    refusal(() => openai.chat.completions.create({ model: 'emu-gpt-small', messages: user, ...body } as never));

  it('refuses what the schema refuses: unknown parameters, ranges, empty messages, five stop sequences', async () => {
    const unknown = await chat({ max_output_tokens: 5 });
    expect(unknown.status).toBe(400);
    expect(unknown.error).toMatchObject({
      type: 'invalid_request_error',
      param: 'max_output_tokens',
      code: 'unknown_parameter',
      message: expect.stringContaining('max_output_tokens'),
    });
    expect((await chat({ temperature: 2.5 })).error).toMatchObject({ param: 'temperature', code: 'invalid_value' });
    expect((await chat({ messages: [] })).error).toMatchObject({ param: 'messages', code: 'empty_array' });
    expect((await chat({ stop: ['a', 'b', 'c', 'd', 'e'] })).error).toMatchObject({ param: 'stop' });
    expect((await chat({ stream_options: { include_usage: true } })).error).toMatchObject({ param: 'stream_options' });
  });

  it('refuses sampling parameters, max_tokens and an unknown effort for reasoning models, and reasoning_effort for others', async () => {
    for (const [model, body, param] of [
      ['emu-gpt-5-mini', { temperature: 0.5 }, 'temperature'],
      ['emu-o4-mini', { top_p: 0.5 }, 'top_p'],
      ['emu-o4-mini', { presence_penalty: 1 }, 'presence_penalty'],
      ['emu-gpt-5-mini', { logprobs: true }, 'logprobs'],
      ['emu-gpt-5-mini', { max_tokens: 10 }, 'max_tokens'],
      ['emu-gpt-5-mini', { reasoning_effort: 'none' }, 'reasoning_effort'],
      ['emu-gpt-5.1', { reasoning_effort: 'low', temperature: 0.5 }, 'temperature'],
      ['emu-gpt-small', { reasoning_effort: 'low' }, 'reasoning_effort'],
      ['emu-o4-mini', { stop: ['END'] }, 'stop'],
    ] as const) {
      const refused = await chat({ model, ...body });
      expect(refused.status, `${model} ${JSON.stringify(body)}`).toBe(400);
      expect(refused.error, `${model} ${JSON.stringify(body)}`).toMatchObject({ type: 'invalid_request_error', param });
    }
  });

  it('takes what the models take: sampling with reasoning_effort none where the model has it, developer messages', async () => {
    const none = await openai.chat.completions.create({
      model: 'emu-gpt-5.1',
      messages: [{ role: 'developer', content: 'Be brief.' }, ...user],
      reasoning_effort: 'none',
      temperature: 0.3,
      max_completion_tokens: 20,
    });
    expect(none.choices[0]?.message.content).toBe('You said: hello');
    const effort = await openai.chat.completions.create({ model: 'emu-o4-mini', messages: user, reasoning_effort: 'high' });
    expect(effort.choices[0]?.finish_reason).toBe('stop');
  });

  it('refuses system and developer messages for o1-mini and o1-preview, which take neither', async () => {
    for (const role of ['system', 'developer'] as const) {
      const refused = await chat({ model: 'emu-o1-mini', messages: [{ role, content: 'Be brief.' }, ...user] });
      expect(refused.status, role).toBe(400);
      expect(refused.error, role).toMatchObject({
        type: 'invalid_request_error',
        param: 'messages[0].role',
        message: `Unsupported value: 'messages[0].role' does not support '${role}' with this model.`,
      });
    }
    const plain = await openai.chat.completions.create({ model: 'emu-o1-mini', messages: user });
    expect(plain.choices[0]?.finish_reason).toBe('stop');
  });

  it('refuses JSON mode when no message says JSON, as OpenAI does', async () => {
    const refused = await chat({ response_format: { type: 'json_object' } });
    expect(refused.status).toBe(400);
    expect(refused.error).toMatchObject({
      type: 'invalid_request_error',
      param: 'messages',
      message: "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.",
    });
    const taken = await openai.chat.completions.create({
      model: 'emu-gpt-small',
      messages: [{ role: 'system', content: 'Answer in JSON.' }, ...user],
      response_format: { type: 'json_object' },
    });
    expect(taken.choices[0]?.finish_reason).toBe('stop');
  });

  it('refuses image options the model does not have: dall-e-3 n > 1, sizes and qualities per model', async () => {
    const image = (body: Record<string, unknown>) => refusal(() => openai.images.generate({ prompt: 'a fox', ...body } as never));
    expect((await image({ model: 'emu-dall-e-3', n: 4 })).error).toMatchObject({ param: 'n', code: 'invalid_value' });
    expect((await image({ model: 'emu-dall-e-3', size: '999x999' })).error).toMatchObject({ param: 'size' });
    expect((await image({ model: 'emu-dall-e-3', quality: 'ultra' })).error).toMatchObject({ param: 'quality' });
    expect((await image({ model: 'emu-dall-e-2', size: '1792x1024' })).error).toMatchObject({ param: 'size' });
    expect((await image({ model: 'emu-dall-e-2', style: 'vivid' })).error).toMatchObject({ param: 'style' });
    expect((await image({ model: 'emu-dall-e-3', output_format: 'webp' })).error).toMatchObject({ param: 'output_format' });
    const made = await openai.images.generate({ model: 'emu-dall-e-3', prompt: 'a fox', size: '1792x1024', quality: 'hd' });
    expect(made.data).toHaveLength(1);
  });
});

describe('Anthropic: refused with {type: "error", error: {type: "invalid_request_error", message}}', () => {
  const create = (body: Record<string, unknown>) =>
    refusal(() => anthropic.messages.create({ model: 'emu-claude-fast', max_tokens: 10, messages: user, ...body } as never));

  it('requires max_tokens and a message, and refuses unknown fields', async () => {
    const noMax = await refusal(() => anthropic.messages.create({ model: 'emu-claude-fast', messages: user } as never));
    expect(noMax.status).toBe(400);
    expect(noMax.error).toMatchObject({
      type: 'error',
      error: { type: 'invalid_request_error', message: 'max_tokens: Field required' },
    });
    expect((await create({ messages: [] })).error).toMatchObject({
      error: { type: 'invalid_request_error', message: expect.stringMatching(/^messages: /) },
    });
    expect((await create({ seed: 1 })).error).toMatchObject({ error: { message: 'seed: Extra inputs are not permitted' } });
    expect((await create({ temperature: 1.5 })).error).toMatchObject({
      error: { message: expect.stringMatching(/^temperature: /) },
    });
  });

  it('refuses temperature with top_p on 4.5-era models, and takes them together on older ones', async () => {
    const both = await create({ model: 'emu-claude-sonnet-4-5', temperature: 0.5, top_p: 0.9 });
    expect(both.status).toBe(400);
    expect(both.error).toMatchObject({ error: { message: expect.stringContaining('cannot both be specified') } });
    const opus41 = await create({ model: 'emu-claude-opus-4-1-20250805', temperature: 0.5, top_p: 0.9 });
    expect(opus41.error).toMatchObject({ error: { message: expect.stringContaining('cannot both be specified') } });
    // A dated Claude 4 id (…-4-20250514) is not a 4.x minor version: Opus 4 and Sonnet 4 take both.
    const opus4 = await anthropic.messages.create({
      model: 'emu-claude-opus-4-20250514',
      max_tokens: 10,
      messages: user,
      temperature: 0.5,
      top_p: 0.9,
    } as never);
    expect(opus4).toMatchObject({ type: 'message' });
    const older = await anthropic.messages.create({
      model: 'emu-claude-fast',
      max_tokens: 10,
      messages: user,
      temperature: 0.5,
      top_p: 0.9,
    } as never);
    expect(older).toMatchObject({ type: 'message' });
  });
});

describe('Ollama: refused with {error: "..."}', () => {
  it('refuses a missing model, a wrong type and an option Ollama would silently ignore', async () => {
    const noModel = await refusal(() => ollama.chat({ model: '', messages: user }));
    expect(noModel).toMatchObject({ status_code: 400, error: 'model is required' });
    const wrongType = await refusal(() =>
      ollama.chat({ model: 'emu-llama:latest', messages: user, options: { temperature: 'hot' } } as never),
    );
    expect(wrongType).toMatchObject({ status_code: 400, error: expect.stringContaining('options.temperature') });
    const ignored = await refusal(() =>
      ollama.chat({ model: 'emu-llama:latest', messages: user, options: { max_tokens: 5 } } as never),
    );
    expect(ignored).toMatchObject({ status_code: 400, error: expect.stringContaining('max_tokens') });
  });
});
