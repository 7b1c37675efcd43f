/**
 * The workflow's routes through the gateway: in the public document, answered as it says (contractFetch
 * checks every answer against it), with `workflow:read` / `workflow:write` scopes and roles enforced.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { startGateway } from './gateway-support.ts';

const db = await useTestDatabase();
const harness = await startGateway(db, { services: ['workflow'] });
afterAll(() => harness.stop());
const editor = await harness.caller('editor');

const bearer = (token: string, extra: Record<string, string> = {}) => ({
  authorization: `Bearer ${token}`,
  'content-type': 'application/json',
  ...extra,
});

describe('the workflow API through the gateway', () => {
  it('lets an editor start a post, write a value and read it back; a viewer only reads', async () => {
    const created = await harness.api('/api/v1/workflow/posts', {
      method: 'POST',
      headers: bearer(editor.token, { 'idempotency-key': 'gw-1' }),
      body: JSON.stringify({ title: 'Through the gateway' }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const post = (await created.json()) as { id: string; slug: string };
    expect(post.slug).toBe('through-the-gateway');

    const written = await harness.api(`/api/v1/workflow/posts/${post.id}/values/working_title`, {
      method: 'PUT',
      headers: bearer(editor.token),
      body: JSON.stringify({ value: 'A title', base_revision_id: null }),
    });
    expect(written.status).toBe(200);

    const viewer = await harness.caller('viewer');
    const read = await harness.api(`/api/v1/workflow/posts/${post.id}`, { headers: bearer(viewer.token) });
    expect(read.status).toBe(200);
    expect(((await read.json()) as { values: { value: unknown }[] }).values[0]?.value).toBe('A title');
    const refused = await harness.api('/api/v1/workflow/posts', {
      method: 'POST',
      headers: bearer(viewer.token),
      body: JSON.stringify({ title: 'Not allowed' }),
    });
    expect(refused.status).toBe(403);
  });

  it('needs workflow:write to write and workflow:read to read; substages and fields are for admins', async () => {
    const readOnly = await harness.token(editor.email, 'editor', ['workflow:read']);
    expect((await harness.api('/api/v1/workflow/stages', { headers: bearer(readOnly.secret) })).status).toBe(200);
    // Read through the contract checker: every answer matches the public document (json_schema: null included).
    expect((await harness.api('/api/v1/workflow/fields', { headers: bearer(readOnly.secret) })).status).toBe(200);
    const write = await harness.api('/api/v1/workflow/posts', {
      method: 'POST',
      headers: bearer(readOnly.secret),
      body: JSON.stringify({ title: 'Scoped out' }),
    });
    expect(write.status).toBe(403);
    const tasksOnly = await harness.token(editor.email, 'editor', ['tasks:read']);
    expect((await harness.api('/api/v1/workflow/posts', { headers: bearer(tasksOnly.secret) })).status).toBe(403);

    const stages = (await (await harness.api('/api/v1/workflow/stages', { headers: bearer(editor.token) })).json()) as {
      items: { id: string }[];
    };
    const substage = { stage_id: stages.items[0]?.id, key: 'pitch', label: 'Pitch' };
    const byEditor = await harness.api('/api/v1/workflow/substages', {
      method: 'POST',
      headers: bearer(editor.token),
      body: JSON.stringify(substage),
    });
    expect(byEditor.status).toBe(403);
    const admin = await harness.caller('admin');
    const byAdmin = await harness.api('/api/v1/workflow/substages', {
      method: 'POST',
      headers: bearer(admin.token),
      body: JSON.stringify(substage),
    });
    expect(byAdmin.status).toBe(201);
  });
});
