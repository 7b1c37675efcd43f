/**
 * The editorial model through the workflow service's API: stages and substages as reference data that
 * admins extend, fields as data, posts with derived unique slugs and filters, ordered sections, and
 * values as revisions (stale writes are a 409 showing both values, autosave amends, restore).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { withClient } from '@llmops/kit/db';
import { startStack } from '@llmops/kit/testing/stack';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { admin, otherEditor, viewer, workflowApi, type Json } from './workflow-support.ts';

const db = await useTestDatabase();
const stack = await startStack({ db, services: ['workflow'], env: { WORKFLOW_AUTOSAVE_WINDOW_MS: '60000' } });
afterAll(() => stack.stop());
const api = workflowApi(stack);

async function outbox(topic: string): Promise<Json[]> {
  return withClient(db.adminUrl, async (client) => {
    const { rows } = await client.query('SELECT payload FROM bus.outbox WHERE topic = $1 ORDER BY id', [topic]);
    return rows.map((row) => row.payload);
  });
}

async function post(title: string, extra: Json = {}): Promise<Json> {
  const response = await api('POST', '/posts', { title, ...extra });
  expect(response.status, response.text).toBe(201);
  return response.body;
}

describe('stages and substages', () => {
  it('ship the editorial stages of the legacy system, in order, with their labels', async () => {
    const response = await api('GET', '/stages', undefined, { as: viewer });
    expect(response.status).toBe(200);
    const shape = response.body.items.map((stage: Json) => [stage.key, stage.substages.map((s: Json) => `${s.key}:${s.label}`)]);
    expect(shape).toEqual([
      ['planning', ['idea:Idea', 'research:Research', 'structure:Structure']],
      ['authoring', ['content:Content', 'meta_info:Meta Info', 'images:Images']],
      ['publishing', ['preflight:Preflight', 'launch:Launch', 'syndication:Syndication']],
    ]);
  });

  it('admins add, rename, move and retire substages; a retired one leaves the order but not the list with include_retired', async () => {
    const stages = (await api('GET', '/stages')).body.items;
    const planning = stages[0];
    expect((await api('POST', '/substages', { stage_id: planning.id, key: 'pitch', label: 'Pitch' })).status).toBe(403);
    const created = await api(
      'POST',
      '/substages',
      { stage_id: planning.id, key: 'pitch', label: 'Pitch', position: 1 },
      { as: admin },
    );
    expect(created.status, created.text).toBe(201);
    let order = (await api('GET', '/stages')).body.items[0].substages.map((s: Json) => `${s.position}:${s.key}`);
    expect(order).toEqual(['1:pitch', '2:idea', '3:research', '4:structure']);

    const renamed = await api('PATCH', `/substages/${created.body.id}`, { label: 'Pitch meeting', position: 3 }, { as: admin });
    expect(renamed.status, renamed.text).toBe(200);
    order = (await api('GET', '/stages')).body.items[0].substages.map((s: Json) => `${s.position}:${s.key}`);
    expect(order).toEqual(['1:idea', '2:research', '3:pitch', '4:structure']);

    expect((await api('PATCH', `/substages/${created.body.id}`, { retired: true }, { as: admin })).status).toBe(200);
    order = (await api('GET', '/stages')).body.items[0].substages.map((s: Json) => s.key);
    expect(order).toEqual(['idea', 'research', 'structure']);
    const all = (await api('GET', '/stages?include_retired=true')).body.items[0].substages;
    expect(all.find((s: Json) => s.key === 'pitch')).toMatchObject({ label: 'Pitch meeting', retired_at: expect.any(String) });

    const duplicate = await api('POST', '/substages', { stage_id: planning.id, key: 'idea', label: 'Again' }, { as: admin });
    expect(duplicate.status).toBe(409);
    const bad = await api('POST', '/substages', { stage_id: planning.id, key: 'Bad Key', label: '' }, { as: admin });
    expect(bad.status).toBe(422);
    expect(bad.body.errors.map((e: Json) => e.field).sort()).toEqual(['body.key', 'body.label']);
  });
});

describe('stages', () => {
  it('admins rename and move a stage; the others close up', async () => {
    const before = (await api('GET', '/stages')).body.items;
    const publishing = before[2];
    expect((await api('PATCH', `/stages/${publishing.id}`, { label: 'Going live' })).status).toBe(403);
    const moved = await api('PATCH', `/stages/${publishing.id}`, { label: 'Going live', position: 1 }, { as: admin });
    expect(moved.status, moved.text).toBe(200);
    expect(moved.body).toMatchObject({ key: 'publishing', label: 'Going live', position: 1 });
    const order = (await api('GET', '/stages')).body.items.map((s: Json) => `${s.position}:${s.key}`);
    expect(order).toEqual(['1:publishing', '2:planning', '3:authoring']);
    await api('PATCH', `/stages/${publishing.id}`, { label: 'Publishing', position: 3 }, { as: admin });
    const back = (await api('GET', '/stages')).body.items.map((s: Json) => `${s.position}:${s.key}:${s.label}`);
    expect(back).toEqual(['1:planning:Planning', '2:authoring:Authoring', '3:publishing:Publishing']);
  });
});

describe('fields', () => {
  it('ship a neutral editorial set for the nine substages, and no customer fields', async () => {
    const response = await api('GET', '/fields');
    const keys = response.body.items.map((f: Json) => f.key);
    expect(keys).toEqual(expect.arrayContaining(['basic_idea', 'working_title', 'outline', 'meta_description', 'tags', 'draft']));
    expect(keys).not.toContain('tartans_products');
    const stages = (await api('GET', '/stages')).body.items;
    const substageIds = new Set(response.body.items.map((f: Json) => f.substage_id));
    for (const stage of stages) for (const substage of stage.substages) expect(substageIds.has(substage.id)).toBe(true);
  });

  it('are defined by admins; a json field takes a JSON Schema that must compile', async () => {
    const idea = (await api('GET', '/stages')).body.items[0].substages[0];
    const bad = await api(
      'POST',
      '/fields',
      { key: 'angles', label: 'Angles', kind: 'json', substage_id: idea.id, json_schema: { type: 'nonsense' } },
      { as: admin },
    );
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].field).toBe('body.json_schema');
    const notJson = await api(
      'POST',
      '/fields',
      { key: 'angles', label: 'Angles', kind: 'text', substage_id: idea.id, json_schema: { type: 'object' } },
      { as: admin },
    );
    expect(notJson.body.errors[0]).toEqual({ field: 'body.json_schema', message: 'only json fields take a JSON Schema' });
    const created = await api(
      'POST',
      '/fields',
      {
        key: 'angles',
        label: 'Angles',
        kind: 'json',
        substage_id: idea.id,
        position: 1,
        json_schema: { type: 'object', properties: { angle: { type: 'string' } }, required: ['angle'] },
      },
      { as: admin },
    );
    expect(created.status, created.text).toBe(201);
    const inIdea = (await api('GET', `/fields?substage_id=${idea.id}`)).body.items.map((f: Json) => `${f.position}:${f.key}`);
    expect(inIdea.slice(0, 2)).toEqual(['1:angles', '2:basic_idea']);
  });
});

describe('posts', () => {
  it('derive a unique slug from the title, start at the first substage, and take Idempotency-Key', async () => {
    const first = await post('Brewing Tea: a Guide!');
    expect(first).toMatchObject({ slug: 'brewing-tea-a-guide', status: 'draft', sections: [], values: [] });
    const idea = (await api('GET', '/stages')).body.items[0].substages[0];
    expect(first.substage_id).toBe(idea.id);
    expect((await post('Brewing tea, a guide')).slug).toBe('brewing-tea-a-guide-2');

    const taken = await api('POST', '/posts', { title: 'Other', slug: 'brewing-tea-a-guide' });
    expect(taken.status).toBe(422);
    expect(taken.body.errors).toEqual([{ field: 'body.slug', message: 'another post has this slug; choose another' }]);

    const headers = { 'idempotency-key': 'create-once' };
    const once = await api('POST', '/posts', { title: 'Once' }, { headers });
    const again = await api('POST', '/posts', { title: 'Once' }, { headers });
    expect(again.body.id).toBe(once.body.id);
    expect((await api('POST', '/posts', { title: 'Twice' }, { headers })).status).toBe(422);

    const created = await outbox('audit.change.recorded');
    expect(created.some((a: Json) => a.action === 'post.created' && a.resource.id === first.id)).toBe(true);
    expect((await api('POST', '/posts', { title: 'No' }, { as: viewer })).status).toBe(403);
  });

  it('are listed newest first with search, status and substage filters and cursors', async () => {
    const stages = (await api('GET', '/stages')).body.items;
    const launch = stages[2].substages[1];
    const a = await post('Zebra findings alpha');
    const b = await post('Zebra findings beta', { status: 'in_process', substage_id: launch.id });
    const c = await post('Zebra findings gamma');
    const search = await api('GET', '/posts?q=zebra%20findings&limit=2');
    expect(search.body.items.map((p: Json) => p.id)).toEqual([c.id, b.id]);
    const next = await api('GET', `/posts?q=zebra%20findings&limit=2&cursor=${search.body.next_cursor}`);
    expect(next.body).toEqual({ items: [expect.objectContaining({ id: a.id })], next_cursor: null });
    expect((await api('GET', '/posts?q=zebra&status=in_process')).body.items.map((p: Json) => p.id)).toEqual([b.id]);
    expect((await api('GET', `/posts?q=zebra&substage_id=${launch.id}`)).body.items.map((p: Json) => p.id)).toEqual([b.id]);
    expect((await api('GET', '/posts?q=100%25')).body.items).toEqual([]);
    const bad = await api('GET', '/posts?cursor=nonsense');
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toBe('query.cursor');
  });

  it('change title, slug, status and substage with If-Match', async () => {
    const p = await post('Change me');
    const read = await api('GET', `/posts/${p.id}`);
    const etag = read.headers.get('etag') as string;
    const changed = await api(
      'PATCH',
      `/posts/${p.id}`,
      { title: 'Changed', slug: 'changed-slug', status: 'in_process' },
      {
        headers: { 'if-match': etag },
      },
    );
    expect(changed.status, changed.text).toBe(200);
    expect(changed.body).toMatchObject({ title: 'Changed', slug: 'changed-slug', status: 'in_process' });
    expect((await api('PATCH', `/posts/${p.id}`, { title: 'Lost' }, { headers: { 'if-match': etag } })).status).toBe(412);
    const badSubstage = await api('PATCH', `/posts/${p.id}`, { substage_id: '01936f6e-7c1a-7b2e-9f3c-2b6d1e8a4c5d' });
    expect(badSubstage.body.errors).toEqual([{ field: 'body.substage_id', message: 'no such substage' }]);
  });
});

describe('sections', () => {
  it('are added, reordered and removed, the others closing up', async () => {
    const p = await post('Sectioned');
    const one = (await api('POST', `/posts/${p.id}/sections`, {})).body;
    const two = (await api('POST', `/posts/${p.id}/sections`, {})).body;
    const zero = await api('POST', `/posts/${p.id}/sections`, { position: 1 });
    expect(zero.status, zero.text).toBe(201);
    let order = (await api('GET', `/posts/${p.id}`)).body.sections.map((s: Json) => s.id);
    expect(order).toEqual([zero.body.id, one.id, two.id]);
    const moved = await api('PATCH', `/posts/${p.id}/sections/${zero.body.id}`, { position: 3 });
    expect(moved.body.items.map((s: Json) => `${s.position}:${s.id}`)).toEqual([
      `1:${one.id}`,
      `2:${two.id}`,
      `3:${zero.body.id}`,
    ]);
    expect((await api('DELETE', `/posts/${p.id}/sections/${one.id}`)).status).toBe(204);
    order = (await api('GET', `/posts/${p.id}`)).body.sections.map((s: Json) => `${s.position}:${s.id}`);
    expect(order).toEqual([`1:${two.id}`, `2:${zero.body.id}`]);
    expect((await api('DELETE', `/posts/${p.id}/sections/${one.id}`)).status).toBe(404);
  });
});

describe('field values and revisions', () => {
  it('write revisions based on the one read; a stale write is a 409 showing both values', async () => {
    const p = await post('Values');
    const first = await api('PUT', `/posts/${p.id}/values/working_title`, { value: 'A first title', base_revision_id: null });
    expect(first.status, first.text).toBe(200);
    expect(first.body).toMatchObject({
      field_key: 'working_title',
      value: 'A first title',
      author: { kind: 'account', id: 'editor-1' },
    });

    const mine = await api(
      'PUT',
      `/posts/${p.id}/values/working_title`,
      { value: 'Mine', base_revision_id: first.body.revision_id },
      { as: otherEditor },
    );
    expect(mine.status).toBe(200);
    const stale = await api('PUT', `/posts/${p.id}/values/working_title`, {
      value: 'Theirs',
      base_revision_id: first.body.revision_id,
    });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({
      type: 'https://llmops.dev/problems/stale-revision',
      current: { revision_id: mine.body.revision_id, value: 'Mine', author: { kind: 'account', id: 'editor-2' } },
      yours: { base_revision_id: first.body.revision_id, value: 'Theirs' },
    });
    const fresh = await api('PUT', `/posts/${p.id}/values/working_title`, { value: 'A', base_revision_id: null });
    expect(fresh.status).toBe(409);

    const read = (await api('GET', `/posts/${p.id}`)).body;
    expect(read.values).toEqual([
      expect.objectContaining({ field_key: 'working_title', value: 'Mine', revision_id: mine.body.revision_id }),
    ]);
    const written = (await outbox('workflow.revision.written')).filter((e: Json) => e.post_id === p.id);
    expect(written.map((e: Json) => e.revision_id)).toEqual([first.body.revision_id, mine.body.revision_id]);
  });

  it('autosave amends the author’s own open revision instead of adding one; another author starts a new one', async () => {
    const p = await post('Autosave');
    const path = `/posts/${p.id}/values/basic_idea`;
    const one = await api('PUT', path, { value: 'An idea', base_revision_id: null, autosave: true });
    const two = await api('PUT', path, { value: 'An idea, longer', base_revision_id: one.body.revision_id, autosave: true });
    expect(two.body.revision_id).toBe(one.body.revision_id);
    expect(two.body.value).toBe('An idea, longer');
    const other = await api(
      'PUT',
      path,
      { value: 'Edited', base_revision_id: two.body.revision_id, autosave: true },
      { as: otherEditor },
    );
    expect(other.body.revision_id).not.toBe(one.body.revision_id);
    const revisions = (await api('GET', `${path}/revisions`)).body.items;
    expect(revisions.map((r: Json) => r.value)).toEqual(['Edited', 'An idea, longer']);
    expect(revisions[0].previous_revision_id).toBe(one.body.revision_id);
  });

  it('restore brings an earlier value back as a new revision that names it', async () => {
    const p = await post('Restore');
    const path = `/posts/${p.id}/values/tags`;
    const one = await api('PUT', path, { value: ['tea', 'guide'], base_revision_id: null });
    const two = await api('PUT', path, { value: ['coffee'], base_revision_id: one.body.revision_id });
    const restored = await api('POST', `${path}/restore`, {
      revision_id: one.body.revision_id,
      base_revision_id: two.body.revision_id,
    });
    expect(restored.status, restored.text).toBe(200);
    expect(restored.body.value).toEqual(['tea', 'guide']);
    const revisions = (await api('GET', `${path}/revisions?limit=1`)).body;
    expect(revisions.items[0]).toMatchObject({
      restored_from_revision_id: one.body.revision_id,
      previous_revision_id: two.body.revision_id,
    });
    const rest = await api('GET', `${path}/revisions?limit=5&cursor=${revisions.next_cursor}`);
    expect(rest.body.items.map((r: Json) => r.id)).toEqual([two.body.revision_id, one.body.revision_id]);
    const stale = await api('POST', `${path}/restore`, {
      revision_id: one.body.revision_id,
      base_revision_id: two.body.revision_id,
    });
    expect(stale.status).toBe(409);
  });

  it('check values against the field kind and schema, naming the place that is wrong', async () => {
    const p = await post('Kinds');
    const list = await api('PUT', `/posts/${p.id}/values/tags`, { value: ['ok', 3], base_revision_id: null });
    expect(list.status).toBe(422);
    expect(list.body.errors).toEqual([{ field: 'body.value[1]', message: 'expected a string' }]);
    const text = await api('PUT', `/posts/${p.id}/values/working_title`, { value: { no: 1 }, base_revision_id: null });
    expect(text.body.errors[0].field).toBe('body.value');
    const image = await api('PUT', `/posts/${p.id}/values/header_image`, {
      value: { url: 'ftp://x', caption: 'A cup', size: 3 },
      base_revision_id: null,
    });
    expect(image.body.errors.map((e: Json) => e.field).sort()).toEqual(['body.value.size', 'body.value.url']);
    const json = await api('PUT', `/posts/${p.id}/values/angles`, { value: { angle: 7 }, base_revision_id: null });
    expect(json.status).toBe(422);
    expect(json.body.errors[0].field).toBe('body.value.angle');
    expect((await api('PUT', `/posts/${p.id}/values/angles`, { value: { angle: 'cost' }, base_revision_id: null })).status).toBe(
      200,
    );
    expect((await api('PUT', `/posts/${p.id}/values/no_such_field`, { value: 'x', base_revision_id: null })).status).toBe(404);
  });

  it('section fields need a section of the post; a removed section’s values leave the post', async () => {
    const p = await post('Section values');
    const section = (await api('POST', `/posts/${p.id}/sections`, {})).body;
    const missing = await api('PUT', `/posts/${p.id}/values/draft`, { value: 'Text', base_revision_id: null });
    expect(missing.body.errors).toEqual([{ field: 'body.section_id', message: 'draft is a section field: name the section' }]);
    const onPost = await api('PUT', `/posts/${p.id}/values/outline`, {
      value: 'x',
      base_revision_id: null,
      section_id: section.id,
    });
    expect(onPost.body.errors[0].field).toBe('body.section_id');
    const written = await api('PUT', `/posts/${p.id}/values/draft`, {
      value: 'Text',
      base_revision_id: null,
      section_id: section.id,
    });
    expect(written.status, written.text).toBe(200);
    expect(written.body.section_id).toBe(section.id);
    const history = await api('GET', `/posts/${p.id}/values/draft/revisions?section_id=${section.id}`);
    expect(history.body.items).toHaveLength(1);
    await api('DELETE', `/posts/${p.id}/sections/${section.id}`);
    expect((await api('GET', `/posts/${p.id}`)).body.values).toEqual([]);
  });
});
