import { afterAll, describe, expect, it } from 'vitest';
import { startStack } from '@llmops/kit/testing/stack';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import type { Identity } from '@llmops/kit/http/identity';
import { withClient } from '@llmops/kit/db';

const db = await useTestDatabase();
const stack = await startStack({ db, services: ['prompt'] });
afterAll(() => stack.stop());

const editor: Identity = { kind: 'account', subject: 'editor-1', role: 'editor', scopes: [], requestId: 'test' };
const viewer: Identity = { kind: 'account', subject: 'viewer-1', role: 'viewer', scopes: [], requestId: 'test' };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function api(
  method: string,
  path: string,
  body?: unknown,
  options: { as?: Identity; headers?: Record<string, string> } = {},
) {
  const response = await stack.call(
    'prompt',
    `/api/v1${path}`,
    { method, headers: options.headers ?? {}, ...(body === undefined ? {} : { body: JSON.stringify(body) }) },
    options.as ?? editor,
  );
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : null) as Json };
}

async function createPart(fields: Record<string, unknown> = {}) {
  const response = await api('POST', '/parts', {
    kind: 'task',
    name: `part ${Math.random()}`,
    content: 'Write about {{ topic }}.',
    ...fields,
  });
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body;
}

async function outbox(topic: string): Promise<Json[]> {
  return withClient(db.urlFor('prompt'), async (client) => {
    const { rows } = await client.query<{ payload: Json }>('SELECT payload FROM bus.outbox WHERE topic = $1 ORDER BY id', [
      topic,
    ]);
    return rows.map((row) => row.payload);
  });
}

