import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator } from '@llmops/emulator/server';
import { adapterFor, ProviderError, type ProviderConnection } from '@llmops/kit/adapters/index';

const emu = await startEmulator();
afterAll(() => emu.stop());
beforeEach(() => {
  emu.clearFaults();
  emu.clearRequests();
});

const ollama = adapterFor('ollama');
const connection: ProviderConnection = { kind: 'ollama', baseUrl: emu.baseUrl('ollama') };
const messages = [
  { role: 'system' as const, content: 'Answer in English.' },
  { role: 'user' as const, content: 'tell me more' },
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

describe('the Ollama adapter (official SDK) against the emulator', () => {
  it('streams NDJSON into text, finish reason and usage', async () => {
    const deltas: string[] = [];
    const result = await ollama.chat(connection, { model: 'emu-llama:latest', messages }, { onDelta: (d) => deltas.push(d) });
    expect(result.text).toBe('You said: tell me more');
    expect(deltas.length).toBe(5);
    expect(result).toMatchObject({ finish_reason: 'stop', usage: { input_tokens: 6, output_tokens: 5, cached_input_tokens: 0 } });
  });

  it('passes sampling parameters inside options, where Ollama reads them, not at the top level', async () => {
    await ollama.chat(connection, {
      model: 'emu-llama:latest',
      messages,
      parameters: { temperature: 0.1, top_p: 0.9, top_k: 20, max_output_tokens: 64, seed: 3, stop: ['x'] },
    });
    const body = emu.requestsOf('ollama', '/api/chat')[0]?.body as Record<string, unknown>;
    expect(body.options).toEqual({ temperature: 0.1, top_p: 0.9, top_k: 20, num_predict: 64, seed: 3, stop: ['x'] });
    expect(body).not.toHaveProperty('temperature');
    expect(body.messages).toEqual(messages);
  });

  it('maps JSON mode onto format and num_predict onto a length finish', async () => {
    const result = await ollama.chat(connection, {
      model: 'emu-llama:latest',
      messages,
      stream: false,
      parameters: { response_format: { type: 'json_object' }, max_output_tokens: 100 },
    });
    expect(JSON.parse(result.text)).toEqual({ reply: 'You said: tell me more' });
    expect(emu.requests[0]?.body).toMatchObject({ format: 'json', stream: false });
    const short = await ollama.chat(connection, { model: 'emu-llama:latest', messages, parameters: { max_output_tokens: 2 } });
    expect(short.finish_reason).toBe('length');
  });

  it('lists models from /api/tags', async () => {
    const models = await ollama.listModels(connection);
    expect(models.map((m) => m.id)).toEqual(['emu-llama:latest', 'emu-qwen:7b']);
    expect(emu.requests[0]?.path).toBe('/ollama/api/tags');
  });

  it('sends a configured key as a bearer token (ollama.com or a proxy in front)', async () => {
    await ollama.listModels({ ...connection, apiKey: 'ollama-key-9999' });
    expect(emu.requests[0]?.headers.authorization).toBe('Bearer ollama-key-9999');
  });
});

describe('Ollama errors, normalized', () => {
  it('an unknown model is a bad request with Ollama’s own message', async () => {
    const error = await failure(() => ollama.chat(connection, { model: 'nope', messages }));
    expect(error).toMatchObject({ kind: 'bad_request', status: 404 });
    expect(error.message).toContain('not found');
  });

  it('500 and 429 map like the others; a cut stream is a network error', async () => {
    emu.fault({ protocol: 'ollama', status: 500, times: 1 });
    expect(await failure(() => ollama.chat(connection, { model: 'emu-llama:latest', messages }))).toMatchObject({
      kind: 'server',
      retryable: true,
    });
    emu.fault({ protocol: 'ollama', status: 429, times: 1 });
    expect(await failure(() => ollama.chat(connection, { model: 'emu-llama:latest', messages }))).toMatchObject({
      kind: 'rate_limit',
    });
    emu.fault({ protocol: 'ollama', cutAfterChunks: 2, times: 1 });
    expect(await failure(() => ollama.chat(connection, { model: 'emu-llama:latest', messages }))).toMatchObject({
      kind: 'network',
    });
  });

  it('a delay before the first byte beyond the timeout is a timeout', async () => {
    emu.fault({ protocol: 'ollama', delayFirstByteMs: 2_000, times: 1 });
    expect(
      await failure(() => ollama.chat(connection, { model: 'emu-llama:latest', messages }, { firstByteTimeoutMs: 100 })),
    ).toMatchObject({ kind: 'timeout' });
  });

  it('an error line inside the stream keeps Ollama’s own kind and text, not network', async () => {
    emu.fault({ protocol: 'ollama', streamError: 503, times: 1 });
    const deltas: string[] = [];
    const busy = await failure(() =>
      ollama.chat(connection, { model: 'emu-llama:latest', messages }, { onDelta: (d) => deltas.push(d) }),
    );
    expect(busy).toMatchObject({ kind: 'overloaded', retryable: true, message: 'server busy, please try again' });
    expect(deltas.join('')).toBe('You said: ');
    emu.fault({ protocol: 'ollama', streamError: 500, times: 1 });
    expect(await failure(() => ollama.chat(connection, { model: 'emu-llama:latest', messages }))).toMatchObject({
      kind: 'server',
      message: 'internal server error',
    });
  });

  it('every failed attempt keeps the request it sent: HTTP error, timeout, cancel, error line', async () => {
    const controller = new AbortController();
    const runs: [string, () => void, { signal?: AbortSignal; firstByteTimeoutMs?: number }][] = [
      ['server', () => emu.fault({ protocol: 'ollama', status: 500, times: 1 }), {}],
      ['timeout', () => emu.fault({ protocol: 'ollama', delayFirstByteMs: 2_000, times: 1 }), { firstByteTimeoutMs: 100 }],
      [
        'cancelled',
        () => {
          emu.fault({ protocol: 'ollama', delayFirstByteMs: 2_000, times: 1 });
          setTimeout(() => controller.abort(), 100);
        },
        { signal: controller.signal },
      ],
      ['overloaded', () => emu.fault({ protocol: 'ollama', streamError: 503, times: 1 }), {}],
    ];
    for (const [kind, arrange, options] of runs) {
      emu.clearRequests();
      arrange();
      const error = await failure(() => ollama.chat(connection, { model: 'emu-llama:latest', messages }, options));
      expect(error.kind).toBe(kind);
      const [received] = emu.requestsOf('ollama', '/api/chat');
      expect(error.wire).toMatchObject({ method: 'POST', url: `${emu.baseUrl('ollama')}/api/chat` });
      expect(error.wire?.bodyText).toBe(received?.raw);
    }
  });
});
