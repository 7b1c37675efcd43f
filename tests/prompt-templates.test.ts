import { afterAll, describe, expect, it } from 'vitest';
import { startStack } from '@llmops/kit/testing/stack';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import type { Identity } from '@llmops/kit/http/identity';
import { withClient } from '@llmops/kit/db';

const db = await useTestDatabase();
const stack = await startStack({ db, services: ['prompt'] });
afterAll(() => stack.stop());

const admin: Identity = { kind: 'account', subject: 'admin-1', role: 'admin', scopes: [], requestId: 'test' };
const editor: Identity = { kind: 'account', subject: 'editor-1', role: 'editor', scopes: [], requestId: 'test' };
const viewer: Identity = { kind: 'account', subject: 'viewer-1', role: 'viewer', scopes: [], requestId: 'test' };
const runner: Identity = { kind: 'service', subject: 'runner', requestId: 'test' };
const MISSING = '01936f6e-7c1a-7b2e-9f3c-2b6d1e8a4c5d';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function api(
  method: string,
  path: string,
  body?: unknown,
  options: { as?: Identity; headers?: Record<string, string>; prefix?: string } = {},
) {
  const response = await stack.call(
    'prompt',
    `${options.prefix ?? '/api/v1'}${path}`,
    { method, headers: options.headers ?? {}, ...(body === undefined ? {} : { body: JSON.stringify(body) }) },
    options.as ?? editor,
  );
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : null) as Json };
}

async function ok(response: Promise<{ status: number; body: Json }>, status = 200): Promise<Json> {
  const r = await response;
  expect(r.status, JSON.stringify(r.body)).toBe(status);
  return r.body;
}

let seq = 0;
async function publishedPart(content: string, fields: Record<string, unknown> = {}) {
  seq += 1;
  const part = await ok(api('POST', '/parts', { kind: 'task', name: `part-${seq}`, content, ...fields }), 201);
  await ok(api('POST', `/parts/${part.id}/publish`, { message: 'v1' }), 201);
  return part;
}

async function template(messages: unknown[], extra: Record<string, unknown> = {}) {
  seq += 1;
  return ok(api('POST', '/templates', { name: `template-${seq}`, messages, ...extra }), 201);
}

async function outbox(topic: string): Promise<Json[]> {
  return withClient(db.urlFor('prompt'), async (client) => {
    const { rows } = await client.query<{ payload: Json }>('SELECT payload FROM bus.outbox WHERE topic = $1 ORDER BY id', [
      topic,
    ]);
    return rows.map((row) => row.payload);
  });
}

