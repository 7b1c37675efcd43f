import { afterAll, describe, expect, it } from 'vitest';
import { startStack } from '@llmops/kit/testing/stack';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import type { Identity } from '@llmops/kit/http/identity';

// A short render deadline and no waiting beyond one running render per caller (docs/prompts.md, Limits).
const db = await useTestDatabase();
const stack = await startStack({
  db,
  services: ['prompt'],
  env: { PROMPT_RENDER_DEADLINE_MS: '300', PROMPT_RENDER_PER_CALLER: '1', PROMPT_RENDER_QUEUE: '0' },
});
afterAll(() => stack.stop());

const viewer = (n: number): Identity => ({
  kind: 'account',
  subject: `viewer-${n}`,
  role: 'viewer',
  scopes: [],
  requestId: 'test',
});
const editor: Identity = { kind: 'account', subject: 'editor-1', role: 'editor', scopes: [], requestId: 'test' };
const runner: Identity = { kind: 'service', subject: 'runner', requestId: 'test' };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function api(identity: Identity, method: string, path: string, body?: unknown, prefix = '/api/v1') {
  const init = { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) };
  const response = await stack.call('prompt', `${prefix}${path}`, init, identity);
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : null) as Json };
}

const text = (t: string) => ({ type: 'text', text: t });
// Nine million loop turns: each entry alone runs for seconds.
const NESTED = '{% assign r = (1..3000) %}{% for a in r %}{% for b in r %}{% endfor %}{% endfor %}';
const heavy = { messages: [{ role: 'user', entries: Array.from({ length: 15 }, () => text(NESTED)) }] };
const trivial = { messages: [{ role: 'user', entries: [text('Hello {{ name }}')] }], inputs: { name: 'Ada' } };

describe('render budget', () => {
  it('a heavy render holds up no other request, and is stopped at its deadline with a 422 naming the entry', async () => {
    const order: string[] = [];
    const slow = api(viewer(1), 'POST', '/assemble', heavy).then((answer) => {
      order.push('heavy');
      return answer;
    });
    const quick = await api(viewer(2), 'POST', '/assemble', trivial);
    order.push('trivial');
    expect(quick.body.messages[0].text).toBe('Hello Ada');
    expect((await api(viewer(2), 'GET', '/part-kinds')).status).toBe(200);
    order.push('read');
    const refused = await slow;
    expect(order).toEqual(['trivial', 'read', 'heavy']);
    expect(refused.status).toBe(422);
    expect(refused.body.detail).toMatch(/over the time budget of 300 ms per request in inline text \(message 1, entry 1\)/);
    expect(refused.body.errors).toEqual([
      { field: 'body.messages[0].entries[0]', message: 'went over the time budget of 300 ms per request' },
    ]);
  });

  it("answers 429 with Retry-After to a caller over its bound, while its render runs and others' go on", async () => {
    const order: string[] = [];
    const send = () =>
      api(viewer(3), 'POST', '/assemble', heavy).then((answer) => {
        order.push(String(answer.status));
        return answer;
      });
    // Two at once from one caller: whichever arrives second is over the bound (one running, none waiting).
    const both = Promise.all([send(), send()]);
    expect((await api(viewer(4), 'POST', '/assemble', trivial)).status).toBe(200);
    const over = (await both).find((answer) => answer.status === 429);
    expect(order).toEqual(['429', '422']);
    expect(over?.headers.get('retry-after')).toBe('1');
    expect(over?.body.detail).toMatch(/already have 1 render\(s\) running or waiting/);
    expect((await api(viewer(3), 'POST', '/assemble', trivial)).status).toBe(200);
  });
});

describe('objects in output', () => {
  it('writes a whole object or list as JSON in /assemble, a template preview and /internal/render alike', async () => {
    const inputs = { post: { title: 'Rye', tags: ['bread', 'sour'] } };
    const expected = 'Post: {"title":"Rye","tags":["bread","sour"]}; tags: ["bread","sour"]';
    const messages = [{ role: 'user', entries: [text('Post: {{ post }}; tags: {{ post.tags }}')] }];
    expect((await api(viewer(5), 'POST', '/assemble', { messages, inputs })).body.messages[0].text).toBe(expected);

    const created = await api(editor, 'POST', '/templates', { name: 'objects', messages });
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expect((await api(viewer(5), 'POST', `/templates/${id}/preview`, { inputs })).body.messages[0].text).toBe(expected);
    expect((await api(editor, 'POST', `/templates/${id}/publish`, {})).status).toBe(201);
    const rendered = await api(runner, 'POST', '/render', { template_id: id, version: 1, inputs }, '/internal');
    expect(rendered.body.messages[0].text).toBe(expected);
  });
});
