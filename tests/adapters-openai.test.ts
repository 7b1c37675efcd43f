import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_MODELS, emulatorModel, startEmulator } from '@llmops/emulator/server';
import { adapterFor, ProviderError, type ProviderConnection } from '@llmops/kit/adapters/index';
import { maxTokensFieldOf, modalityOf } from '@llmops/kit/adapters/openai';

const emu = await startEmulator({
  apiKeys: ['sk-emu-openai-key-1234'],
  models: { openai: [...DEFAULT_MODELS.openai, emulatorModel('emu-gpt-5-mini')] },
});
afterAll(() => emu.stop());
beforeEach(() => {
  emu.clearFaults();
  emu.clearRequests();
});

const openai = adapterFor('openai');
const connection: ProviderConnection = {
  kind: 'openai',
  baseUrl: emu.baseUrl('openai'),
  apiKey: 'sk-emu-openai-key-1234',
  organization: 'org-emu',
  project: 'proj-emu',
  headers: { 'X-Title': 'LLM Ops tests' },
};
const messages = [
  { role: 'system' as const, content: 'You are terse.' },
  { role: 'user' as const, content: 'hello there world' },
];

describe('the OpenAI adapter (official SDK) against the emulator', () => {
  it('streams deltas and returns text, finish reason, usage with cached tokens, and time to first token', async () => {
    const deltas: string[] = [];
    const result = await openai.chat(connection, { model: 'emu-gpt-small', messages }, { onDelta: (d) => deltas.push(d) });
    expect(result.text).toBe('You said: hello there world');
    expect(deltas.join('')).toBe(result.text);
    expect(deltas.length).toBeGreaterThan(1);
    expect(result.finish_reason).toBe('stop');
    expect(result.usage).toEqual({ input_tokens: 6, output_tokens: 5, cached_input_tokens: 3 });
    expect(result.time_to_first_token_ms).toBeGreaterThanOrEqual(0);
    expect(result.latency_ms).toBeGreaterThanOrEqual(result.time_to_first_token_ms ?? 0);
    expect(result.response_id).toMatch(/^chatcmpl-/);
  });

  it('sends exactly one request per attempt with the key, organization, project and extra headers, and records the wire body without them', async () => {
    const result = await openai.chat(connection, {
      model: 'emu-gpt-small',
      messages,
      parameters: { temperature: 0.2, max_output_tokens: 50, seed: 7, stop: ['STOP'], presence_penalty: 0.5 },
    });
    const sent = emu.requestsOf('openai', '/v1/chat/completions');
    expect(sent).toHaveLength(1);
    const request = sent[0]!;
    expect(request.headers.authorization).toBe('Bearer sk-emu-openai-key-1234');
    expect(request.headers['openai-organization']).toBe('org-emu');
    expect(request.headers['openai-project']).toBe('proj-emu');
    expect(request.headers['x-title']).toBe('LLM Ops tests');
    expect(request.body).toMatchObject({
      model: 'emu-gpt-small',
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.2,
      // Not api.openai.com: the field every OpenAI-compatible server reads.
      max_tokens: 50,
      seed: 7,
      stop: ['STOP'],
      presence_penalty: 0.5,
    });
    expect(result.wire.bodyText).toBe(request.raw);
    expect(result.wire.headers).toMatchObject({
      'openai-organization': 'org-emu',
      'openai-project': 'proj-emu',
      'x-title': 'LLM Ops tests',
      'content-type': 'application/json',
    });
    expect(result.wire.headers).not.toHaveProperty('authorization');
    expect(JSON.stringify(result.wire)).not.toContain('sk-emu-openai-key-1234');
  });

  it('chooses the output-cap field: the provider setting, else max_completion_tokens for OpenAI itself and for reasoning models anywhere, max_tokens elsewhere', async () => {
    expect(maxTokensFieldOf({ baseUrl: 'https://api.openai.com/v1' })).toBe('max_completion_tokens');
    expect(maxTokensFieldOf({ baseUrl: 'http://127.0.0.1:8080/v1' })).toBe('max_tokens');
    expect(maxTokensFieldOf({ baseUrl: 'https://proxy.example/openai/v1' }, true)).toBe('max_completion_tokens');
    expect(maxTokensFieldOf({ baseUrl: 'https://proxy.example/openai/v1', maxTokensField: 'max_tokens' }, true)).toBe(
      'max_tokens',
    );
    expect(maxTokensFieldOf({ baseUrl: 'http://127.0.0.1:11434/v1', maxTokensField: 'max_completion_tokens' })).toBe(
      'max_completion_tokens',
    );
    await openai.chat(
      { ...connection, maxTokensField: 'max_completion_tokens' },
      { model: 'emu-gpt-small', messages, parameters: { max_output_tokens: 9 } },
    );
    const [request] = emu.requestsOf('openai', '/v1/chat/completions');
    expect(request?.body).toMatchObject({ max_completion_tokens: 9 });
    expect(request?.body).not.toHaveProperty('max_tokens');
  });

  it('sends a reasoning model its system messages as developer messages, and reasoning_effort when given', async () => {
    await openai.chat(
      { ...connection, maxTokensField: 'max_completion_tokens' },
      { model: 'emu-gpt-5-mini', messages, reasoning: true, parameters: { reasoning_effort: 'low', max_output_tokens: 30 } },
    );
    await openai.chat(connection, { model: 'emu-gpt-small', messages });
    const [reasoning, plain] = emu.requestsOf('openai', '/v1/chat/completions');
    expect(reasoning?.body).toMatchObject({
      messages: [
        { role: 'developer', content: 'You are terse.' },
        { role: 'user', content: 'hello there world' },
      ],
      reasoning_effort: 'low',
    });
    expect(plain?.body).toMatchObject({ messages: [{ role: 'system', content: 'You are terse.' }, messages[1]] });
    expect(plain?.body).not.toHaveProperty('reasoning_effort');
  });

  it('redacts the key from the recorded wire request wherever else it went: an extra header, the body', async () => {
    const result = await openai.chat(
      {
        ...connection,
        headers: { 'X-Upstream-Key': 'sk-emu-openai-key-1234', 'X-Title': 'LLM Ops tests' },
      },
      { model: 'emu-gpt-small', messages: [{ role: 'user', content: 'my key is sk-emu-openai-key-1234' }] },
    );
    const [received] = emu.requestsOf('openai', '/v1/chat/completions');
    expect(received?.headers['x-upstream-key']).toBe('sk-emu-openai-key-1234');
    expect(result.wire.headers['x-upstream-key']).toBe('[redacted]');
    expect(result.wire.bodyText).toBe((received?.raw ?? '').replaceAll('sk-emu-openai-key-1234', '[redacted]'));
    expect(JSON.stringify(result.wire)).not.toContain('sk-emu-openai-key-1234');
  });

  it('answers without streaming when asked, and reports a length finish when max tokens cut it', async () => {
    const result = await openai.chat(connection, {
      model: 'emu-gpt-small',
      messages,
      stream: false,
      parameters: { max_output_tokens: 2 },
    });
    expect(result.text).toBe('You said: ');
    expect(result.finish_reason).toBe('length');
    expect(result.usage.output_tokens).toBe(2);
  });

  it('maps JSON mode and JSON schema onto response_format', async () => {
    const result = await openai.chat(connection, {
      model: 'emu-gpt-small',
      messages,
      parameters: { response_format: { type: 'json_schema', name: 'reply', schema: { type: 'object' }, strict: true } },
    });
    expect(JSON.parse(result.text)).toEqual({ reply: 'You said: hello there world' });
    expect(emu.requests[0]?.body).toMatchObject({
      response_format: { type: 'json_schema', json_schema: { name: 'reply', schema: { type: 'object' }, strict: true } },
    });
  });

  it('generates images as bytes and lists models', async () => {
    const image = await openai.generateImage(connection, { model: 'emu-image', prompt: 'a red fox', n: 2, size: '1024x1024' });
    expect(image.images).toHaveLength(2);
    expect(image.images[0]?.data.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(image.images[0]?.mime_type).toBe('image/png');
    const models = await openai.listModels(connection);
    expect(models.map((m) => m.id)).toEqual(['emu-gpt-small', 'emu-gpt-large', 'emu-image', 'emu-gpt-5-mini']);
    expect(models.map((m) => m.modality)).toEqual(['chat', 'chat', 'image', 'chat']);
  });

  it('tells image models from the rest by id, since the model list does not say', () => {
    const images = ['dall-e-3', 'dall-e-2', 'gpt-image-1', 'gpt-image-1-mini', 'chatgpt-image-latest', 'imagen-4.0-generate'];
    const others = ['gpt-4o', 'gpt-4o-mini', 'o3-mini', 'text-embedding-3-small', 'llava-vision', 'imageless-chat'];
    for (const id of images) expect(modalityOf(id), id).toBe('image');
    for (const id of others) expect(modalityOf(id), id).toBe('chat');
  });

  it('works with an OpenAI-compatible server that takes no key', async () => {
    const local = await startEmulator();
    try {
      const result = await openai.chat(
        { kind: 'openai', baseUrl: local.baseUrl('openai') },
        { model: 'emu-gpt-small', messages },
      );
      expect(result.text).toBe('You said: hello there world');
    } finally {
      await local.stop();
    }
  });
});

describe('OpenAI errors, normalized', () => {
  const attempt = async (options = {}) => {
    try {
      await openai.chat(connection, { model: 'emu-gpt-small', messages }, options);
    } catch (error) {
      expect(error).toBeInstanceOf(ProviderError);
      return error as ProviderError;
    }
    throw new Error('expected the attempt to fail');
  };

  it('401 is auth, not retryable, and the key is not in the message', async () => {
    const error = await (async () => {
      try {
        await openai.listModels({ ...connection, apiKey: 'sk-wrong-key-abcdef' });
      } catch (e) {
        return e as ProviderError;
      }
      throw new Error('expected a failure');
    })();
    expect(error.kind).toBe('auth');
    expect(error.retryable).toBe(false);
    expect(error.status).toBe(401);
    expect(error.message).not.toContain('sk-wrong-key-abcdef');
    expect(error.provider_code).toBe('invalid_api_key');
  });

  it('429 is rate_limit with Retry-After, after exactly one request (SDK retries are off)', async () => {
    emu.fault({ protocol: 'openai', status: 429, retryAfter: 7 });
    const error = await attempt();
    expect(error).toMatchObject({ kind: 'rate_limit', retryable: true, retry_after_ms: 7000, status: 429 });
    expect(emu.requests).toHaveLength(1);
  });

  it('500 is a retryable server error; fail-once-then-succeed works on the next attempt', async () => {
    emu.fault({ protocol: 'openai', status: 500, times: 1 });
    expect(await attempt()).toMatchObject({ kind: 'server', retryable: true });
    const second = await openai.chat(connection, { model: 'emu-gpt-small', messages });
    expect(second.text).toBe('You said: hello there world');
    expect(emu.requests).toHaveLength(2);
  });

  it('an unknown model is a bad request', async () => {
    const error = await (async () => {
      try {
        await openai.chat(connection, { model: 'no-such-model', messages });
      } catch (e) {
        return e as ProviderError;
      }
      throw new Error('expected a failure');
    })();
    expect(error).toMatchObject({ kind: 'bad_request', retryable: false, status: 404 });
  });

  it('no first byte in time is a timeout; the request is aborted', async () => {
    emu.fault({ protocol: 'openai', delayFirstByteMs: 2_000 });
    const started = Date.now();
    const error = await attempt({ firstByteTimeoutMs: 150 });
    expect(error).toMatchObject({ kind: 'timeout', retryable: true });
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('a stream that stalls is an idle timeout', async () => {
    emu.fault({ protocol: 'openai', chunkDelayMs: 1_000 });
    const error = await attempt({ idleTimeoutMs: 150 });
    expect(error).toMatchObject({ kind: 'timeout', retryable: true });
    expect(error.message).toContain('stalled');
  });

  it('a slow stream within the idle timeout completes', async () => {
    emu.fault({ protocol: 'openai', chunkDelayMs: 30 });
    const result = await openai.chat(connection, { model: 'emu-gpt-small', messages }, { idleTimeoutMs: 1_000 });
    expect(result.text).toBe('You said: hello there world');
  });

  it('a first byte held by the fault (firstByteAfter) waits for its release: a first-byte timeout while held, the whole reply once released', async () => {
    emu.fault({ protocol: 'openai', firstByteAfter: new Promise(() => undefined), times: 1 });
    expect(await attempt({ firstByteTimeoutMs: 150 })).toMatchObject({ kind: 'timeout', retryable: true });

    let release!: () => void;
    emu.fault({ protocol: 'openai', firstByteAfter: new Promise<void>((resolve) => (release = resolve)), times: 1 });
    const deltas: string[] = [];
    const call = openai.chat(connection, { model: 'emu-gpt-small', messages }, { onDelta: (d) => deltas.push(d) });
    release();
    const result = await call;
    expect(result.text).toBe('You said: hello there world');
    expect(deltas.join('')).toBe(result.text);
  });

  it('a stream cut half-way is a retryable network error, with the deltas seen so far delivered', async () => {
    emu.fault({ protocol: 'openai', cutAfterChunks: 3 });
    const deltas: string[] = [];
    const error = await attempt({ onDelta: (d: string) => deltas.push(d) });
    expect(error).toMatchObject({ kind: 'network', retryable: true });
    expect(deltas.join('')).toBe('You said: ');
  });

  it('an error chunk inside the stream keeps OpenAI’s own kind and code, not network', async () => {
    emu.fault({ protocol: 'openai', streamError: 500, streamErrorAfterChunks: 3 });
    const deltas: string[] = [];
    const error = await attempt({ onDelta: (d: string) => deltas.push(d) });
    expect(error).toMatchObject({ kind: 'server', retryable: true, provider_code: 'server_error' });
    expect(deltas.join('')).toBe('You said: ');
    expect(error.wire?.bodyText).toBe(emu.requests[0]?.raw);
    emu.clearFaults();
    emu.fault({ protocol: 'openai', streamError: 429 });
    expect(await attempt()).toMatchObject({ kind: 'rate_limit', provider_code: 'rate_limit_exceeded' });
  });

  it('attempts running at once on one connection (one SDK client) each send, record and cancel their own request', async () => {
    emu.fault({ protocol: 'openai', chunkDelayMs: 40 });
    const controller = new AbortController();
    const ask = (content: string, signal?: AbortSignal) =>
      openai.chat(connection, { model: 'emu-gpt-small', messages: [{ role: 'user', content }] }, { signal });
    const settled = Promise.allSettled([ask('first one here'), ask('second one here', controller.signal), ask('third one here')]);
    setTimeout(() => controller.abort(), 60);
    const [first, second, third] = await settled;
    expect(first).toMatchObject({ status: 'fulfilled', value: { text: 'You said: first one here' } });
    expect(third).toMatchObject({ status: 'fulfilled', value: { text: 'You said: third one here' } });
    expect(second).toMatchObject({ status: 'rejected', reason: { kind: 'cancelled' } });
    const wires = [first, third].map((r) => (r.status === 'fulfilled' ? JSON.parse(r.value.wire.bodyText) : undefined));
    expect(wires.map((body) => body.messages[0].content)).toEqual(['first one here', 'third one here']);
    expect(emu.requestsOf('openai', '/v1/chat/completions')).toHaveLength(3);
  });

  it('the caller aborting is cancelled, not retryable', async () => {
    emu.fault({ protocol: 'openai', delayFirstByteMs: 2_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    expect(await attempt({ signal: controller.signal })).toMatchObject({ kind: 'cancelled', retryable: false });
  });

  it('a server that is not there is a network error', async () => {
    const error = await (async () => {
      try {
        await openai.listModels({ kind: 'openai', baseUrl: 'http://127.0.0.1:9/v1', apiKey: 'x' });
      } catch (e) {
        return e as ProviderError;
      }
      throw new Error('expected a failure');
    })();
    expect(error).toMatchObject({ kind: 'network', retryable: true });
  });
});
