import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator } from '@llmops/emulator/server';
import { adapterFor, ProviderError, type ProviderConnection } from '@llmops/kit/adapters/index';

const emu = await startEmulator({ apiKeys: ['sk-ant-emu-key-5678'] });
afterAll(() => emu.stop());
beforeEach(() => {
  emu.clearFaults();
  emu.clearRequests();
});

const anthropic = adapterFor('anthropic');
const connection: ProviderConnection = { kind: 'anthropic', baseUrl: emu.baseUrl('anthropic'), apiKey: 'sk-ant-emu-key-5678' };
const messages = [
  { role: 'system' as const, content: 'Be brief.' },
  { role: 'user' as const, content: 'what is up' },
];

async function failure(run: () => Promise<unknown>): Promise<ProviderError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderError);
    return error as ProviderError;
  }
  throw new Error('expected a failure');
}

describe('the Anthropic adapter (official SDK) against the emulator', () => {
  it('streams the full event sequence into text, finish reason, usage (cache reads included in input) and time to first token', async () => {
    const deltas: string[] = [];
    const result = await anthropic.chat(connection, { model: 'emu-claude-fast', messages }, { onDelta: (d) => deltas.push(d) });
    expect(result.text).toBe('You said: what is up');
    expect(deltas.join('')).toBe(result.text);
    expect(result.finish_reason).toBe('stop');
    expect(result.provider_finish_reason).toBe('end_turn');
    expect(result.usage).toEqual({ input_tokens: 5, output_tokens: 5, cached_input_tokens: 2 });
    expect(result.time_to_first_token_ms).not.toBeNull();
    expect(result.response_id).toMatch(/^msg_/);
  });

  it('maps system messages onto the system field, sends the key and anthropic-version, and stop sequences by their name', async () => {
    await anthropic.chat(connection, {
      model: 'emu-claude-fast',
      messages,
      parameters: { max_output_tokens: 100, stop: ['END'], temperature: 0.5, top_k: 40 },
    });
    const [request] = emu.requestsOf('anthropic', '/v1/messages');
    // SDK 1.x sends the API key as a bearer token; the API (and the emulator) also take `x-api-key`.
    expect(request?.headers['x-api-key'] ?? request?.headers.authorization?.replace('Bearer ', '')).toBe('sk-ant-emu-key-5678');
    expect(request?.headers['anthropic-version']).toBeTruthy();
    expect(request?.body).toMatchObject({
      system: 'Be brief.',
      messages: [{ role: 'user', content: 'what is up' }],
      max_tokens: 100,
      stop_sequences: ['END'],
      temperature: 0.5,
      top_k: 40,
      stream: true,
    });
  });

  it('sends the model’s own output maximum as max_tokens when the preset gives none, else 4096', async () => {
    await anthropic.chat(connection, { model: 'emu-claude-fast', messages, defaultMaxOutputTokens: 2000 });
    await anthropic.chat(connection, {
      model: 'emu-claude-fast',
      messages,
      defaultMaxOutputTokens: 2000,
      parameters: { max_output_tokens: 50 },
    });
    await anthropic.chat(connection, { model: 'emu-claude-fast', messages });
    expect(emu.requestsOf('anthropic', '/v1/messages').map((r) => (r.body as { max_tokens: number }).max_tokens)).toEqual([
      2000, 50, 4096,
    ]);
  });

  it('reports max_tokens as a length finish, non-streaming too', async () => {
    const result = await anthropic.chat(connection, {
      model: 'emu-claude-fast',
      messages,
      stream: false,
      parameters: { max_output_tokens: 1 },
    });
    expect(result).toMatchObject({ text: 'You ', finish_reason: 'length', provider_finish_reason: 'max_tokens' });
  });

  it('sends a JSON schema as output_config.format', async () => {
    const result = await anthropic.chat(connection, {
      model: 'emu-claude-fast',
      messages,
      parameters: { response_format: { type: 'json_schema', name: 'r', schema: { type: 'object' } } },
    });
    expect(JSON.parse(result.text)).toEqual({ reply: 'You said: what is up' });
    expect(emu.requests[0]?.body).toMatchObject({
      output_config: { format: { type: 'json_schema', schema: { type: 'object' } } },
    });
  });

  it('lists models with display names and limits', async () => {
    const models = await anthropic.listModels(connection);
    expect(models.map((m) => m.id)).toEqual(['emu-claude-fast', 'emu-claude-deep']);
    expect(models[0]).toMatchObject({
      display_name: 'emu-claude-fast (local emulator stand-in)',
      details: { context_window: 200_000, max_output_tokens: 64_000 },
    });
  });

  it('refuses parameters Anthropic does not have before sending anything', async () => {
    const error = await failure(() =>
      anthropic.chat(connection, { model: 'emu-claude-fast', messages, parameters: { seed: 1 } }),
    );
    expect(error.kind).toBe('bad_request');
    expect(emu.requests).toHaveLength(0);
  });
});

