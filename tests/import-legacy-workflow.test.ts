/**
 * The legacy importer's second step (issue 18): templates, actions, step automations, posts, sections,
 * fields and per-post choices of legacy BlogForge databases of the E0, E2, E3 and E4 shapes
 * (tests/fixtures/legacy/shapes.ts, each built once in this file), imported through the prompt and workflow
 * services' internal routes and checked through their public APIs: the dry run says what --apply does,
 * templates are published as version 1 with the `legacy` label and render for the imported posts' values,
 * an imported step automation runs against the provider emulator, a second --apply imports nothing.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { quoteIdent, withClient, withDatabase } from '@llmops/kit/db';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { startEmulator } from '@llmops/emulator/server';
import { importLegacy, type ImportSummary } from '../infra/import/legacy-import.ts';
import { legacySql, type Shape } from './fixtures/legacy/shapes.ts';
import { startRunnerHarness } from './runner-support.ts';
import { admin, editor, type Json } from './workflow-support.ts';

const db = await useTestDatabase();
const emulator = await startEmulator();
const h = await startRunnerHarness(db, emulator, { services: ['registry', 'prompt', 'runner', 'workflow'] });

const suffix = Math.random().toString(36).slice(2, 8);
const legacyUrls = new Map<Shape, string>();
for (const shape of ['E0', 'E2', 'E3', 'E4'] as const) {
  const name = `legacy_wf_${shape.toLowerCase()}_${suffix}`;
  await withClient(db.adminUrl, (client) => client.query(`CREATE DATABASE ${quoteIdent(name)}`));
  const url = withDatabase(db.adminUrl, name);
  await withClient(url, (client) => client.query(legacySql(shape)));
  legacyUrls.set(shape, url);
}
/**
 * A post larger than one request body (1 MiB): the E0 shape with June's post_section added, and a post of
 * three values and four sections of about 300 kB each (a three-byte character, 100,000 times), 2.1 MB in all:
 * four requests.
 */
const BIG_VALUE = '€'.repeat(100_000);
const bigName = `legacy_wf_big_${suffix}`;
await withClient(db.adminUrl, (client) => client.query(`CREATE DATABASE ${quoteIdent(bigName)}`));
const bigUrl = withDatabase(db.adminUrl, bigName);
await withClient(bigUrl, (client) =>
  client.query(`${legacySql('E0')}
    CREATE TABLE post_section (id serial PRIMARY KEY, post_id integer NOT NULL REFERENCES post (id), section_order integer,
      section_heading text, section_description text);
    INSERT INTO post (title, slug, status) VALUES ('The long read', 'the-long-read', 'draft');
    INSERT INTO post_development (post_id, basic_idea, provisional_title, idea_scope)
      VALUES (2, '${BIG_VALUE}', 'A ${BIG_VALUE}', 'B ${BIG_VALUE}');
    INSERT INTO post_section (post_id, section_order, section_heading, section_description)
      SELECT 2, n, 'Part ' || n, n || ' ${BIG_VALUE}' FROM generate_series(1, 4) AS n;`),
);

afterAll(async () => {
  await h.stop();
  await emulator.stop();
  for (const url of [...legacyUrls.values(), bigUrl]) {
    const name = new URL(url).pathname.slice(1);
    await withClient(db.adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
  }
});

const targets = {
  registry: h.stack.urls.registry as string,
  prompt: h.stack.urls.prompt as string,
  workflow: h.stack.urls.workflow as string,
  secret: h.stack.secret,
};
const run = (shape: Shape, apply: boolean) => importLegacy({ from: legacyUrls.get(shape) as string, apply, targets });

async function wf(method: string, path: string, body?: unknown): Promise<{ status: number; body: Json; text: string }> {
  const response = await h.stack.call(
    'workflow',
    `/api/v1/workflow${path}`,
    { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) },
    editor,
  );
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null, text };
}
async function prompt(method: string, path: string, body?: unknown): Promise<Json> {
  const response = await h.stack.call(
    'prompt',
    `/api/v1${path}`,
    { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) },
    admin,
  );
  const text = await response.text();
  expect(response.status, text).toBeLessThan(300);
  return JSON.parse(text);
}
const itemsOf = (summary: ImportSummary, kind: string) => summary.items.filter((item) => item.kind === kind);
const WORKFLOW_KINDS = ['template', 'stage', 'substage', 'field', 'action', 'post', 'section', 'value', 'choice'] as const;
const countsOf = (summary: ImportSummary) => Object.fromEntries(WORKFLOW_KINDS.map((kind) => [kind, summary.counts[kind]]));
/** Imported and skipped per kind, in WORKFLOW_KINDS order. */
const tally = (summary: ImportSummary, of: 'imported' | 'skipped') => WORKFLOW_KINDS.map((kind) => summary.counts[kind][of]);

