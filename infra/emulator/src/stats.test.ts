/** The emulator's count of requests in flight, which limit tests read to prove a provider was never asked too much at once. */
import { afterAll, describe, expect, it } from 'vitest';
import { startEmulator, type EmulatorStats } from './server.ts';

const emu = await startEmulator();
afterAll(() => emu.stop());

const headers = { authorization: 'Bearer k', 'content-type': 'application/json' };
const chat = (signal?: AbortSignal) =>
  fetch(`${emu.baseUrl('openai')}/chat/completions`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ model: 'emu-gpt-small', stream: true, messages: [{ role: 'user', content: 'one two three' }] }),
    ...(signal ? { signal } : {}),
  });

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('requests in flight', () => {
  it('counts from arrival to the end of the response, overall and per protocol, and over HTTP', async () => {
    const fault = emu.fault({ protocol: 'openai', chunkDelayMs: 100 });
    const calls = [chat(), chat(), chat()].map(async (call) => (await call).text());
    await until(() => emu.inFlight === 3, 'three requests in flight');
    const during = (await (await fetch(`${emu.url}/_emulator/stats`)).json()) as EmulatorStats;
    expect(during).toMatchObject({
      inFlight: 3,
      maxInFlight: 3,
      byProtocol: { openai: { inFlight: 3 }, ollama: { inFlight: 0 } },
    });
    const texts = await Promise.all(calls);
    expect(texts.every((text) => text.includes('[DONE]'))).toBe(true);
    fault.remove();
    await until(() => emu.inFlight === 0, 'no request in flight');
    expect(emu.maxInFlight).toBe(3);
    expect(emu.requests.every((r) => r.endedAt !== undefined && r.endedAt >= r.at)).toBe(true);

    const reset = (await (await fetch(`${emu.url}/_emulator/stats`, { method: 'DELETE' })).json()) as EmulatorStats;
    expect(reset).toMatchObject({ inFlight: 0, maxInFlight: 0 });
    await (await chat()).text();
    expect(emu.stats()).toMatchObject({ inFlight: 0, maxInFlight: 1, byProtocol: { openai: { maxInFlight: 1 } } });
  });

  it('stops counting a request whose client went away mid-stream', async () => {
    emu.resetMaxInFlight();
    const fault = emu.fault({ protocol: 'openai', chunkDelayMs: 5_000, times: 1 });
    const controller = new AbortController();
    const response = await chat(controller.signal);
    expect(response.status).toBe(200);
    expect(emu.inFlight).toBe(1);
    controller.abort();
    await until(() => emu.inFlight === 0, 'the abandoned request to end');
    expect(emu.maxInFlight).toBe(1);
    fault.remove();
  });
});
