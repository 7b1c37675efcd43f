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
import { DEFAULT_MODELS, emulatorModel, startEmulator } from '@llmops/emulator/server';
import { adapterFor, KINDS, type ChatParameters, type ChatRequest, type ImageRequest } from '@llmops/kit/adapters/index';

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

const emu = await startEmulator({
  models: {
    openai: [
      ...DEFAULT_MODELS.openai,
      ...['emu-o4-mini', 'emu-gpt-5-mini', 'emu-gpt-5.1'].map((id) => emulatorModel(id)),
      ...['emu-dall-e-3', 'emu-dall-e-2', 'emu-gpt-image-1'].map((id) => emulatorModel(id, 'image')),
    ],
  },
});
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

/** A value for every parameter the registry accepts for OpenAI (kinds.ts); a new one without a value fails the test. */
const VALUES: { [K in keyof ChatParameters]: ChatParameters[K][] } = {
  temperature: [0.7],
  top_p: [0.9],
  max_output_tokens: [64],
  stop: [['END', 'STOP']],
  seed: [42],
  presence_penalty: [0.5],
  frequency_penalty: [-0.5],
  response_format: [
    { type: 'text' },
    { type: 'json_object' },
    { type: 'json_schema', name: 'answer_v1', schema: { type: 'object', properties: { a: { type: 'string' } } }, strict: true },
  ],
  reasoning_effort: ['none', 'minimal', 'low', 'medium', 'high'],
};

const SAMPLING: (keyof ChatParameters)[] = ['temperature', 'top_p', 'presence_penalty', 'frequency_penalty'];

const messages = [
  { role: 'system' as const, content: 'Be exact; answer in JSON when asked to.' },
  { role: 'user' as const, content: 'u' },
  { role: 'assistant' as const, content: 'a' },
  { role: 'user' as const, content: 'u2' },
];

interface Case {
  label: string;
  request: ChatRequest;
  field: 'max_tokens' | 'max_completion_tokens';
}

/** Every parameter with each of its values, streaming and not, with both output-cap fields where the model takes both. */
function cases(): Case[] {
  const out: Case[] = [];
  const sampling = Object.fromEntries(
    (Object.keys(VALUES) as (keyof ChatParameters)[])
      .filter((name) => name !== 'response_format' && name !== 'reasoning_effort')
      .map((name) => [name, VALUES[name]?.[0]]),
  ) as ChatParameters;
  for (const stream of [true, false]) {
    for (const field of ['max_tokens', 'max_completion_tokens'] as const)
      for (const response_format of VALUES.response_format ?? [])
        out.push({
          label: `chat model, ${field}, ${response_format?.type}, stream ${stream}`,
          field,
          request: { model: 'emu-gpt-small', messages, stream, parameters: { ...sampling, response_format } },
        });
    const withoutSampling = Object.fromEntries(Object.entries(sampling).filter(([name]) => !SAMPLING.includes(name as never)));
    // o3 and o4-mini take no stop sequences either (the document's StopConfiguration).
    const withoutStop = Object.fromEntries(Object.entries(withoutSampling).filter(([name]) => name !== 'stop'));
    for (const [model, efforts] of [
      ['emu-o4-mini', ['low', 'medium', 'high']],
      ['emu-gpt-5-mini', ['minimal', 'low', 'medium', 'high']],
      ['emu-gpt-5.1', ['low', 'high']],
    ] as const)
      for (const effort of efforts)
        out.push({
          label: `reasoning ${model}, effort ${effort}, stream ${stream}`,
          field: 'max_completion_tokens',
          request: {
            model,
            messages,
            stream,
            reasoning: true,
            parameters: {
              ...(model === 'emu-o4-mini' ? withoutStop : withoutSampling),
              reasoning_effort: effort,
              response_format: VALUES.response_format?.[2],
            },
          },
        });
    out.push({
      label: `reasoning emu-gpt-5.1, effort none with sampling, stream ${stream}`,
      field: 'max_completion_tokens',
      request: { model: 'emu-gpt-5.1', messages, stream, reasoning: true, parameters: { ...sampling, reasoning_effort: 'none' } },
    });
  }
  return out;
}

describe('the OpenAI adapter sends requests the OpenAI document accepts', () => {
  it('has a value for every parameter the registry accepts for OpenAI', () => {
    for (const name of Object.keys(KINDS.openai.parameters)) expect(VALUES, name).toHaveProperty(name);
  });

  it('chat: every parameter, streaming and not, reasoning and not, both output-cap fields — schema, prose rules and wire record', async () => {
    emu.clearRequests();
    const all = cases();
    for (const { label, request, field } of all) {
      const result = await openai.chat({ ...connection, maxTokensField: field }, request).catch((error: unknown) => {
        throw new Error(`${label}: the emulator (strict, with OpenAI's prose rules) refused it: ${(error as Error).message}`);
      });
      const sent = emu.requests.at(-1);
      expect(result.wire.bodyText, label).toBe(sent?.raw);
      check('CreateChatCompletionRequest', JSON.parse(sent?.raw ?? 'null'));
      const body = JSON.parse(sent?.raw ?? '{}') as Record<string, unknown>;
      if (request.parameters?.max_output_tokens !== undefined)
        expect(body[field], label).toBe(request.parameters.max_output_tokens);
      if (request.reasoning) expect((body.messages as { role: string }[])[0]?.role, label).toBe('developer');
    }
    expect(emu.requestsOf('openai', '/v1/chat/completions')).toHaveLength(all.length);
  });

  it('images: each model family with its sizes, qualities and n — schema, prose rules and wire record', async () => {
    emu.clearRequests();
    const requests: ImageRequest[] = [
      ...['1024x1024', '1792x1024', '1024x1792'].flatMap((size) =>
        ['standard', 'hd'].map((quality) => ({ model: 'emu-dall-e-3', prompt: 'a fox', n: 1, size, quality })),
      ),
      ...['256x256', '512x512', '1024x1024'].flatMap((size) =>
        [1, 2].map((n) => ({ model: 'emu-dall-e-2', prompt: 'a fox', n, size, quality: 'standard' })),
      ),
      ...['auto', '1024x1024', '1536x1024', '1024x1536'].flatMap((size) =>
        ['auto', 'low', 'medium', 'high'].map((quality) => ({ model: 'emu-gpt-image-1', prompt: 'a fox', n: 1, size, quality })),
      ),
      { model: 'emu-image', prompt: 'a fox' },
    ];
    for (const request of requests) {
      const label = JSON.stringify(request);
      const result = await openai.generateImage(connection, request).catch((error: unknown) => {
        throw new Error(`${label}: refused: ${(error as Error).message}`);
      });
      expect(result.images, label).toHaveLength(request.n ?? 1);
      const sent = emu.requests.at(-1);
      expect(result.wire.bodyText, label).toBe(sent?.raw);
      check('CreateImageRequest', JSON.parse(sent?.raw ?? 'null'));
    }
  });
});