describe('legacy import: templates, actions, step automations and posts', () => {
  it('E2: a dry run changes nothing and reports exactly what --apply then imports', async () => {
    const dry = await run('E2', false);
    expect((await wf('GET', '/posts?limit=200')).body.items).toEqual([]);
    const applied = await run('E2', true);
    expect(countsOf(applied)).toEqual(countsOf(dry));
    expect(applied.skipped).toEqual(dry.skipped);
    expect(applied.warnings).toEqual(dry.warnings);
    expect(applied.items.map((item) => [item.kind, item.legacy_id])).toEqual(
      dry.items.map((item) => [item.kind, item.legacy_id]),
    );
    // template, stage, substage, field, action, post, section, value, choice
    expect(tally(applied, 'imported')).toEqual([7, 1, 2, 9, 2, 2, 2, 13, 3]);
    expect(tally(applied, 'skipped')).toEqual([1, 1, 0, 0, 1, 1, 1, 4, 1]);

    // Every conversion that could change meaning is reported with its row.
    expect(applied.warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^llm_prompt 2: .*prompt_text/),
        expect.stringMatching(/^llm_prompt 2: kept \{IDEA01\}, \{IDEA02\} as literal text/),
        expect.stringMatching(/^llm_prompt 4: .*PLACEHOLDER/),
      ]),
    );
    // After --apply every template previews for an imported post's values, or the report says why not.
    expect(dry.previews).toEqual([]);
    expect(applied.previews).toHaveLength(7);
    expect(applied.previews.filter((preview) => !preview.ok)).toEqual([
      expect.objectContaining({
        template_legacy_id: 'prompt:4',
        post_legacy_id: null,
        problems: [
          expect.stringMatching(/^no imported post holds a value for every input \(facts, PLACEHOLDER_1, PLACEHOLDER_2\)/),
        ],
      }),
    ]);
    const skipped = (table: string, id: string) => applied.skipped.find((s) => s.table === table && s.legacy_id === id);
    expect(skipped('llm_prompt', '5')?.reason).toMatch(/empty/);
    expect(skipped('llm_action', '3')?.reason).toMatch(/names no output field/);
    expect(skipped('post', '2')?.reason).toMatch(/soft-deleted/);
    expect(skipped('post_section', '3')?.reason).toMatch(/post 2, which is soft-deleted/);
    expect(skipped('post_substage_action', '3')?.reason).toMatch(/soft-deleted/);
    expect(skipped('workflow_stage_entity', '21')).toMatchObject({
      kind: 'stage',
      reason: expect.stringMatching(/has no substages/),
    });
    // Section elements that cannot be placed: of a soft-deleted post, naming another post's section, empty.
    expect(skipped('post_section_elements', '5')?.reason).toMatch(/post 2, which is soft-deleted/);
    expect(skipped('post_section_elements', '6')?.reason).toMatch(/section 1 belongs to post 3, not to its post 1/);
    expect(skipped('post_section_elements', '7')?.reason).toMatch(/element_text is empty/);
    const notes = applied.notes.map((note) => `${note.legacy_id}: ${note.message}`);
    expect(notes).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^llm_action:1: model "mistral" is a model of 2 providers/),
        expect.stringMatching(/^llm_action:2: provider_id 1 disagrees with model "gpt-4o" \(provider 2\)/),
        expect.stringMatching(/^llm_action:3: names model "gpt-4", which has no llm_model row/),
      ]),
    );
  });

  it('E2: templates are published as version 1 with the legacy label, roles and types kept', async () => {
    const list = (await prompt('GET', '/templates?limit=200')).items as Json[];
    const facts = list.find((t) => t.name === 'FACTS Generator');
    expect(facts).toMatchObject({ latest_version: 1, labels: [expect.objectContaining({ name: 'legacy', version: 1 })] });
    const v1 = await prompt('GET', `/templates/${facts.id}/versions/1`);
    expect(v1.messages.map((m: Json) => m.role)).toEqual(['system', 'user']);
    expect(v1.variables.map((v: Json) => v.name).sort()).toEqual(['basic_idea', 'idea_seed']);
    const compare = list.find((t) => t.name === 'Compare');
    const full = await prompt('GET', `/templates/${compare.id}/versions/1`);
    expect(full.variables).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'facts', type: 'list' }),
        expect.objectContaining({ name: 'PLACEHOLDER_1' }),
        expect.objectContaining({ name: 'PLACEHOLDER_2' }),
      ]),
    );
    const rendered = await prompt('POST', `/templates/${compare.id}/preview`, {
      label: 'legacy',
      inputs: { facts: ['a', 'b'], PLACEHOLDER_1: 'Fraser', PLACEHOLDER_2: 'MacLeod' },
    });
    expect(rendered.ok, JSON.stringify(rendered.problems)).toBe(true);
    expect(rendered.messages.map((m: Json) => m.role)).toEqual(['system', 'user']);
    expect(rendered.messages[1].text).toBe('Compare Fraser with MacLeod using a, b.');
  });

  it('E2: posts with their fields, sections and per-post choices; one revision each by the importer', async () => {
    const posts = (await wf('GET', '/posts?limit=200')).body.items as Json[];
    expect(posts.map((p) => p.title).sort()).toEqual(['Clan castles!', 'Tartan history']);
    const castles = posts.find((p) => p.title === 'Clan castles!');
    expect(castles).toMatchObject({ slug: 'clan-castles', status: 'published' });
    const detail = (await wf('GET', `/posts/${castles.id}`)).body;
    const value = (key: string, section: string | null = null) =>
      detail.values.find((v: Json) => v.field_key === key && (v.section_id ?? null) === section);
    // A legacy text kept in a list field is split into its lines.
    expect(value('tags')).toMatchObject({ value: ['castles', 'clans'], author: { kind: 'service', id: 'importer' } });
    expect(value('image_captions')?.value).toEqual(['A gate', 'A wall']);
    // Sections in the legacy section_order; a section column named like a post column gets its own key.
    expect(detail.sections).toHaveLength(2);
    const [first, second] = detail.sections;
    expect(value('section_heading', first.id)?.value).toBe('Edinburgh');
    expect(value('section_image_captions', first.id)?.value).toBe('The castle at dusk');
    expect(value('section_description', second.id)?.value).toBe('A fortress on a rock');
    const revisions = (await wf('GET', `/posts/${castles.id}/values/tags/revisions`)).body.items;
    expect(revisions).toHaveLength(1);
    // The section elements: one list per type, in element_order.
    expect(value('section_facts', first.id)?.value).toEqual(['Seat of Scottish kings', 'Built on Castle Rock']);
    expect(value('section_ideas', first.id)?.value).toEqual(["Open with the one o'clock gun"]);
    expect(value('section_themes', second.id)?.value).toEqual(['Sieges']);
    expect(value('section_facts', second.id)).toBeUndefined();

    // The legacy substage of a post, a substage the reference data lacks, the legacy fields.
    const stages = (await wf('GET', '/stages')).body.items as Json[];
    // A legacy stage the reference data lacks, in its legacy place (after authoring), with its substage.
    expect(stages.map((s) => s.key)).toEqual(['planning', 'authoring', 'review', 'publishing']);
    expect(stages[2]).toMatchObject({ label: 'Review', substages: [expect.objectContaining({ key: 'peer_check' })] });
    const substages = stages.flatMap((s) => s.substages);
    expect(castles.substage_id).toBe(substages.find((s: Json) => s.key === 'content').id);
    expect(substages.find((s: Json) => s.key === 'fact_check')).toMatchObject({ label: 'Fact Check' });
    const fields = (await wf('GET', '/fields')).body.items as Json[];
    expect(fields.find((f) => f.key === 'interesting_facts')).toMatchObject({ kind: 'markdown', scope: 'post' });

    // Per-post choices: post 3 chose another output field for "Seed to basic".
    const available = (await wf('GET', `/posts/${castles.id}/available-actions`)).body.items as Json[];
    expect(available.find((a) => a.label === 'Seed to basic')).toMatchObject({ target_field: 'summary', overridden: true });
  });

  it('E2: every imported action’s template previews without errors for the inputs of an imported post', async () => {
    const actions = (await wf('GET', '/actions')).body.items as Json[];
    expect(actions.map((a) => a.label).sort()).toEqual(['Facts', 'Seed to basic']);
    const tartan = ((await wf('GET', '/posts?limit=200')).body.items as Json[]).find((p) => p.title === 'Tartan history');
    const detail = (await wf('GET', `/posts/${tartan.id}`)).body;
    for (const action of actions) {
      const inputs = Object.fromEntries(
        Object.entries(action.inputs as Record<string, Json>).map(([name, source]) => [
          name,
          detail.values.find((v: Json) => v.field_key === source.field)?.value,
        ]),
      );
      const rendered = await prompt('POST', `/templates/${action.template_id}/preview`, { label: 'legacy', inputs });
      expect(rendered.ok, `${action.label}: ${JSON.stringify(rendered.problems)}`).toBe(true);
    }
  });

  it('E2: a second --apply imports nothing', async () => {
    const again = await run('E2', true);
    for (const [kind, count] of Object.entries(countsOf(again))) expect(count.imported, kind).toBe(0);
    // The stage and substages the first import made are its own: already imported, not merely there.
    expect(again.counts.stage).toEqual({ imported: 0, already: 1, skipped: 1 });
    expect(again.counts.substage).toEqual({ imported: 0, already: 2, skipped: 0 });
    expect(((await wf('GET', '/posts?limit=200')).body.items as Json[]).length).toBe(2);
  });

  it('E3: a step automation becomes an action on its substage and runs against the provider emulator', async () => {
    const summary = await run('E3', true);
    // The fields and the substage the E2 import made are there already: used as they are.
    expect(tally(summary, 'imported')).toEqual([11, 0, 0, 0, 4, 2, 2, 13, 3]);
    const action = itemsOf(summary, 'action').find((item) => item.legacy_id === 'step:3');
    const got = (await wf('GET', `/actions/${action?.id}`)).body;
    expect(got).toMatchObject({ label: 'Interesting Facts', target_field: 'interesting_facts' });
    // "The inputs above": the step's input became a variable the action maps from its field.
    expect(got.inputs).toEqual({ basic_idea: { from: 'post_field', field: 'basic_idea' } });
    const preset = await h.call('registry', 'GET', `/api/v1/presets/${got.preset_id}`);
    expect(preset.body.parameters).toMatchObject({ temperature: 0.5, max_output_tokens: 300, first_byte_timeout_ms: 30_000 });

    // The legacy Ollama URL is the team's; point it at the emulator (as a team fixes a URL), then run.
    const model = await h.call('registry', 'GET', `/api/v1/models/${got.model_id}`);
    const provider = await h.call('registry', 'GET', `/api/v1/providers/${model.body.provider_id}`);
    const patched = await h.call(
      'registry',
      'PATCH',
      `/api/v1/providers/${model.body.provider_id}`,
      { base_url: emulator.baseUrl('ollama') },
      {
        'if-match': provider.headers.get('etag') as string,
      },
    );
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    const post = itemsOf(summary, 'post').find((item) => item.name === 'Tartan history');
    const started = await wf('POST', `/posts/${post?.id}/actions/${got.id}/runs`);
    expect(started.status, started.text).toBe(202);
    const runId = started.body.runs[0].id;
    const deadline = Date.now() + 20_000;
    let found: Json;
    while (Date.now() < deadline) {
      found = ((await wf('GET', `/posts/${post?.id}/runs`)).body.items as Json[]).find((r) => r.id === runId);
      if (found && found.status !== 'requested') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(found.status, JSON.stringify(found)).toBe('suggested');
    expect(found.output_text).toMatch(/A short history of tartan/);
  });

  it('E0 and E4: the oldest and the latest shapes', async () => {
    const e0 = await run('E0', true);
    expect(tally(e0, 'imported')).toEqual([3, 0, 0, 1, 0, 1, 0, 2, 0]);
    expect(e0.skipped).toContainEqual(
      expect.objectContaining({ table: 'llm_action', legacy_id: '1', reason: expect.stringMatching(/names no output field/) }),
    );
    const e4 = await run('E4', true);
    expect(e4.epoch).toBe('E4');
    expect(tally(e4, 'imported')).toEqual([11, 0, 0, 0, 4, 2, 2, 13, 3]);
    // E4 actions have no output_field: the posts' choices name it.
    expect(itemsOf(e4, 'action').map((a) => a.name)).toEqual(expect.arrayContaining(['Seed to basic', 'Interesting Facts']));
  });
});

