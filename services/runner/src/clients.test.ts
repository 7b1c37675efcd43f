import { describe, expect, it } from 'vitest';
import { createServiceClient } from './clients.ts';

const busy = () =>
  Promise.resolve(
    new Response(JSON.stringify({ status: 429, detail: 'You already have 33 render(s) running or waiting' }), {
      status: 429,
      headers: { 'content-type': 'application/problem+json', 'retry-after': '2' },
    }),
  );

describe('the runner calling another service', () => {
  it('takes a busy service (429) as no answer: a 503 with its Retry-After, so nothing is created on a guess', async () => {
    const prompt = createServiceClient({ url: 'http://prompt.invalid', audience: 'prompt', secret: 'x'.repeat(32), fetch: busy });
    await expect(prompt.post('/internal/render', {}, 'req-1')).rejects.toMatchObject({
      status: 503,
      headers: { 'Retry-After': '2' },
    });
  });
});