describe('Anthropic errors, normalized', () => {
  it('a wrong key is auth (the emulator checks x-api-key)', async () => {
    const error = await failure(() => anthropic.listModels({ ...connection, apiKey: 'sk-ant-wrong-0000' }));
    expect(error).toMatchObject({ kind: 'auth', status: 401, retryable: false, provider_code: 'authentication_error' });
    expect(error.message).not.toContain('sk-ant-wrong-0000');
  });

  it('529 is overloaded and retryable; 429 carries Retry-After', async () => {
    emu.fault({ protocol: 'anthropic', status: 529, times: 1 });
    expect(await failure(() => anthropic.chat(connection, { model: 'emu-claude-fast', messages }))).toMatchObject({
      kind: 'overloaded',
      retryable: true,
      status: 529,
    });
    emu.fault({ protocol: 'anthropic', status: 429, retryAfter: 3, times: 1 });
    expect(await failure(() => anthropic.chat(connection, { model: 'emu-claude-fast', messages }))).toMatchObject({
      kind: 'rate_limit',
      retry_after_ms: 3000,
    });
    expect(emu.requests).toHaveLength(2);
  });

  it('a stream cut before message_stop is a network error', async () => {
    emu.fault({ protocol: 'anthropic', cutAfterChunks: 4 });
    expect(await failure(() => anthropic.chat(connection, { model: 'emu-claude-fast', messages }))).toMatchObject({
      kind: 'network',
      retryable: true,
    });
  });

  it('an `event: error` inside the stream keeps Anthropic’s own kind (overloaded, server), not network', async () => {
    emu.fault({ protocol: 'anthropic', streamError: 529, streamErrorAfterChunks: 4, times: 1 });
    const overloaded = await failure(() => anthropic.chat(connection, { model: 'emu-claude-fast', messages }));
    expect(overloaded).toMatchObject({ kind: 'overloaded', retryable: true, provider_code: 'overloaded_error' });
    expect(overloaded.wire?.bodyText).toBe(emu.requests[0]?.raw);
    emu.fault({ protocol: 'anthropic', streamError: 500, times: 1 });
    expect(await failure(() => anthropic.chat(connection, { model: 'emu-claude-fast', messages }))).toMatchObject({
      kind: 'server',
      provider_code: 'api_error',
    });
  });

  it('the emulator checks x-api-key and anthropic-version like the real API', async () => {
    const noKey = await fetch(`${emu.baseUrl('anthropic')}/v1/models`, { headers: { 'anthropic-version': '2023-06-01' } });
    expect(noKey.status).toBe(401);
    expect(await noKey.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    const classic = await fetch(`${emu.baseUrl('anthropic')}/v1/models`, {
      headers: { 'anthropic-version': '2023-06-01', 'x-api-key': 'sk-ant-emu-key-5678' },
    });
    expect(classic.status).toBe(200);
    const response = await fetch(`${emu.baseUrl('anthropic')}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'sk-ant-emu-key-5678', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });
});
