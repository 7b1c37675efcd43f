/**
 * The prompt service through the gateway: a whole editing flow with API tokens, every answer checked
 * against the published OpenAPI document, and the roles and token scopes of the routes enforced.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { startGateway, type Caller, type GatewayHarness } from './gateway-support.ts';

const db = await useTestDatabase();

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

describe('prompts through the gateway', () => {
  let harness: GatewayHarness;
  let editor: Caller;
  let viewer: Caller;
  let admin: Caller;

  beforeAll(async () => {
    harness = await startGateway(db, { services: ['prompt'] });
    [editor, viewer, admin] = await Promise.all([harness.caller('editor'), harness.caller('viewer'), harness.caller('admin')]);
  });
  afterAll(() => harness.stop());

  async function call(
    who: { token: string },
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) {
    const response = await harness.api(`/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${who.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : null) as Json };
  }

  it('edits, publishes, labels and previews, every answer matching the OpenAPI document', async () => {
    const kinds = await call(viewer, 'GET', '/part-kinds');
    expect(kinds.status).toBe(200);
    const part = await call(
      editor,
      'POST',
      '/parts',
      { kind: 'task', name: 'Headline', content: 'Headlines for {{ post.title }}' },
      { 'idempotency-key': 'gw-1' },
    );
    expect(part.status).toBe(201);
    expect(part.body.created_by).toBe(editor.accountId);
    const etag = part.headers.get('etag') as string;
    expect((await call(editor, 'PATCH', `/parts/${part.body.id}`, { description: 'd' }, { 'if-match': etag })).status).toBe(200);
    expect((await call(editor, 'PATCH', `/parts/${part.body.id}`, { description: 'e' }, { 'if-match': etag })).status).toBe(412);
    expect((await call(editor, 'POST', `/parts/${part.body.id}/publish`, { message: 'first' })).status).toBe(201);
    expect((await call(viewer, 'GET', `/parts?q=headlines`)).body.items).toHaveLength(1);
    expect((await call(viewer, 'GET', `/parts/${part.body.id}/versions`)).status).toBe(200);
    expect((await call(viewer, 'GET', `/parts/${part.body.id}/versions/1`)).status).toBe(200);
    expect((await call(viewer, 'GET', `/parts/${part.body.id}/diff?from=1&to=draft`)).status).toBe(200);
    expect((await call(viewer, 'GET', `/parts/${part.body.id}/impact`)).status).toBe(200);

    const template = await call(editor, 'POST', '/templates', {
      name: 'Headlines',
      variables: [{ name: 'post', type: 'object', default: { title: 'Untitled' } }],
      messages: [{ role: 'user', entries: [{ type: 'part', part_id: part.body.id }] }],
    });
    expect(template.status).toBe(201);
    const id = template.body.id;
    const message = template.body.messages[0].id;
    expect(
      (
        await call(editor, 'POST', `/templates/${id}/messages`, {
          role: 'system',
          entries: [{ type: 'text', text: 'Be bold.' }],
          position: 0,
        })
      ).status,
    ).toBe(201);
    expect(
      (
        await call(editor, 'POST', `/templates/${id}/messages/${message}/entries`, {
          entry: { type: 'text', text: 'Five of them.' },
        })
      ).status,
    ).toBe(201);
    expect((await call(editor, 'POST', `/templates/${id}/publish`, { message: 'v1' })).status).toBe(201);
    expect((await call(viewer, 'GET', `/templates`)).body.items[0].latest_version).toBe(1);
    expect((await call(viewer, 'GET', `/templates/${id}/versions`)).status).toBe(200);
    expect((await call(viewer, 'GET', `/templates/${id}/versions/1`)).status).toBe(200);
    expect((await call(viewer, 'GET', `/templates/${id}/diff?to=1`)).status).toBe(200);

    const production = `/templates/${id}/labels/production`;
    expect((await call(editor, 'PUT', production, { version: 1 })).status).toBe(403);
    const drySet = await call(admin, 'PUT', production, { version: 1, dry_run: true });
    expect((await call(admin, 'PUT', production, { version: 1, confirm: drySet.body.confirm })).status).toBe(200);
    expect((await call(viewer, 'GET', `/templates/${id}/labels`)).body.items[0]).toMatchObject({
      name: 'production',
      protected: true,
    });
    const label = await call(viewer, 'GET', production);
    expect(label.body.moves[0].actor).toEqual({ kind: 'account', id: admin.accountId });
    expect((await call(editor, 'PUT', production, { version: 1, dry_run: true })).status).toBe(200);
    const dryDelete = await call(admin, 'DELETE', `${production}?dry_run=true`);
    expect(dryDelete.status).toBe(200);
    const ifMatch = { 'if-match': label.headers.get('etag') as string };
    expect((await call(admin, 'DELETE', `${production}?confirm=${dryDelete.body.confirm}`, undefined, ifMatch)).status).toBe(204);

    const preview = await call(viewer, 'POST', `/templates/${id}/preview`, { version: 1, inputs: {}, model: 'gpt-4o' });
    expect(preview.status).toBe(200);
    expect(preview.body.messages.map((m: Json) => m.text)).toEqual(['Be bold.', 'Headlines for Untitled\n\nFive of them.']);
    const assembled = await call(viewer, 'POST', '/assemble', {
      messages: [{ role: 'user', entries: [{ type: 'text', text: '{{ x }}' }] }],
    });
    expect(assembled.body.problems[0].code).toBe('missing_variable');

    const draft = await call(viewer, 'GET', `/templates/${id}`);
    expect(draft.status).toBe(200);
    const [system, user] = draft.body.messages;
    expect((await call(editor, 'PATCH', `/templates/${id}`, { description: 'Headline ideas' })).status).toBe(200);
    expect((await call(editor, 'PATCH', `/templates/${id}/messages/${system.id}`, { role: 'user' })).status).toBe(200);
    expect((await call(editor, 'PUT', `/templates/${id}/messages/order`, { message_ids: [user.id, system.id] })).status).toBe(
      200,
    );
    expect((await call(editor, 'DELETE', `/templates/${id}/messages/${user.id}/entries/${user.entries[1].id}`)).status).toBe(200);
    expect((await call(editor, 'DELETE', `/templates/${id}/messages/${system.id}`)).status).toBe(200);
    expect((await call(editor, 'DELETE', `/templates/${id}`)).status).toBe(204);
    expect((await call(viewer, 'GET', `/parts/${part.body.id}`)).status).toBe(200);
    expect((await call(editor, 'DELETE', `/parts/${part.body.id}`)).status).toBe(204);
    expect((await call(viewer, 'GET', `/parts/${part.body.id}`)).status).toBe(404);
  });

  it('enforces roles and token scopes on prompt routes', async () => {
    expect((await call(viewer, 'POST', '/parts', { kind: 'task', name: 'v', content: 'x' })).status).toBe(403);
    const readOnly = await harness.token(editor.email, 'editor', ['prompts:read']);
    expect((await call({ token: readOnly.secret }, 'GET', '/parts')).status).toBe(200);
    expect((await call({ token: readOnly.secret }, 'POST', '/parts', { kind: 'task', name: 'r', content: 'x' })).status).toBe(
      403,
    );
    const other = await harness.token(editor.email, 'editor', ['registry:read']);
    expect((await call({ token: other.secret }, 'GET', '/parts')).status).toBe(403);
  });
});