describe('prompt parts', () => {
  it('lists the part kinds from the reference data', async () => {
    const { status, body } = await api('GET', '/part-kinds', undefined, { as: viewer });
    expect(status).toBe(200);
    expect(body.items.map((k: Json) => k.name)).toEqual([
      'system',
      'style',
      'task',
      'data',
      'context',
      'example',
      'format',
      'constraint',
    ]);
  });

  it('creates a draft with discovered variables, the kind default role, an ETag, and an audit record', async () => {
    const response = await api('POST', '/parts', {
      kind: 'style',
      name: 'House voice',
      description: 'How the blog sounds',
      tags: ['voice', 'house'],
      content: 'Write for {{ audience.name }} in a {{ tone }} tone.',
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('etag')).toBeTruthy();
    expect(response.body).toMatchObject({
      kind: 'style',
      default_role: 'system',
      latest_version: null,
      has_unpublished_changes: true,
      created_by: 'editor-1',
    });
    expect(response.body.variables.map((v: Json) => [v.name, v.paths])).toEqual([
      ['audience', ['audience.name']],
      ['tone', ['tone']],
    ]);
    const audits = await outbox('audit.change.recorded');
    expect(
      audits.some((a) => a.action === 'part.created' && a.resource.id === response.body.id && a.actor.id === 'editor-1'),
    ).toBe(true);
  });

  it('publishes immutable versions with events, and refuses to publish an unchanged draft', async () => {
    const part = await createPart({ name: 'Summarise', content: 'Summarise {{ text }}.' });
    const v1 = await api('POST', `/parts/${part.id}/publish`, { message: 'first' });
    expect(v1.status).toBe(201);
    expect(v1.body).toMatchObject({ version: 1, content: 'Summarise {{ text }}.', message: 'first', author: 'editor-1' });
    const again = await api('POST', `/parts/${part.id}/publish`, {});
    expect(again.status).toBe(409);
    const edited = await api('PATCH', `/parts/${part.id}`, { content: 'Summarise {{ text }} in {{ words }} words.' });
    expect(edited.status).toBe(200);
    expect(edited.body.has_unpublished_changes).toBe(true);
    const v2 = await api('POST', `/parts/${part.id}/publish`);
    expect(v2.status).toBe(201);
    expect(v2.body.version).toBe(2);
    const first = await api('GET', `/parts/${part.id}/versions/1`, undefined, { as: viewer });
    expect(first.body.content).toBe('Summarise {{ text }}.');
    const list = await api('GET', `/parts/${part.id}/versions?limit=1`, undefined, { as: viewer });
    expect(list.body.items.map((v: Json) => v.version)).toEqual([2]);
    const next = await api('GET', `/parts/${part.id}/versions?limit=1&cursor=${list.body.next_cursor}`, undefined, {
      as: viewer,
    });
    expect(next.body.items.map((v: Json) => v.version)).toEqual([1]);
    expect(next.body.next_cursor).toBeNull();
    const events = (await outbox('prompt.part.published')).filter((e) => e.part_id === part.id);
    expect(events.map((e) => e.version)).toEqual([1, 2]);
    // The database itself refuses to change history.
    await withClient(db.urlFor('prompt'), async (client) => {
      await expect(client.query(`UPDATE prompt.part_versions SET content = 'x' WHERE part_id = $1`, [part.id])).rejects.toThrow(
        /immutable/,
      );
    });
  });

  it('honours If-Match (412) and Idempotency-Key (same key same body → same part; other body → 422)', async () => {
    const part = await createPart();
    const stale = await api('PATCH', `/parts/${part.id}`, { description: 'x' }, { headers: { 'if-match': '"stale"' } });
    expect(stale.status).toBe(412);
    const fresh = await api('GET', `/parts/${part.id}`);
    const ok = await api(
      'PATCH',
      `/parts/${part.id}`,
      { description: 'y' },
      { headers: { 'if-match': fresh.headers.get('etag') as string } },
    );
    expect(ok.status).toBe(200);
    expect(ok.headers.get('etag')).not.toBe(fresh.headers.get('etag'));

    const body = { kind: 'data', name: 'Idempotent part', content: 'x' };
    const a = await api('POST', '/parts', body, { headers: { 'idempotency-key': 'k-1' } });
    const b = await api('POST', '/parts', body, { headers: { 'idempotency-key': 'k-1' } });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.body.id).toBe(a.body.id);
    const c = await api('POST', '/parts', { ...body, content: 'other' }, { headers: { 'idempotency-key': 'k-1' } });
    expect(c.status).toBe(422);
    expect(c.body.errors[0].field).toBe('header.idempotency-key');
  });

  it('refuses bad input with problem+json naming the field, and writes nothing', async () => {
    const before = (await api('GET', '/parts?limit=200')).body.items.length;
    const cases: [unknown, string][] = [
      [{ kind: 'task', name: '', content: 'x' }, 'body.name'],
      [{ kind: 'nope', name: 'n', content: 'x' }, 'body.kind'],
      [{ kind: 'task', name: 'n', content: 'x'.repeat(65_537) }, 'body.content'],
      [{ kind: 'task', name: 'n', content: 'ok\n{% if x %} never closed' }, 'body.content'],
      [{ kind: 'task', name: 'n', content: 'x', extra: 1 }, 'body'],
      [{ kind: 'task', name: 'n', content: 'x', tags: ['ok', ''] }, 'body.tags[1]'],
    ];
    for (const [body, field] of cases) {
      const response = await api('POST', '/parts', body);
      expect(response.status, JSON.stringify(body).slice(0, 80)).toBe(422);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      expect(response.body.errors.map((e: Json) => e.field)).toContain(field);
    }
    const syntax = await api('POST', '/parts', { kind: 'task', name: 'n', content: 'ok\n{% if x %} never closed' });
    expect(syntax.body.errors[0].message).toMatch(/line 2, column 1/);
    expect((await api('GET', '/parts?limit=200')).body.items.length).toBe(before);

    const part = await createPart({ name: 'Taken' });
    expect((await api('POST', '/parts', { kind: 'task', name: 'taken', content: 'x' })).status).toBe(409);
    expect((await api('GET', '/parts/not-a-uuid')).status).toBe(400);
    expect((await api('GET', '/parts/01936f6e-7c1a-7b2e-9f3c-2b6d1e8a4c5d')).status).toBe(404);
    expect((await api('PATCH', `/parts/${part.id}`, {})).status).toBe(422);
    expect((await api('GET', `/parts/${part.id}/versions/1`)).status).toBe(404);
    expect((await api('GET', `/parts/${part.id}/versions/zero`)).status).toBe(400);
    expect((await api('GET', '/parts?limit=500')).status).toBe(400);
    expect((await api('GET', '/parts?cursor=garbage')).status).toBe(400);
    expect((await api('GET', `/parts/${part.id}/diff?from=x`)).status).toBe(400);
    expect((await api('POST', `/parts/${part.id}/publish`, { message: 1 })).status).toBe(422);
  });

  it('lets viewers read but not write', async () => {
    const part = await createPart();
    expect((await api('GET', `/parts/${part.id}`, undefined, { as: viewer })).status).toBe(200);
    for (const [method, path, body] of [
      ['POST', '/parts', { kind: 'task', name: 'v', content: 'x' }],
      ['PATCH', `/parts/${part.id}`, { name: 'v' }],
      ['DELETE', `/parts/${part.id}`, undefined],
      ['POST', `/parts/${part.id}/publish`, {}],
    ] as const) {
      expect((await api(method, path, body, { as: viewer })).status, `${method} ${path}`).toBe(403);
    }
  });

  it('filters by kind and tag and searches name, description and content', async () => {
    await createPart({ kind: 'example', name: 'Sourdough example', tags: ['bread'], content: 'A loaf rises slowly.' });
    await createPart({
      kind: 'format',
      name: 'Listicle',
      description: 'Numbered fermentation tips',
      content: 'Use a numbered list.',
    });
    await createPart({ kind: 'format', name: 'Plain', content: 'Prose about kneading dough.' });
    const byKind = await api('GET', '/parts?kind=format');
    expect(byKind.body.items.map((p: Json) => p.name).sort()).toEqual(['Listicle', 'Plain']);
    const byTag = await api('GET', '/parts?tag=bread');
    expect(byTag.body.items.map((p: Json) => p.name)).toEqual(['Sourdough example']);
    const search = await api('GET', `/parts?q=${encodeURIComponent('fermentation')}`);
    expect(search.body.items.map((p: Json) => p.name)).toEqual(['Listicle']);
    const content = await api('GET', `/parts?q=${encodeURIComponent('kneading')}`);
    expect(content.body.items.map((p: Json) => p.name)).toEqual(['Plain']);
    expect(content.body.items[0].rank).toBeGreaterThan(0);
  });

  it('diffs two versions or a version and the draft, line by line', async () => {
    const part = await createPart({ content: 'one\ntwo\nthree' });
    await api('POST', `/parts/${part.id}/publish`);
    await api('PATCH', `/parts/${part.id}`, { content: 'one\n2\nthree', tags: ['t'] });
    const draft = await api('GET', `/parts/${part.id}/diff`);
    expect(draft.status).toBe(200);
    expect(draft.body).toMatchObject({ from: 1, to: 'draft', changed: true, fields: [{ field: 'tags', from: [], to: ['t'] }] });
    expect(draft.body.content.map((l: Json) => `${l.op}:${l.text}`)).toEqual(['equal:one', 'remove:two', 'add:2', 'equal:three']);
    await api('POST', `/parts/${part.id}/publish`);
    const versions = await api('GET', `/parts/${part.id}/diff?from=1&to=2`);
    expect(versions.body.content.filter((l: Json) => l.op !== 'equal')).toHaveLength(2);
    expect((await api('GET', `/parts/${part.id}/diff?from=1&to=9`)).status).toBe(404);
  });

  it('publishes once when two editors publish the same draft at the same time', async () => {
    const part = await createPart();
    const results = await Promise.all([api('POST', `/parts/${part.id}/publish`), api('POST', `/parts/${part.id}/publish`)]);
    expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
    const same = { kind: 'data', name: 'Concurrent key', content: 'x' };
    const twins = await Promise.all([
      api('POST', '/parts', same, { headers: { 'idempotency-key': 'k-concurrent' } }),
      api('POST', '/parts', same, { headers: { 'idempotency-key': 'k-concurrent' } }),
    ]);
    expect(twins.map((r) => r.status)).toEqual([201, 201]);
    expect(twins[0]?.body.id).toBe(twins[1]?.body.id);
  });

  it('deletes softly: gone from lists, versions still readable', async () => {
    const part = await createPart();
    await api('POST', `/parts/${part.id}/publish`);
    expect((await api('DELETE', `/parts/${part.id}`)).status).toBe(204);
    expect((await api('GET', `/parts/${part.id}`)).status).toBe(404);
    expect((await api('GET', `/parts/${part.id}/versions/1`)).status).toBe(200);
    expect((await api('DELETE', `/parts/${part.id}`)).status).toBe(404);
  });
});