describe('templates and versions', () => {
  it('creates a draft of messages made of parts and inline text, and discovers its variables', async () => {
    const voice = await publishedPart('You write for {{ blog.name }}.', { kind: 'system' });
    const t = await template(
      [
        { role: 'system', entries: [{ type: 'part', part_id: voice.id }] },
        {
          role: 'user',
          entries: [
            { type: 'text', text: 'Title ideas for {{ post.title }}' },
            { type: 'part', part_id: voice.id, version: 1 },
          ],
        },
      ],
      { variables: [{ name: 'post', type: 'object', description: 'The post' }] },
    );
    expect(t.messages).toHaveLength(2);
    expect(t.messages[0].entries[0]).toMatchObject({
      type: 'part',
      part_id: voice.id,
      part_name: voice.name,
      version: null,
      follows: 'latest',
    });
    expect(t.messages[1].entries[1]).toMatchObject({ version: 1, follows: null });
    expect(t.discovered_variables.map((v: Json) => v.name)).toEqual(['blog', 'post']);
    expect(t.variables).toEqual([{ name: 'post', type: 'object', required: true, description: 'The post' }]);
  });

  it('freezes part references at publish: a published version never changes when its parts are edited afterwards', async () => {
    const task = await publishedPart('Write {{ n }} titles.');
    const t = await template([{ role: 'user', entries: [{ type: 'part', part_id: task.id }] }]);
    const v1 = await ok(api('POST', `/templates/${t.id}/publish`, { message: 'first' }), 201);
    expect(v1).toMatchObject({
      version: 1,
      part_versions: [{ part_id: task.id, version: 1 }],
      message: 'first',
      author: 'editor-1',
    });
    expect(v1.messages[0].entries[0]).toMatchObject({ version: 1, follows: 'latest' });

    await ok(api('PATCH', `/parts/${task.id}`, { content: 'Write exactly {{ n }} short titles.' }));
    await ok(api('POST', `/parts/${task.id}/publish`), 201);

    const frozen = await ok(api('POST', `/templates/${t.id}/preview`, { version: 1, inputs: { n: 5 } }));
    expect(frozen.messages).toEqual([expect.objectContaining({ role: 'user', text: 'Write 5 titles.' })]);
    expect(frozen.part_versions).toEqual([{ part_id: task.id, version: 1 }]);
    const draft = await ok(api('POST', `/templates/${t.id}/preview`, { inputs: { n: 5 } }));
    expect(draft.messages[0].text).toBe('Write exactly 5 short titles.');
    expect(draft.template_version).toBeNull();

    const v2 = await ok(api('POST', `/templates/${t.id}/publish`), 201);
    expect(v2.part_versions).toEqual([{ part_id: task.id, version: 2 }]);
    expect((await api('POST', `/templates/${t.id}/publish`)).status).toBe(409);
    const again = await ok(api('GET', `/templates/${t.id}/versions/1`, undefined, { as: viewer }));
    expect(again.part_versions).toEqual([{ part_id: task.id, version: 1 }]);
    const events = (await outbox('prompt.template.published')).filter((e) => e.template_id === t.id);
    expect(events.map((e) => [e.version, e.part_versions])).toEqual([
      [1, [{ part_id: task.id, version: 1 }]],
      [2, [{ part_id: task.id, version: 2 }]],
    ]);
    const list = await ok(api('GET', `/templates/${t.id}/versions`));
    expect(list.items.map((v: Json) => v.version)).toEqual([2, 1]);
  });

  it('refuses to publish a reference to an unpublished or deleted part, naming it', async () => {
    const draftOnly = await ok(api('POST', '/parts', { kind: 'task', name: 'never published', content: 'x' }), 201);
    const t = await template([{ role: 'user', entries: [{ type: 'part', part_id: draftOnly.id }] }]);
    const unpublished = await api('POST', `/templates/${t.id}/publish`);
    expect(unpublished.status).toBe(422);
    expect(unpublished.body.detail).toContain('"never published"');
    expect(unpublished.body.errors[0].field).toBe('messages[0].entries[0]');

    const doomed = await publishedPart('y');
    const t2 = await template([{ role: 'user', entries: [{ type: 'part', part_id: doomed.id }] }]);
    await ok(api('DELETE', `/parts/${doomed.id}`), 204);
    const deleted = await api('POST', `/templates/${t2.id}/publish`);
    expect(deleted.status).toBe(422);
    expect(deleted.body.detail).toMatch(new RegExp(`"${doomed.name}", which was deleted`));
    expect((await api('GET', `/templates/${t2.id}/versions`)).body.items).toEqual([]);
  });

  it('edits messages and entries: add, change, reorder, remove, with If-Match', async () => {
    const p = await publishedPart('Part text');
    const t = await template([{ role: 'system', entries: [{ type: 'text', text: 'A' }] }]);
    const added = await ok(
      api('POST', `/templates/${t.id}/messages`, { role: 'user', entries: [{ type: 'text', text: 'B' }] }),
      201,
    );
    const [a, b] = added.messages;
    const reordered = await ok(api('PUT', `/templates/${t.id}/messages/order`, { message_ids: [b.id, a.id] }));
    expect(reordered.messages.map((m: Json) => m.id)).toEqual([b.id, a.id]);
    const withEntry = await ok(
      api('POST', `/templates/${t.id}/messages/${b.id}/entries`, { entry: { type: 'part', part_id: p.id }, position: 0 }),
      201,
    );
    expect(withEntry.messages[0].entries.map((e: Json) => e.type)).toEqual(['part', 'text']);
    const changed = await ok(api('PATCH', `/templates/${t.id}/messages/${a.id}`, { role: 'assistant' }));
    expect(changed.messages[1].role).toBe('assistant');
    const entry = changed.messages[0].entries[1];
    const removed = await ok(api('DELETE', `/templates/${t.id}/messages/${b.id}/entries/${entry.id}`));
    expect(removed.messages[0].entries).toHaveLength(1);
    const gone = await ok(api('DELETE', `/templates/${t.id}/messages/${a.id}`));
    expect(gone.messages.map((m: Json) => m.id)).toEqual([b.id]);

    const current = await api('GET', `/templates/${t.id}`);
    expect((await api('PATCH', `/templates/${t.id}`, { description: 'x' }, { headers: { 'if-match': '"old"' } })).status).toBe(
      412,
    );
    expect(
      (
        await api(
          'PATCH',
          `/templates/${t.id}`,
          { description: 'x' },
          { headers: { 'if-match': current.headers.get('etag') as string } },
        )
      ).status,
    ).toBe(200);
    expect(
      (
        await api(
          'POST',
          `/templates/${t.id}/messages`,
          { role: 'user', entries: [{ type: 'text', text: 'C' }] },
          { headers: { 'if-match': current.headers.get('etag') as string } },
        )
      ).status,
    ).toBe(412);
  });

  it('diffs two versions message by message', async () => {
    const p = await publishedPart('Line one\nLine two');
    const t = await template([
      { role: 'system', entries: [{ type: 'text', text: 'Be brief.' }] },
      { role: 'user', entries: [{ type: 'part', part_id: p.id }] },
    ]);
    await ok(api('POST', `/templates/${t.id}/publish`), 201);
    await ok(api('PATCH', `/parts/${p.id}`, { content: 'Line one\nLine 2' }));
    await ok(api('POST', `/parts/${p.id}/publish`), 201);
    const draft = await ok(api('GET', `/templates/${t.id}`));
    await ok(
      api('PATCH', `/templates/${t.id}`, {
        merge_adjacent: true,
        messages: [draft.messages[1], { role: 'assistant', entries: [{ type: 'text', text: 'Sure.' }] }].map((m: Json) => ({
          ...(m.id ? { id: m.id } : {}),
          role: m.role,
          entries: m.entries.map((e: Json) =>
            e.type === 'part'
              ? { id: e.id, type: 'part', part_id: e.part_id, version: e.version }
              : { type: 'text', text: e.text },
          ),
        })),
      }),
    );
    await ok(api('POST', `/templates/${t.id}/publish`), 201);
    const diff = await ok(api('GET', `/templates/${t.id}/diff?from=1&to=2`, undefined, { as: viewer }));
    expect(diff.changed).toBe(true);
    expect(diff.fields).toEqual([{ field: 'merge_adjacent', from: false, to: true }]);
    const byChange = diff.messages.map((m: Json) => [m.change, m.role.from, m.role.to]);
    expect(byChange).toEqual([
      ['changed', 'user', 'user'],
      ['added', null, 'assistant'],
      ['removed', 'system', null],
    ]);
    expect(diff.messages[0].entries[0]).toMatchObject({ change: 'changed', from: { version: 1 }, to: { version: 2 } });
    expect(diff.messages[0].text.filter((l: Json) => l.op !== 'equal').map((l: Json) => `${l.op}:${l.text}`)).toEqual([
      'remove:Line two',
      'add:Line 2',
    ]);
    expect((await api('GET', `/templates/${t.id}/diff?from=1&to=7`)).status).toBe(404);
  });

  it('shows the impact of publishing a part before it is published', async () => {
    const p = await publishedPart('About {{ topic }}');
    const following = await template([{ role: 'user', entries: [{ type: 'part', part_id: p.id }] }]);
    const pinned = await template([{ role: 'user', entries: [{ type: 'part', part_id: p.id, version: 1 }] }]);
    await ok(api('POST', `/templates/${pinned.id}/publish`), 201);
    await ok(api('PUT', `/templates/${pinned.id}/labels/staging`, { version: 1 }));
    await ok(api('PATCH', `/parts/${p.id}`, { content: 'About {{ topic }} for {{ audience }}' }));
    const impact = await ok(api('GET', `/parts/${p.id}/impact`, undefined, { as: viewer }));
    expect(impact).toMatchObject({
      latest_version: 1,
      draft_differs: true,
      variables_added: ['audience'],
      variables_removed: [],
    });
    expect(impact.would_change.map((r: Json) => r.template_id)).toEqual([following.id]);
    expect(impact.pinned.map((r: Json) => [r.template_id, r.version])).toEqual([[pinned.id, 1]]);
    expect(impact.published_versions).toEqual([
      { template_id: pinned.id, name: pinned.name, version: 1, part_version: 1, labels: ['staging'] },
    ]);
  });
});

