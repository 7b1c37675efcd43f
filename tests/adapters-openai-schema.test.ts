/**
 * The emulator's OpenAI answers and the requests our OpenAI adapter sends, checked against the official
 * OpenAI OpenAPI document (tests/fixtures/openai-openapi.yaml, a copy of ../shared/fixtures/), so neither drifts from the real API.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { startEmulator } from '@llmops/emulator/server';
import { adapterFor } from '@llmops/kit/adapters/index';

const SPEC = fileURLToPath(new URL('./fixtures/openai-openapi.yaml', import.meta.url));

/** OpenAPI 3.1 mostly is JSON Schema 2020-12; a few leftover 3.0 `nullable: true` are turned into type unions. */
function normalize(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(normalize);
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = normalize(value);
  if (out.nullable === true) {
    delete out.nullable;
    if (Array.isArray(out.enum)) out.enum = [...(out.enum as unknown[]), null];
    if (typeof out.type === 'string') out.type = [out.type, 'null'];
    else if (!Array.isArray(out.enum)) return { anyOf: [out, { type: 'null' }] };
  }
  return out;
}

const document = normalize(parse(readFileSync(SPEC, 'utf8'))) as { components: { schemas: Record<string, unknown> } };
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
ajv.addSchema({ $id: 'openai', components: document.components });

function check(schema: string, value: unknown): void {
  const validate = ajv.getSchema(`openai#/components/schemas/${schema}`);
  if (!validate) throw new Error(`no schema ${schema} in the OpenAI document`);
  const ok = validate(value);
  expect(ok ? [] : validate.errors, `${schema}: ${JSON.stringify(value).slice(0, 400)}`).toEqual([]);
}

const emu = await startEmulator();
afterAll(() => emu.stop());
const base = emu.baseUrl('openai');
const headers = { authorization: 'Bearer sk-schema-test', 'content-type': 'application/json' };
const openai = adapterFor('openai');
const connection = { kind: 'openai' as const, baseUrl: base, apiKey: 'sk-schema-test' };

describe('the emulator answers as the OpenAI document says', () => {
  it('chat completion (non-streaming)', async () => {
    const response = await fetch(`${base}/chat/completions`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model: 'emu-gpt-small', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(response.status).toBe(200);
    check('CreateChatCompletionResponse', await response.json());
  });

  it('chat completion chunks (streaming, with usage)', async () => {
    const response = await fetch(`${base}/chat/completions`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        model: 'emu-gpt-small',
        messages: [{ role: 'user', content: 'hi there' }],
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    const text = await response.text();
    const events = text
      .split('\n\n')
      .filter((frame) => frame.startsWith('data: '))
      .map((frame) => frame.slice(6));
    expect(events.at(-1)).toBe('[DONE]');
    for (const event of events.slice(0, -1)) check('CreateChatCompletionStreamResponse', JSON.parse(event));
  });

  it('models list, images, and error bodies', async () => {
    check('ListModelsResponse', await (await fetch(`${base}/models`, { headers })).json());
    const image = await fetch(`${base}/images/generations`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model: 'emu-image', prompt: 'a fox' }),
    });
    check('ImagesResponse', await image.json());
    emu.fault({ protocol: 'openai', status: 429, times: 1 });
    const limited = await fetch(`${base}/models`, { headers });
    expect(limited.status).toBe(429);
    check('ErrorResponse', await limited.json());
    const unauthorized = await fetch(`${base}/models`);
    check('ErrorResponse', await unauthorized.json());
  });
});

describe('the OpenAI adapter sends requests the OpenAI document accepts', () => {
  it('chat with every normalized parameter, streaming and not', async () => {
    emu.clearRequests();
    const messages = [
      { role: 'system' as const, content: 's' },
      { role: 'user' as const, content: 'u' },
      { role: 'assistant' as const, content: 'a' },
      { role: 'user' as const, content: 'u2' },
    ];
    const parameters = {
      temperature: 1,
      top_p: 0.5,
      max_output_tokens: 20,
      stop: ['a', 'b'],
      seed: 1,
      presence_penalty: -1,
      frequency_penalty: 1,
    };
    await openai.chat(connection, { model: 'emu-gpt-small', messages, parameters });
    await openai.chat(connection, {
      model: 'emu-gpt-small',
      messages,
      stream: false,
      parameters: { response_format: { type: 'json_schema', name: 'x', schema: { type: 'object' }, strict: true } },
    });
    await openai.chat(connection, { model: 'emu-gpt-small', messages, parameters: { response_format: { type: 'json_object' } } });
    const sent = emu.requestsOf('openai', '/v1/chat/completions');
    expect(sent).toHaveLength(3);
    for (const request of sent) check('CreateChatCompletionRequest', request.body);
  });

  it('image generation', async () => {
    emu.clearRequests();
    await openai.generateImage(connection, { model: 'emu-image', prompt: 'a fox', n: 1, size: '1024x1024', quality: 'high' });
    check('CreateImageRequest', emu.requestsOf('openai', '/v1/images/generations')[0]?.body);
  });
});
