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
const MISSING = '01936f6e-7c1a-7b2e-9f3c-2b6d1e8a4c5d';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function api(method: string, path: string, body?: unknown, options: { as?: Identity } = {}) {
  const response = await stack.call(
    'prompt',
    `/api/v1${path}`,
    { method, headers: {}, ...(body === undefined ? {} : { body: JSON.stringify(body) }) },
    options.as ?? editor,
  );
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as Json };
}

async function ok(response: Promise<{ status: number; body: Json }>, status = 200): Promise<Json> {
  const r = await response;
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  return r.body;
}

let seq = 0;
/** A part with versions 1..n, version k's content being `contents[k - 1]`. */
async function partWithVersions(...contents: string[]) {
  seq += 1;
  const part = await ok(api('POST', '/parts', { kind: 'task', name: `labelled-part-${seq}`, content: contents[0] }), 201);
  for (const [i, content] of contents.entries()) {
    if (i > 0) await ok(api('PATCH', `/parts/${part.id}`, { content }));
    await ok(api('POST', `/parts/${part.id}/publish`), 201);
  }
  return part;
}

async function template(messages: unknown[]) {
  seq += 1;
  return ok(api('POST', '/templates', { name: `label-template-${seq}`, messages }), 201);
}

async function audits(resourceId: string): Promise<Json[]> {
  return withClient(db.urlFor('prompt'), async (client) => {
    const { rows } = await client.query<{ payload: Json }>(
      `SELECT payload FROM bus.outbox WHERE topic = 'audit.change.recorded' AND payload->'resource'->>'id' = $1 ORDER BY id`,
      [resourceId],
    );
    return rows.map((row) => row.payload);
  });
}