describe('labels', () => {
  async function twoVersions() {
    const p = await publishedPart('Hello {{ name }}');
    const t = await template([{ role: 'user', entries: [{ type: 'part', part_id: p.id }] }]);
    await ok(api('POST', `/templates/${t.id}/publish`), 201);
    await ok(
      api('PATCH', `/templates/${t.id}`, {
        variables: [{ name: 'tone', type: 'string' }],
        messages: [
          {
            role: 'user',
            entries: [
              { type: 'part', part_id: p.id },
              { type: 'text', text: 'Tone: {{ tone }}' },
            ],
          },
        ],
      }),
    );
    await ok(api('POST', `/templates/${t.id}/publish`), 201);
    return t;
  }

  it('sets and moves labels, recording who, when, from and to, and resolves them', async () => {
    const t = await twoVersions();
    const set = await ok(api('PUT', `/templates/${t.id}/labels/staging`, { version: 1 }));
    expect(set).toMatchObject({
      applied: true,
      from_version: null,
      to_version: 1,
      label: { name: 'staging', version: 1, protected: false },
    });
    const moved = await ok(api('PUT', `/templates/${t.id}/labels/staging`, { version: 2 }));
    expect(moved.impact).toMatchObject({ variables_added: ['tone'], newly_required: ['tone'] });
    const resolved = await ok(api('GET', `/templates/${t.id}/labels/staging`, undefined, { as: viewer }));
    expect(resolved.version).toBe(2);
    expect(resolved.moves.map((m: Json) => [m.from_version, m.to_version, m.actor.id])).toEqual([
      [1, 2, 'editor-1'],
      [null, 1, 'editor-1'],
    ]);
    expect(Date.parse(resolved.moves[0].at)).not.toBeNaN();
    const events = (await outbox('prompt.label.moved')).filter((e) => e.template_id === t.id);
    expect(events.map((e) => [e.label, e.from_version, e.to_version])).toEqual([
      ['staging', null, 1],
      ['staging', 1, 2],
    ]);
    const preview = await ok(
      api('POST', `/templates/${t.id}/preview`, { label: 'staging', inputs: { name: 'Ada', tone: 'dry' } }),
    );
    expect(preview).toMatchObject({ template_version: 2, label: 'staging', ok: true });
    expect(preview.messages[0].text).toBe('Hello Ada\n\nTone: dry');
    const listed = await ok(api('GET', `/templates/${t.id}/labels`));
    expect(listed.items.map((l: Json) => l.name)).toEqual(['staging']);
    expect((await api('DELETE', `/templates/${t.id}/labels/staging`)).status).toBe(204);
    expect((await api('GET', `/templates/${t.id}/labels/staging`)).status).toBe(404);
  });

  it('guards a protected label: setting, moving and deleting it all need an admin, a dry run and its confirm', async () => {
    const t = await twoVersions();
    const production = `/templates/${t.id}/labels/production`;
    // An editor can neither create production (protected from the start) nor protect a label of their own.
    expect((await api('PUT', production, { version: 1 })).status).toBe(403);
    expect((await api('PUT', production, { version: 1, protected: false })).status).toBe(403);
    expect((await api('PUT', `/templates/${t.id}/labels/release`, { version: 1, protected: true })).status).toBe(403);
    const blindSet = await api('PUT', production, { version: 1 }, { as: admin });
    expect(blindSet.status).toBe(428);
    expect(blindSet.headers.get('content-type')).toBe('application/problem+json');
    expect((await api('GET', production)).status).toBe(404);
    const drySet = await ok(api('PUT', production, { version: 1, dry_run: true }, { as: admin }));
    expect(drySet).toMatchObject({ applied: false, from_version: null, to_version: 1, label: null });
    const created = await ok(api('PUT', production, { version: 1, confirm: drySet.confirm }, { as: admin }));
    expect(created).toMatchObject({ applied: true, label: { version: 1, protected: true } });

    expect((await api('PUT', production, { version: 2 })).status).toBe(403);
    expect((await api('DELETE', production)).status).toBe(403);
    expect((await api('PUT', production, { version: 2 }, { as: admin })).status).toBe(428);
    const dry = await ok(api('PUT', production, { version: 2, dry_run: true }, { as: admin }));
    expect(dry).toMatchObject({ applied: false, from_version: 1, to_version: 2, label: { version: 1 } });
    expect(dry.diff.changed).toBe(true);
    expect(dry.impact.newly_required).toEqual(['tone']);
    expect(dry.confirm).toEqual(expect.any(String));
    expect((await api('GET', production)).body.version).toBe(1);
    expect((await api('PUT', production, { version: 2, confirm: 'wrong' }, { as: admin })).status).toBe(409);
    const moved = await ok(api('PUT', production, { version: 2, confirm: dry.confirm }, { as: admin }));
    expect(moved).toMatchObject({ applied: true, label: { version: 2, protected: true } });
    // The token named the move from 1 to 2: once the label is at 2 it no longer fits a move back.
    expect((await api('PUT', production, { version: 1, confirm: dry.confirm }, { as: admin })).status).toBe(409);

    const blindDelete = await api('DELETE', production, undefined, { as: admin });
    expect(blindDelete.status).toBe(428);
    expect(blindDelete.body.detail).toMatch(/dry_run=true/);
    const dryDelete = await ok(api('DELETE', `${production}?dry_run=true`, undefined, { as: admin }));
    expect(dryDelete).toMatchObject({ applied: false, label: { name: 'production', version: 2 }, confirm: expect.any(String) });
    expect((await api('GET', production)).status).toBe(200);
    expect((await api('DELETE', `${production}?confirm=${dry.confirm}`, undefined, { as: admin })).status).toBe(409);
    expect((await api('DELETE', `${production}?confirm=${dryDelete.confirm}`, undefined, { as: admin })).status).toBe(204);
    // Deleted, production is protected again the next time it is set: an editor cannot re-create it.
    expect((await api('PUT', production, { version: 2 })).status).toBe(403);

    const moves = await withClient(db.urlFor('prompt'), async (client) => {
      const { rows } = await client.query<{ from_version: number | null; to_version: number | null; actor_id: string }>(
        `SELECT from_version, to_version, actor_id FROM prompt.label_moves WHERE template_id = $1 ORDER BY id`,
        [t.id],
      );
      return rows.map((row) => [row.from_version, row.to_version, row.actor_id]);
    });
    expect(moves).toEqual([
      [null, 1, 'admin-1'],
      [1, 2, 'admin-1'],
      [2, null, 'admin-1'],
    ]);
  });

  it('honours If-Match on setting and deleting a label (412), with the ETag its read gives', async () => {
    const t = await twoVersions();
    const staging = `/templates/${t.id}/labels/staging`;
    await ok(api('PUT', staging, { version: 1 }));
    expect((await api('PUT', staging, { version: 2 }, { headers: { 'if-match': '"stale"' } })).status).toBe(412);
    const read = await api('GET', staging);
    const etag = read.headers.get('etag') as string;
    expect(etag).toMatch(/^"/);
    const moved = await api('PUT', staging, { version: 2 }, { headers: { 'if-match': etag } });
    expect(moved.status).toBe(200);
    const stale = await api('PUT', staging, { version: 1 }, { headers: { 'if-match': etag } });
    expect(stale.status).toBe(412);
    expect(stale.body.detail).toMatch(/Label "staging" of template .* was changed by someone else/);
    expect((await api('DELETE', staging, undefined, { headers: { 'if-match': etag } })).status).toBe(412);
    expect((await api('GET', staging)).body.version).toBe(2);
    const fresh = moved.headers.get('etag') as string;
    expect(fresh).not.toBe(etag);
    expect((await api('DELETE', staging, undefined, { headers: { 'if-match': fresh } })).status).toBe(204);
    // Gone meanwhile: a write that expected it finds no label to match (RFC 9110), not a fresh one.
    expect((await api('PUT', staging, { version: 1 }, { headers: { 'if-match': fresh } })).status).toBe(412);
    expect((await api('GET', staging)).status).toBe(404);
  });

  it('answers 404 for unknown labels, 422 for a version that does not exist, 400 for a bad label name', async () => {
    const t = await twoVersions();
    expect((await api('GET', `/templates/${t.id}/labels/nope`)).status).toBe(404);
    expect((await api('DELETE', `/templates/${t.id}/labels/nope`)).status).toBe(404);
    const preview = await api('POST', `/templates/${t.id}/preview`, { label: 'nope' });
    expect(preview.status).toBe(404);
    expect(preview.body.detail).toContain('no label "nope"');
    const bad = await api('PUT', `/templates/${t.id}/labels/staging`, { version: 9 });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].field).toBe('body.version');
    expect((await api('PUT', `/templates/${t.id}/labels/Bad%20Name`, { version: 1 })).status).toBe(400);
    expect((await api('PUT', `/templates/${MISSING}/labels/staging`, { version: 1 })).status).toBe(404);
    expect((await api('PUT', `/templates/${t.id}/labels/staging`, { version: 1, extra: true })).status).toBe(422);
  });
});

