/**
 * The legacy importer's historical records, dump files and resume (issue 18): `llm_interaction` rows become
 * read-only task records of source `legacy`, seen through the runner's public task API; a plain-SQL pg_dump
 * file (tests/fixtures/legacy/e4-blog.sql, made by make-dumps.ts with a real pg_dump 15) is loaded into a
 * scratch database and dropped; an import killed with SIGKILL half-way is finished by the next run, with
 * nothing doubled. The dump is of the E4 shape; the kill test reads a live E4 database built here.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { quoteIdent, withClient, withDatabase } from '@llmops/kit/db';
import { startStack } from '@llmops/kit/testing/stack';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { importLegacy, type ImportSummary } from '../infra/import/legacy-import.ts';
import { legacySql } from './fixtures/legacy/shapes.ts';
import { INTERACTIONS_E4 } from './fixtures/legacy/interactions.ts';
import { editor, viewer, type Json } from './registry-support.ts';

const db = await useTestDatabase();
const stack = await startStack({ db, services: ['registry', 'prompt', 'workflow', 'runner'] });
const CLI = fileURLToPath(new URL('../infra/cli.ts', import.meta.url));
const DUMP = fileURLToPath(new URL('./fixtures/legacy/e4-blog.sql', import.meta.url));
const targets = {
  registry: stack.urls.registry as string,
  prompt: stack.urls.prompt as string,
  workflow: stack.urls.workflow as string,
  runner: stack.urls.runner as string,
  secret: stack.secret,
};

// A live E4 database with many interactions, for the killed import: 6 from the fixture and 150 more.
const EXTRA = 150;
const liveName = `legacy_e4_records_${Math.random().toString(36).slice(2, 8)}`;
await withClient(db.adminUrl, (client) => client.query(`CREATE DATABASE ${quoteIdent(liveName)}`));
const liveUrl = withDatabase(db.adminUrl, liveName);
/** Where the second-run test restores the legacy database the dump was taken of. */
const restored = `legacy_blog_restored_${Math.random().toString(36).slice(2, 8)}`;
await withClient(liveUrl, (client) =>
  client.query(`${legacySql('E4')}${INTERACTIONS_E4}
    INSERT INTO llm_interaction (prompt_id, input_text, output_text, created_at)
    SELECT 1, 'Expand idea ' || n, 'Expanded idea ' || n, timestamp '2025-09-10 00:00' + n * interval '1 minute'
    FROM generate_series(1, ${EXTRA}) AS n;`),
);
afterAll(async () => {
  await stack.stop();
  await withClient(db.adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${quoteIdent(liveName)} WITH (FORCE)`));
});

async function tasks(query = ''): Promise<Json[]> {
  const response = await stack.call('runner', `/api/v1/tasks?limit=200${query}`, undefined, viewer);
  expect(response.status).toBe(200);
  return ((await response.json()) as Json).items as Json[];
}

const legacyCount = (source: string) =>
  withClient(db.adminUrl, async (client) => {
    const { rows } = await client.query<{ n: number; distinct_ids: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT legacy_id)::int AS distinct_ids FROM runner.legacy_ids WHERE source = $1`,
      [source],
    );
    return rows[0] as { n: number; distinct_ids: number };
  });