describe('part labels', () => {
  it('sets, moves and deletes a label, recording every move and an audit record', async () => {
    const p = await partWithVersions('one', 'two');
    const set = await ok(api('PUT', `/parts/${p.id}/labels/stable`, { version: 1 }));
    expect(set).toMatchObject({ applied: true, from_version: null, to_version: 1, label: { name: 'stable', version: 1 } });
    const again = await ok(api('PUT', `/parts/${p.id}/labels/stable`, { version: 1 }));
    expect(again.applied).toBe(false);
    const moved = await ok(api('PUT', `/parts/${p.id}/labels/stable`, { version: 2 }));
    expect(moved).toMatchObject({ applied: true, from_version: 1, to_version: 2 });

    const list = await ok(api('GET', `/parts/${p.id}/labels`, undefined, { as: viewer }));
    expect(list.items).toEqual([expect.objectContaining({ name: 'stable', version: 2, updated_by: 'editor-1', followers: [] })]);
    expect(list.moves.map((m: Json) => [m.label, m.from_version, m.to_version, m.actor.id])).toEqual([
      ['stable', 1, 2, 'editor-1'],
      ['stable', null, 1, 'editor-1'],
    ]);

    expect((await api('DELETE', `/parts/${p.id}/labels/stable`)).status).toBe(204);
    const after = await ok(api('GET', `/parts/${p.id}/labels`));
    expect(after.items).toEqual([]);
    expect(after.moves[0]).toMatchObject({ label: 'stable', from_version: 2, to_version: null });
    expect((await audits(`${p.id}:stable`)).map((a) => [a.action, a.before, a.after])).toEqual([
      ['part_label.moved', null, { version: 1 }],
      ['part_label.moved', { version: 1 }, { version: 2 }],
      ['part_label.deleted', { version: 2 }, null],
    ]);
  });

  it('freezes a label-following entry to the labelled version at publish, and keeps it after the label moves', async () => {
    const p = await partWithVersions('Version one about {{ topic }}.', 'Version two about {{ topic }}.', 'Version three.');
    await ok(api('PUT', `/parts/${p.id}/labels/stable`, { version: 1 }));
    const t = await template([{ role: 'user', entries: [{ type: 'part', part_id: p.id, label: 'stable' }] }]);
    expect(t.messages[0].entries[0]).toMatchObject({ part_id: p.id, version: null, follows: 'stable' });

    const preview = await ok(api('POST', `/templates/${t.id}/preview`, { inputs: { topic: 'tea' } }));
    expect(preview.messages[0].text).toBe('Version one about tea.');
    expect(preview.part_versions).toEqual([{ part_id: p.id, version: 1 }]);

    const v1 = await ok(api('POST', `/templates/${t.id}/publish`), 201);
    expect(v1.part_versions).toEqual([{ part_id: p.id, version: 1 }]);
    expect(v1.messages[0].entries[0]).toMatchObject({ version: 1, follows: 'stable' });

    const impact = await ok(api('GET', `/parts/${p.id}/impact`));
    expect(impact.would_change).toEqual([]);
    expect(impact.label_followers).toEqual([
      { template_id: t.id, name: t.name, message_index: 0, entry_index: 0, label: 'stable', version: 1 },
    ]);

    const moved = await ok(api('PUT', `/parts/${p.id}/labels/stable`, { version: 2 }));
    expect(moved.label.followers).toEqual([{ template_id: t.id, name: t.name, message_index: 0, entry_index: 0 }]);

    const frozen = await ok(api('POST', `/templates/${t.id}/preview`, { version: 1, inputs: { topic: 'tea' } }));
    expect(frozen.messages[0].text).toBe('Version one about tea.');
    const draft = await ok(api('POST', `/templates/${t.id}/preview`, { inputs: { topic: 'tea' } }));
    expect(draft.messages[0].text).toBe('Version two about tea.');
    const assembled = await ok(
      api('POST', '/assemble', {
        messages: [{ role: 'user', entries: [{ type: 'part', part_id: p.id, label: 'stable' }] }],
        inputs: { topic: 'tea' },
      }),
    );
    expect(assembled.messages[0].text).toBe('Version two about tea.');

    const v2 = await ok(api('POST', `/templates/${t.id}/publish`), 201);
    expect(v2.part_versions).toEqual([{ part_id: p.id, version: 2 }]);
    expect((await ok(api('GET', `/templates/${t.id}/versions/1`))).part_versions).toEqual([{ part_id: p.id, version: 1 }]);
  });

  it('treats the label "latest" as the built-in newest version', async () => {
    const p = await partWithVersions('first', 'second');
    const t = await template([{ role: 'user', entries: [{ type: 'part', part_id: p.id, label: 'latest' }] }]);
    expect(t.messages[0].entries[0]).toMatchObject({ follows: 'latest', version: null });
    const v1 = await ok(api('POST', `/templates/${t.id}/publish`), 201);
    expect(v1.part_versions).toEqual([{ part_id: p.id, version: 2 }]);
    expect((await api('PUT', `/parts/${p.id}/labels/latest`, { version: 1 })).status).toBe(400);
  });

  it('refuses to publish a template that follows a label that does not exist, naming the entry and label', async () => {
    const p = await partWithVersions('text');
    const t = await template([{ role: 'user', entries: [{ type: 'part', part_id: p.id, label: 'nowhere' }] }]);
    const published = await api('POST', `/templates/${t.id}/publish`);
    expect(published.status).toBe(422);
    expect(published.body.detail).toContain('message 1, entry 1 follows label "nowhere"');
    expect(published.body.errors[0].field).toBe('messages[0].entries[0]');
  });

  it('refuses to delete a label that drafts follow, naming them', async () => {
    const p = await partWithVersions('text');
    await ok(api('PUT', `/parts/${p.id}/labels/stable`, { version: 1 }));
    const t = await template([{ role: 'user', entries: [{ type: 'part', part_id: p.id, label: 'stable' }] }]);
    const refused = await api('DELETE', `/parts/${p.id}/labels/stable`);
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toContain(`"${t.name}"`);
    expect((await ok(api('GET', `/parts/${p.id}/labels`))).items).toHaveLength(1);
  });

  it('refuses bad input: unknown label, invalid name, unknown version, both a version and a label', async () => {
    const p = await partWithVersions('text');
    expect((await api('DELETE', `/parts/${p.id}/labels/nope`)).status).toBe(404);
    expect((await api('PUT', `/parts/${MISSING}/labels/stable`, { version: 1 })).status).toBe(404);
    expect((await api('PUT', `/parts/${p.id}/labels/Bad Name`, { version: 1 })).status).toBe(400);
    const unknown = await api('PUT', `/parts/${p.id}/labels/stable`, { version: 9 });
    expect(unknown.status).toBe(422);
    expect(unknown.body.detail).toContain('has no version 9');
    const both = await api('POST', '/templates', {
      name: `both-${p.id}`,
      messages: [{ role: 'user', entries: [{ type: 'part', part_id: p.id, version: 1, label: 'stable' }] }],
    });
    expect(both.status).toBe(422);
    const badEntryLabel = await api('POST', '/templates', {
      name: `bad-${p.id}`,
      messages: [{ role: 'user', entries: [{ type: 'part', part_id: p.id, label: 'Not OK' }] }],
    });
    expect(badEntryLabel.status).toBe(422);
  });

  it('lets viewers read labels but not set, move or delete them', async () => {
    const p = await partWithVersions('text');
    await ok(api('PUT', `/parts/${p.id}/labels/stable`, { version: 1 }));
    expect((await api('GET', `/parts/${p.id}/labels`, undefined, { as: viewer })).status).toBe(200);
    expect((await api('PUT', `/parts/${p.id}/labels/stable`, { version: 1 }, { as: viewer })).status).toBe(403);
    expect((await api('DELETE', `/parts/${p.id}/labels/stable`, undefined, { as: viewer })).status).toBe(403);
  });
});