describe('legacy import: a post larger than a request body', () => {
  it('goes in parts; a run killed between them (SIGKILL) is finished by the next, nothing doubled', async () => {
    const from = bigUrl;
    const dry = await importLegacy({ from, apply: false, targets });
    // Both posts, the big one's 3 values and 4 sections with their 8 values; post 1's 2 values.
    expect(dry.counts).toMatchObject({
      post: { imported: 2, skipped: 0 },
      section: { imported: 4, skipped: 0 },
      value: { imported: 13, skipped: 0 },
    });

    const env = {
      ...process.env,
      LLMOPS_DATA_DIR: '/nonexistent',
      REGISTRY_URL: targets.registry,
      PROMPT_URL: targets.prompt,
      WORKFLOW_URL: targets.workflow,
      LLMOPS_INTERNAL_SECRET: h.stack.secret,
    };
    const cli = fileURLToPath(new URL('../infra/cli.ts', import.meta.url));
    const child = spawn(process.execPath, [cli, 'import', 'legacy', '--from', from, '--apply', '--summary', '/dev/null'], {
      env,
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // As soon as the big post's first part is in, hold the import's lock (the next part waits), then kill the CLI.
    await withClient(db.adminUrl, async (client) => {
      const recorded = async () =>
        (
          await client.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM workflow.legacy_ids WHERE source = $1 AND kind = 'post' AND legacy_id = '2'`,
            [bigName],
          )
        ).rows[0]?.n;
      const deadline = Date.now() + 30_000;
      while ((await recorded()) === 0) {
        if (Date.now() > deadline) throw new Error('the first part of the big post did not arrive within 30 s');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await client.query(`SELECT pg_advisory_lock(hashtext('workflow.legacy_ids'), hashtext($1))`, [bigName]);
      child.kill('SIGKILL');
      await exited;
      await client.query(`SELECT pg_advisory_unlock(hashtext('workflow.legacy_ids'), hashtext($1))`, [bigName]);
    });

    const resumed = await importLegacy({ from, apply: true, targets });
    expect(resumed.counts.post).toEqual({ imported: 0, already: 2, skipped: 0 });
    expect(resumed.counts.value.imported).toBeGreaterThan(0);
    // Only E0's actions, which name no output field.
    expect(resumed.skipped.map((skip) => skip.kind)).toEqual(['action', 'action']);
    const post = itemsOf(resumed, 'post').find((item) => item.legacy_id === '2');
    const detail = (await wf('GET', `/posts/${post?.id}`)).body;
    expect(detail.sections).toHaveLength(4);
    expect(detail.values).toHaveLength(11);
    for (const value of detail.values) expect(value.author).toEqual({ kind: 'service', id: 'importer' });
    const description = detail.values.find(
      (v: Json) => v.field_key === 'section_description' && v.section_id === detail.sections[3].id,
    );
    expect(description.value).toBe(`4 ${BIG_VALUE}`);
    // Each value written once: one revision each, whichever run wrote it.
    const revisions = await withClient(db.adminUrl, async (client) => {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM workflow.revisions r JOIN workflow.field_values v ON v.id = r.value_id WHERE v.post_id = $1`,
        [post?.id],
      );
      return rows[0]?.n;
    });
    expect(revisions).toBe(11);

    const again = await importLegacy({ from, apply: true, targets });
    for (const [kind, count] of Object.entries(again.counts)) expect(count.imported, kind).toBe(0);
  }, 90_000); // four imports and a CLI process: generous on a loaded machine
});
