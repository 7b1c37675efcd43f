import { afterAll, describe, expect, it } from 'vitest';
import { startStack } from '@llmops/kit/testing/stack';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { createServiceClient } from '@llmops/kit/http/service-client';
import { Credentials } from './provider-connections.ts';

const db = await useTestDatabase();
const stack = await startStack({ db, services: ['registry'] });
afterAll(() => stack.stop());

async function provider(body: Record<string, unknown>): Promise<string> {
  const response = await stack.call('registry', '/api/v1/providers', { method: 'POST', body: JSON.stringify(body) });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

describe("the runner's provider connections", () => {
  it("carry the provider's max-tokens field to the adapter, and leave it out when the kind's default applies", async () => {
    const registry = createServiceClient({
      caller: 'runner',
      service: 'registry',
      url: stack.urls.registry as string,
      secret: stack.secret,
    });
    const credentials = new Credentials(registry, 60_000);
    const local = await provider({
      name: 'llama.cpp',
      kind: 'openai',
      base_url: 'http://127.0.0.1:8080/v1',
      max_tokens_field: 'max_tokens',
    });
    const plain = await provider({ name: 'vLLM', kind: 'openai', base_url: 'http://127.0.0.1:8000/v1' });
    expect(await credentials.get(local, 'test')).toMatchObject({ kind: 'openai', maxTokensField: 'max_tokens' });
    expect(await credentials.get(plain, 'test')).not.toHaveProperty('maxTokensField');
  });
});