describe('rendering: preview, assemble, the runner', () => {
  it('lists every problem at once with part, line and column, and renders nothing then', async () => {
    const p = await publishedPart('Post: {{ post.title }}\nBy {{ author }}');
    const t = await template(
      [
        {
          role: 'user',
          entries: [
            { type: 'part', part_id: p.id },
            { type: 'text', text: '{{ words }} words' },
          ],
        },
      ],
      {
        variables: [{ name: 'words', type: 'number' }],
      },
    );
    const result = await ok(api('POST', `/templates/${t.id}/preview`, { inputs: { post: {}, words: 'many' } }, { as: viewer }));
    expect(result.ok).toBe(false);
    expect(result.messages).toEqual([]);
    expect(result.problems.map((x: Json) => [x.code, x.variable, x.source?.part_name ?? null, x.line, x.column])).toEqual(
      expect.arrayContaining([
        ['wrong_type', 'words', null, null, null],
        ['missing_property', 'post.title', p.name, 1, 10],
        ['missing_variable', 'author', p.name, 2, 7],
      ]),
    );
  });

  it('returns the exact messages with token estimates, and the same for the runner at /internal/render', async () => {
    const system = await publishedPart('You are an editor.', { kind: 'system', default_role: 'system' });
    const t = await template(
      [
        { role: 'system', entries: [{ type: 'part', part_id: system.id }] },
        { role: 'user', entries: [{ type: 'text', text: 'Tags: {{ tags | join: ", " }}' }] },
      ],
      { variables: [{ name: 'tags', type: 'list' }] },
    );
    await ok(api('POST', `/templates/${t.id}/publish`), 201);
    const preview = await ok(
      api('POST', `/templates/${t.id}/preview`, { version: 1, inputs: { tags: ['a', 'b'] }, model: 'gpt-4o-mini' }),
    );
    expect(preview.messages.map((m: Json) => [m.role, m.text])).toEqual([
      ['system', 'You are an editor.'],
      ['user', 'Tags: a, b'],
    ]);
    expect(preview.token_estimate.method).toBe('tiktoken:o200k_base');
    expect(preview.token_estimate.total).toBe(preview.messages.reduce((s: number, m: Json) => s + m.tokens, 0) + 2 * 3 + 3);
    expect(preview.chars).toBe('You are an editor.'.length + 'Tags: a, b'.length);

    const rendered = await ok(
      api(
        'POST',
        '/render',
        { template_id: t.id, version: 1, inputs: { tags: ['a', 'b'] }, model: 'gpt-4o-mini' },
        { as: runner, prefix: '/internal' },
      ),
    );
    expect(rendered.messages).toEqual(preview.messages);
    expect(rendered.part_versions).toEqual([{ part_id: system.id, version: 1 }]);
    expect((await api('POST', '/render', { template_id: t.id, version: 1 }, { as: admin, prefix: '/internal' })).status).toBe(
      403,
    );
    expect((await api('POST', '/render', { template_id: t.id }, { as: runner, prefix: '/internal' })).status).toBe(422);

    // The latest published version in the same call (a task created without version or label).
    const latest = await ok(
      api(
        'POST',
        '/render',
        { template_id: t.id, latest: true, inputs: { tags: ['a', 'b'] }, model: 'gpt-4o-mini' },
        { as: runner, prefix: '/internal' },
      ),
    );
    expect(latest.template_version).toBe(1);
    expect(latest.messages).toEqual(preview.messages);
    const both = await api(
      'POST',
      '/render',
      { template_id: t.id, version: 1, latest: true },
      { as: runner, prefix: '/internal' },
    );
    expect(both.status).toBe(422);
    const draftOnly = await template([{ role: 'user', entries: [{ type: 'text', text: 'Hi' }] }]);
    const unpublished = await api(
      'POST',
      '/render',
      { template_id: draftOnly.id, latest: true },
      { as: runner, prefix: '/internal' },
    );
    expect(unpublished.status).toBe(422);
    expect(unpublished.body.detail).toMatch(/has never been published; publish it first/);
  });

  it('assembles ad-hoc parts and inline messages without saving anything', async () => {
    const p = await publishedPart('Summarise {{ text }}.');
    const before = (await api('GET', '/templates')).body.items.length;
    const result = await ok(
      api('POST', '/assemble', {
        messages: [
          { role: 'system', entries: [{ type: 'text', text: 'Be short.' }] },
          { role: 'system', entries: [{ type: 'text', text: 'Be kind.' }] },
          { role: 'user', entries: [{ type: 'part', part_id: p.id }] },
        ],
        merge_adjacent: true,
        inputs: { text: 'the post' },
      }),
    );
    expect(result.messages.map((m: Json) => [m.role, m.text])).toEqual([
      ['system', 'Be short.\n\nBe kind.'],
      ['user', 'Summarise the post.'],
    ]);
    expect(result.token_estimate.method).toBe('approximation:chars/4');
    expect((await api('GET', '/templates')).body.items.length).toBe(before);
    const unknown = await ok(
      api('POST', '/assemble', { messages: [{ role: 'user', entries: [{ type: 'part', part_id: MISSING }] }] }),
    );
    expect(unknown.problems.map((x: Json) => x.code)).toEqual(['unknown_part']);
    const loop = await ok(
      api('POST', '/assemble', {
        messages: [{ role: 'user', entries: [{ type: 'text', text: '{% for i in (1..1000000000) %}x{% endfor %}' }] }],
      }),
      422,
    );
    expect(loop.errors).toEqual([{ field: 'body.messages[0].entries[0]', message: expect.stringMatching(/memory budget/) }]);
  });
});