const scratchDatabases = () =>
  withClient(db.adminUrl, async (client) => {
    const { rows } = await client.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE 'llmops\\_legacy\\_scratch\\_%'`,
    );
    return rows.map((row) => row.datname);
  });

describe('legacy import: historical records, dump files, resume', () => {
  let applied: ImportSummary;
  let again: ImportSummary;
  afterAll(() =>
    withClient(db.adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${quoteIdent(restored)} WITH (FORCE)`)),
  );

  it('E4 from a pg_dump file: loaded into a scratch database that is dropped, every row imported, the rest reported', async () => {
    applied = await importLegacy({ from: DUMP, apply: true, targets, scratchServer: db.adminUrl });
    expect(applied).toMatchObject({ source: 'blog', epoch: 'E4', applied: true });
    expect(applied.counts).toMatchObject({
      provider: { imported: 4, already: 0, skipped: 1 },
      record: { imported: 4, already: 0, skipped: 3 },
    });
    // What a plain dump holds for another server is reported, never fatal.
    const dump = applied.dump as NonNullable<ImportSummary['dump']>;
    expect(dump.copied_rows).toBeGreaterThan(6);
    const skippedText = dump.skipped.map((skip) => skip.text);
    expect(skippedText).toEqual(expect.arrayContaining(['\\restrict …', '\\unrestrict …', '\\connect blog']));
    expect(skippedText).toContainEqual(expect.stringMatching(/^CREATE DATABASE blog /));
    expect(dump.failed.length).toBeGreaterThan(0);
    for (const failed of dump.failed) expect(failed.text).toMatch(/OWNER TO blogforge/);
    expect(await scratchDatabases()).toEqual([]);
    expect(applied.skipped.filter((skip) => skip.table === 'llm_interaction')).toEqual([
      { kind: 'record', table: 'llm_interaction', legacy_id: '3', reason: expect.stringMatching(/^holds no output/) },
      { kind: 'record', table: 'llm_interaction', legacy_id: '4', reason: expect.stringMatching(/^holds no output/) },
      { kind: 'record', table: 'llm_interaction', legacy_id: '5', reason: expect.stringMatching(/^holds no prompt/) },
    ]);
  });

  it('interactions with a prompt and an output are task records of source legacy, through the public task API', async () => {
    const all = await tasks();
    expect(all.map((task) => [task.source, task.status, task.requester])).toEqual(
      Array(4).fill(['legacy', 'succeeded', 'service:importer']),
    );
    // Newest first, at the legacy times (their ids carry them).
    expect(all.map((task) => task.created_at)).toEqual([
      '2025-10-02T09:15:00.000Z',
      '2025-09-02T12:00:00.000Z',
      '2025-09-01T12:00:00.000Z',
      '2025-08-20T14:00:00.000Z',
    ]);
    const [found] = await tasks(`&correlation=${encodeURIComponent('{"legacy_interaction_id":"1"}')}`);
    const response = await stack.call('runner', `/api/v1/tasks/${found.id}`, undefined, viewer);
    expect(response.status).toBe(200);
    const detail = (await response.json()) as Json;
    expect(detail).toMatchObject({
      source: 'legacy',
      status: 'succeeded',
      output_text: 'Ceilidhs began as village gatherings. #Scotland',
      correlation: { legacy_source: 'blog', legacy_interaction_id: '1' },
      attempts: [],
      attempt_count: 0,
      // Not timed here: the legacy app's own timing is in the snapshot.
      timing: { total_ms: null, provider_ms: 0 },
    });
    // What was sent: the prompt the syndication row kept; everything else of the row is kept as read.
    expect(detail.snapshot.messages).toEqual([
      { role: 'user', content: 'Write a post of at most 280 characters about: the history of the ceilidh' },
    ]);
    expect(detail.snapshot.legacy).toMatchObject({
      source: 'blog',
      table: 'llm_interaction',
      id: '1',
      model: 'llama3.1:70b',
      prompt_id: 1,
      publication_status: 'ready',
      input_text: 'Post 12, section 3: the history of the ceilidh',
      interaction_metadata: { processing_time_ms: '5321', llm_provider: 'ollama' },
    });
    // The dump carried quotes, `;`, `--`, `$$`, a backslash, a tab, line breaks and non-ASCII exactly.
    const [tricky] = await tasks(`&correlation=${encodeURIComponent('{"legacy_interaction_id":"6"}')}`);
    expect(tricky.output_text).toBe('Straßen über €5; ✓\nline two');
    const trickyDetail = (await (await stack.call('runner', `/api/v1/tasks/${tricky.id}`, undefined, viewer)).json()) as Json;
    expect(trickyDetail.snapshot.messages[0].content).toBe('Quote "this"; it\'s -- not a comment\n$$ and a \\ backslash,\ta tab');
  });

  it('a record is linked to the template and model its legacy row names, and the report says where it cannot be', async () => {
    const idOf = (kind: string, legacyId: string) =>
      applied.items.find((item) => item.kind === kind && item.legacy_id === legacyId)?.id;
    const record = async (legacyId: string) => {
      const [found] = await tasks(`&correlation=${encodeURIComponent(JSON.stringify({ legacy_interaction_id: legacyId }))}`);
      return found;
    };
    // Row 1 names prompt 1 and "llama3.1:70b" (llm_model 2, of the Ollama provider): lineage on the record.
    const template = { id: idOf('template', 'prompt:1'), version: 1, label: 'legacy' };
    expect(await record('1')).toMatchObject({
      template,
      model_id: idOf('model', '2'),
      provider_id: idOf('provider', '1'),
    });
    // Row 2's "mistral" is a model of two providers: its llm_provider says which (OpenAI's, llm_model 6).
    expect(await record('2')).toMatchObject({ template, model_id: idOf('model', '6'), provider_id: idOf('provider', '2') });
    // Row 6 names no model: linked to its template only.
    expect(await record('6')).toMatchObject({ template, model_id: null });
    // Row 7's prompt (empty) is not imported and its model has no llm_model row: kept, not linked, reported.
    expect(await record('7')).toMatchObject({ template: null, model_id: null, provider_id: null });
    expect(applied.notes.filter((note) => note.kind === 'record')).toEqual([
      { kind: 'record', legacy_id: '7', message: expect.stringMatching(/^its prompt \(llm_prompt 5\) is not imported/) },
      { kind: 'record', legacy_id: '7', message: expect.stringMatching(/^its model "gpt-4" has no llm_model row/) },
    ]);
  });

  it('a legacy record is read only: cancel leaves it done, retry is refused, and the schema keeps it from the queue', async () => {
    const [record] = await tasks();
    const cancel = await stack.call('runner', `/api/v1/tasks/${record.id}/cancel`, { method: 'POST' }, editor);
    expect(cancel.status).toBe(200);
    expect(((await cancel.json()) as Json).status).toBe('succeeded');
    const retry = await stack.call(
      'runner',
      `/api/v1/tasks/${record.id}/retry`,
      { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } },
      editor,
    );
    expect(retry.status).toBe(409);
    expect(((await retry.json()) as Json).detail).toMatch(/legacy record was never run here/);
    // Never claimable: the claim reads queued tasks only, and a legacy task cannot become one.
    const refused = await withClient(db.adminUrl, (client) =>
      client
        .query(`UPDATE runner.tasks SET status = 'queued', finished_at = NULL WHERE id = $1`, [record.id])
        .catch((e: Error) => e),
    );
    expect(String(refused)).toMatch(/tasks_legacy_done/);
  });

  it('an import killed half-way (SIGKILL) is finished by the next run, nothing doubled; a second --apply imports nothing', async () => {
    const total = 4 + EXTRA;
    // The dry run says what --apply then does, and changes nothing.
    const dry = await importLegacy({ from: liveUrl, apply: false, targets });
    expect(dry.counts.record).toEqual({ imported: total, already: 0, skipped: 3 });
    expect(await legacyCount(liveName)).toEqual({ n: 0, distinct_ids: 0 });

    const summaryPath = join(mkdtempSync(join(tmpdir(), 'legacy-records-')), 'summary.json');
    const env = {
      ...process.env,
      LLMOPS_DATA_DIR: '/nonexistent',
      REGISTRY_URL: targets.registry,
      PROMPT_URL: targets.prompt,
      RUNNER_URL: targets.runner,
      WORKFLOW_URL: targets.workflow,
      LLMOPS_INTERNAL_SECRET: stack.secret,
    };
    const args = [CLI, 'import', 'legacy', '--from', liveUrl, '--apply', '--batch', '10', '--summary', summaryPath];
    const child = spawn(process.execPath, args, { env, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    // Hold the import's lock as soon as a first batch is in, so the next batch waits, then kill the process.
    const lock = await withClient(db.adminUrl, async (client) => {
      const deadline = Date.now() + 30_000;
      while ((await legacyCount(liveName)).n === 0) {
        if (Date.now() > deadline) throw new Error('no batch of the import arrived within 30 s');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await client.query(`SELECT pg_advisory_lock(hashtext('runner.legacy_ids'), hashtext($1))`, [liveName]);
      const held = (await legacyCount(liveName)).n;
      child.kill('SIGKILL');
      await exited;
      await client.query(`SELECT pg_advisory_unlock(hashtext('runner.legacy_ids'), hashtext($1))`, [liveName]);
      return held;
    });
    expect(lock).toBeGreaterThan(0);
    expect(lock).toBeLessThan(total);

    // Run again (in process: the CLI's own run is the one killed above): it finishes what the killed one left.
    const summary = await importLegacy({ from: liveUrl, apply: true, targets });
    expect(summary.counts.record.imported).toBeGreaterThan(0);
    expect(summary.counts.record.imported + summary.counts.record.already).toBe(total);
    expect(summary.counts.record.already).toBeGreaterThanOrEqual(lock);
    expect(await legacyCount(liveName)).toEqual({ n: total, distinct_ids: total });
    const records = await withClient(db.adminUrl, async (client) => {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM runner.tasks WHERE source = 'legacy' AND correlation ->> 'legacy_source' = $1`,
        [liveName],
      );
      return rows[0]?.n;
    });
    expect(records).toBe(total);
    // Imported records have no events: the import route itself put each in the usage rollup's buckets.
    const pending = await withClient(db.adminUrl, async (client) => {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM runner.tasks t JOIN runner.usage_pending p ON p.task_id = t.id
         WHERE t.source = 'legacy' AND t.correlation ->> 'legacy_source' = $1`,
        [liveName],
      );
      return rows[0]?.n;
    });
    expect(pending).toBe(0);

    const again = await importLegacy({ from: liveUrl, apply: true, targets });
    for (const count of Object.values(again.counts)) expect(count.imported).toBe(0);
    expect(again.counts.record).toEqual({ imported: 0, already: total, skipped: 3 });
  }, 90_000); // four imports and a CLI process: generous on a loaded machine

  it('a second run, of the live database the dump was taken of with rows added since: each row imported before is counted once as already imported, only the new rows are imported', async () => {
    // The legacy database itself (the dump's source, "blog", restored here under a name of its own, so a
    // server given by TEST_DATABASE_URL keeps any "blog" it has), where since the backup the team filled the empty
    // prompt 5 (record 7's, which the first run kept unlinked), added an interaction and a post's tags.
    await withClient(db.adminUrl, async (client) => {
      await client.query(`CREATE DATABASE ${quoteIdent(restored)}`);
    });
    const url = withDatabase(db.adminUrl, restored);
    await withClient(url, (client) =>
      client.query(`${legacySql('E4')}${INTERACTIONS_E4}
          UPDATE llm_prompt SET prompt_text = 'Expand on {{basic_idea}}.' WHERE id = 5;
          INSERT INTO llm_interaction (prompt_id, input_text, output_text, interaction_metadata, created_at)
            VALUES (1, 'Expand: the Falkirk Wheel', 'A boat lift turning canal boats through the air.',
              '{"llm_model": "llama3.1:70b", "llm_provider": "ollama"}', '2025-10-03 08:00:00');
          UPDATE post_development SET tags = 'tartan', summary = 'Tartan, briefly' WHERE post_id = 1;`),
    );
    // Meanwhile an editor wrote post 1's summary here: the legacy one is not written over it.
    const post1 = applied.items.find((item) => item.kind === 'post' && item.legacy_id === '1')?.id;
    const written = await stack.call(
      'workflow',
      `/api/v1/workflow/posts/${post1}/values/summary`,
      { method: 'PUT', body: JSON.stringify({ value: 'Our summary', base_revision_id: null }) },
      editor,
    );
    expect(written.status).toBe(200);
    // Named as the first run recorded it (--source): the restored database's own name is another.
    again = await importLegacy({ from: url, apply: true, targets, source: 'blog' });
    expect(again.source).toBe(applied.source);

    const key = (item: ImportSummary['items'][number]) => `${item.kind} ${item.legacy_id} ${item.id}`;
    const madeFirst = applied.items.filter((item) => item.created).map(key);
    const alreadyAgain = again.items.filter((item) => !item.created && !item.existing).map(key);
    // Every row the first run made is answered once, by the same id, as already imported; nothing else is.
    expect(alreadyAgain.sort()).toEqual([...madeFirst].sort());
    expect(new Set(alreadyAgain).size).toBe(alreadyAgain.length);
    for (const kind of Object.keys(again.counts) as (keyof ImportSummary['counts'])[])
      expect(again.counts[kind].already, kind).toBe(applied.counts[kind].imported);
    expect(applied.counts.value.imported).toBeGreaterThan(0);
    // Only the rows added since are imported; the rest is skipped as before.
    expect(again.items.filter((item) => item.created).map((item) => `${item.kind} ${item.legacy_id}`)).toEqual([
      'template prompt:5',
      'value post 1 tags',
      'record 8',
    ]);
    const skippedAgain = [
      ...applied.skipped.filter((skip) => !(skip.table === 'llm_prompt' && skip.legacy_id === '5')),
      {
        kind: 'value',
        table: 'post_development',
        legacy_id: '1 summary',
        reason: expect.stringMatching(
          /field summary: the post already has a value here written since the import \(by account editor-1\)/,
        ),
      },
    ];
    expect(again.skipped).toEqual(expect.arrayContaining(skippedAgain));
    expect(again.skipped).toHaveLength(skippedAgain.length);
  });

  it('on that second run the new record is linked, the first run’s links are kept, and a record imported unlinked gets the link it can now have', async () => {
    const idOf = (kind: string, legacyId: string) =>
      again.items.find((item) => item.kind === kind && item.legacy_id === legacyId)?.id;
    const record = async (legacyId: string) => {
      const [found] = await tasks(
        `&correlation=${encodeURIComponent(JSON.stringify({ legacy_source: 'blog', legacy_interaction_id: legacyId }))}`,
      );
      expect(found.id).toBe(idOf('record', legacyId));
      return found;
    };
    const template = (legacyId: string) => ({ id: idOf('template', legacyId), version: 1, label: 'legacy' });
    const llama = { model_id: idOf('model', '2'), provider_id: idOf('provider', '1') };
    // The first run's links are kept; the new record is linked as they were.
    expect(await record('1')).toMatchObject({ template: template('prompt:1'), ...llama });
    expect(await record('8')).toMatchObject({ template: template('prompt:1'), ...llama });
    // Record 7, imported unlinked, is linked to its prompt now that it is imported; its model still has no row.
    expect(await record('7')).toMatchObject({ template: template('prompt:5'), model_id: null, provider_id: null });
    expect(again.notes.filter((note) => note.kind === 'record')).toEqual([
      { kind: 'record', legacy_id: '7', message: expect.stringMatching(/^its model "gpt-4" has no llm_model row/) },
    ]);
  });
});
