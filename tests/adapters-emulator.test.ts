/** The emulator's own controls, as other processes (browser tests, benchmarks) use them over HTTP. */
import { afterAll, describe, expect, it } from 'vitest';
import { startEmulator } from '@llmops/emulator/server';
import { adapterFor } from '@llmops/kit/adapters/index';

const emu = await startEmulator();
afterAll(() => emu.stop());

describe('the emulator over HTTP', () => {
  it('takes faults and gives its request log through /_emulator', async () => {
    const added = await fetch(`${emu.url}/_emulator/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ protocol: 'ollama', path: '/api/tags', status: 503, retryAfter: 4, times: 1 }),
    });
    expect(added.status).toBe(201);
    const ollama = adapterFor('ollama');
    const connection = { kind: 'ollama' as const, baseUrl: emu.baseUrl('ollama') };
    await expect(ollama.listModels(connection)).rejects.toMatchObject({ kind: 'overloaded', status: 503 });
    expect(await ollama.listModels(connection)).toHaveLength(2);
    const log = (await (await fetch(`${emu.url}/_emulator/requests`)).json()) as { requests: { path: string; status: number }[] };
    expect(log.requests.map((r) => [r.path, r.status])).toEqual([
      ['/ollama/api/tags', 503],
      ['/ollama/api/tags', 200],
    ]);
    await fetch(`${emu.url}/_emulator/requests`, { method: 'DELETE' });
    expect(emu.requests).toHaveLength(0);
  });

  it('answers deterministically: the same request gives the same reply and id', async () => {
    const body = JSON.stringify({ model: 'emu-gpt-small', messages: [{ role: 'user', content: 'same words' }] });
    const headers = { authorization: 'Bearer k', 'content-type': 'application/json' };
    const one = (await (await fetch(`${emu.baseUrl('openai')}/chat/completions`, { method: 'POST', headers, body })).json()) as {
      id: string;
      choices: { message: { content: string } }[];
    };
    const two = (await (await fetch(`${emu.baseUrl('openai')}/chat/completions`, { method: 'POST', headers, body })).json()) as {
      id: string;
    };
    expect(one.choices[0]?.message.content).toBe('You said: same words');
    expect(two.id).toBe(one.id);
  });
});