describe('bad input on template endpoints', () => {
  it('refuses bad bodies with the field named and writes nothing', async () => {
    const count = async () => (await api('GET', '/templates?limit=200')).body.items.length;
    const before = await count();
    const cases: [unknown, string][] = [
      [{ name: '' }, 'body.name'],
      [{ name: 'n', messages: [{ role: 'robot', entries: [{ type: 'text', text: 'x' }] }] }, 'body.messages[0].role'],
      [{ name: 'n', messages: [{ role: 'user', entries: [] }] }, 'body.messages[0].entries'],
      [
        { name: 'n', messages: [{ role: 'user', entries: [{ type: 'text', text: 'x'.repeat(65_537) }] }] },
        'body.messages[0].entries[0].text',
      ],
      [
        { name: 'n', messages: [{ role: 'user', entries: [{ type: 'text', text: 'a\n{% if x %} never closed' }] }] },
        'body.messages[0].entries[0].text',
      ],
      [
        { name: 'n', messages: [{ role: 'user', entries: [{ type: 'part', part_id: MISSING }] }] },
        'body.messages[0].entries[0].part_id',
      ],
      [{ name: 'n', variables: [{ name: '1x', type: 'string' }] }, 'body.variables[0].name'],
      [{ name: 'n', variables: [{ name: 'x', type: 'string', default: 3 }] }, 'body.variables[0]'],
      [{ name: 'n', default_model_id: 'gpt-4' }, 'body.default_model_id'],
      [
        { name: 'n', messages: Array.from({ length: 101 }, () => ({ role: 'user', entries: [{ type: 'text', text: 'x' }] })) },
        'body.messages',
      ],
    ];
    for (const [body, field] of cases) {
      const response = await api('POST', '/templates', body);
      expect(response.status, `${field}: ${JSON.stringify(response.body).slice(0, 200)}`).toBe(422);
      expect(response.body.errors.map((e: Json) => e.field)).toContain(field);
    }
    const syntax = await api('POST', '/templates', cases[4]?.[0]);
    expect(syntax.body.errors[0].message).toMatch(/line 2, column/);
    expect(await count()).toBe(before);

    const t = await template([{ role: 'user', entries: [{ type: 'text', text: 'x' }] }]);
    expect((await api('POST', '/templates', { name: t.name })).status).toBe(409);
    expect((await api('GET', `/templates/${MISSING}`)).status).toBe(404);
    expect((await api('GET', '/templates/nope')).status).toBe(400);
    expect((await api('PATCH', `/templates/${t.id}`, {})).status).toBe(422);
    expect((await api('POST', `/templates/${t.id}/preview`, { version: 1, label: 'x' })).status).toBe(422);
    expect((await api('POST', `/templates/${t.id}/preview`, { version: 3 })).status).toBe(404);
    expect((await api('GET', `/templates/${t.id}/versions/1`)).status).toBe(404);
    expect((await api('PATCH', `/templates/${t.id}/messages/${MISSING}`, { role: 'user' })).status).toBe(404);
    expect((await api('DELETE', `/templates/${t.id}/messages/${t.messages[0].id}/entries/${MISSING}`)).status).toBe(404);
    expect((await api('PUT', `/templates/${t.id}/messages/order`, { message_ids: [] })).status).toBe(422);
    expect((await api('POST', `/templates/${t.id}/publish`, { message: 'x'.repeat(2001) })).status).toBe(422);
    expect((await api('POST', '/assemble', { messages: [] })).status).toBe(422);
    expect((await api('POST', `/templates/${t.id}/preview`, { inputs: { big: 'x'.repeat(600_000) } })).status).toBe(422);
    for (const [method, path, body] of [
      ['POST', '/templates', { name: 'v' }],
      ['PATCH', `/templates/${t.id}`, { name: 'v' }],
      ['DELETE', `/templates/${t.id}`, undefined],
      ['POST', `/templates/${t.id}/publish`, {}],
      ['PUT', `/templates/${t.id}/labels/x`, { version: 1 }],
    ] as const) {
      expect((await api(method, path, body, { as: viewer })).status, `${method} ${path}`).toBe(403);
    }
    expect((await api('DELETE', `/templates/${t.id}`)).status).toBe(204);
    expect((await api('GET', `/templates/${t.id}`)).status).toBe(404);
  });
});
