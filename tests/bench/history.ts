// 10. A year of history (issue 20): the runner's history reads at 1,000,000 tasks beside the same reads at
// 10,000. Both sets are made with SQL once and kept as template databases, so a second run starts measuring
// at once; the statements timed are the runner's own (db/reads.ts), as its routes send them.
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPool, quoteIdent, withClient, withDatabase, type Pool, type Queryable } from '@llmops/kit/db';
import { startEmbeddedPostgres, type EmbeddedServer } from '@llmops/kit/embedded';
import { applySchema } from '@llmops/kit/schema';
import { serviceDatabaseUrl } from '@llmops/kit/roles';
import { freePort, startTestCluster, TEST_DEPLOYMENT, TEST_PASSWORDS } from '@llmops/kit/testing/database';
import * as reads from '../../services/runner/src/db/reads.ts';
import { fmt, percentile, ratioAtMost, type BenchResult, type BenchServer, type ResultRow } from './lib.ts';

const SMALL = Number(process.env.BENCH_HISTORY_SMALL ?? 10_000);
const LARGE = Number(process.env.BENCH_HISTORY_LARGE ?? 1_000_000);
const SAMPLES = 9;
/** The 1M figure may take at most this many times the 10k one. */
const BOUND = 3;

/** Where the kept server lives when no server is given: beside the install's own `.data/`, never committed. */
const KEPT_DIR = process.env.BENCH_HISTORY_DIR ?? fileURLToPath(new URL('../../.data/bench-history/', import.meta.url));

/** Words the outputs are made of; the searched terms below are not among them, so their share is exact. */
const WORDS = `the a of and to in for on with as by from this that it be is are was were will can should
  recipe bread flour water salt yeast oven crust crumb dough knead proof rise bake loaf starter rye wheat
  post draft title summary section paragraph headline reader editor tone style voice article outline intro
  conclusion keyword search traffic audience newsletter schedule publish review revision suggestion quote
  garden tomato basil harvest soil compost seed water sunlight spring summer autumn winter frost mulch
  travel city train ticket museum street coffee morning evening market bridge river harbour island coast
  model prompt token answer question context example list table note idea plan week month year today`
  .split(/\s+/)
  .filter(Boolean);

/** Terms the search is timed on, and the share of outputs that hold each (set by the generator). */
const TERMS = [
  { q: 'sourdough', share: '1 %' },
  { q: 'kubernetes', share: '0.01 %' },
  { q: 'bread oven', share: 'two common words' },
];

const PROVIDERS = [
  { key: 'p0', name: 'OpenAI', kind: 'openai' },
  { key: 'p1', name: 'Anthropic', kind: 'anthropic' },
  { key: 'p2', name: 'Local Ollama', kind: 'ollama' },
];
/** Each model's provider (index into PROVIDERS) and price per million tokens (input, output). */
const MODELS = [
  { key: 'm0', provider: 0, name: 'gpt-small', input: 0.15, output: 0.6 },
  { key: 'm1', provider: 0, name: 'gpt-large', input: 2.5, output: 10 },
  { key: 'm2', provider: 1, name: 'claude-fast', input: 0.8, output: 4 },
  { key: 'm3', provider: 1, name: 'claude-deep', input: 3, output: 15 },
  { key: 'm4', provider: 2, name: 'llama-local', input: 0, output: 0 },
  { key: 'm5', provider: 2, name: 'mistral-local', input: 0, output: 0 },
];
/** How often each model is chosen: a task picks one of these ten slots. */
const MODEL_SLOTS = [0, 0, 0, 0, 2, 2, 1, 3, 4, 5];
const TEMPLATES = 20;

/** The SQL that makes `n` tasks over the year ending at `$1`, and their attempts. Admin, in the new database. */
function seedStatements(n: number): Array<{ text: string; values: unknown[] }> {
  const step = (365 * 86_400) / n; // seconds between two tasks
  const models = MODELS.map(
    (m, i) => `(${i}, md5('model:${m.key}')::uuid, md5('provider:${PROVIDERS[m.provider]?.key}')::uuid, ${m.input}, ${m.output})`,
  );
  return [
    {
      // A task's id: UUIDv7 of its creation time, the rest from md5 of its number (so a retry can name the one before).
      text: `CREATE FUNCTION pg_temp.bench_id(g bigint, at timestamptz) RETURNS uuid LANGUAGE sql IMMUTABLE AS $f$
        SELECT (lpad(to_hex(floor(extract(epoch FROM at) * 1000)::bigint), 12, '0') || '7' || substr(md5(g::text), 1, 3)
          || substr('89ab', (abs(g) % 4)::int + 1, 1) || substr(md5(g::text), 4, 15))::uuid $f$`,
      values: [],
    },
    {
      text: `INSERT INTO runner.providers (id, name, kind, timeout_ms, enabled, updated_at)
        SELECT md5('provider:' || p.key)::uuid, p.name, p.kind, 60000, true, $1::timestamptz - interval '366 days'
        FROM jsonb_to_recordset($2::jsonb) AS p(key text, name text, kind text)`,
      values: [new Date().toISOString(), JSON.stringify(PROVIDERS)],
    },
    {
      text: `INSERT INTO runner.models (id, provider_id, provider_kind, provider_model_id, display_name, modality, enabled, updated_at)
        SELECT md5('model:' || m.key)::uuid, md5('provider:' || m.provider)::uuid, m.kind, m.name, m.name, 'chat', true, now()
        FROM jsonb_to_recordset($1::jsonb) AS m(key text, provider text, kind text, name text)`,
      values: [
        JSON.stringify(
          MODELS.map((m) => ({
            key: m.key,
            provider: PROVIDERS[m.provider]?.key,
            kind: PROVIDERS[m.provider]?.kind,
            name: m.name,
          })),
        ),
      ],
    },
    {
      text: `INSERT INTO runner.presets (id, name, model_id, parameters, retry_policy, fallback_model_ids, enabled, updated_at)
        SELECT md5('preset:' || k)::uuid, 'preset ' || k, md5('model:m' || k)::uuid, '{"temperature": 0.7}',
          '{"max_attempts": 3}', ARRAY[md5('model:m' || (k + 1))::uuid], true, now()
        FROM generate_series(0, 2) k`,
      values: [],
    },
    {
      // Comparison groups: every 500 tasks, three in a row were made together.
      text: `INSERT INTO runner.task_groups (id, requester, correlation, created_at)
        SELECT md5('group:' || b)::uuid, 'account:' || md5('account:0')::uuid, NULL,
          $1::timestamptz - interval '365 days' + make_interval(secs => b * 500 * $3::float8)
        FROM generate_series(0, $2::int / 500) b`,
      values: [null, n, step],
    },
    {
      text: `INSERT INTO runner.tasks (id, group_id, retry_of, requester, source, status, kind, priority, correlation,
          template_id, template_version, template_label, part_versions, preset_id, inputs, snapshot, model_index, model_id,
          provider_id, model_attempts, attempts, run_after, lease_owner, lease_expires_at, output_text, finish_reason, usage,
          cost_usd, error, problems, queue_wait_ms, provider_ms, overhead_ms, time_to_first_token_ms, created_at, started_at,
          finished_at, updated_at)
        SELECT pg_temp.bench_id(g, at),
          CASE WHEN g % 500 < 3 THEN md5('group:' || (g / 500))::uuid END,
          CASE WHEN src = 'retry' THEN pg_temp.bench_id(g - 1, at - make_interval(secs => $3::float8)) END,
          CASE WHEN src = 'bus' THEN 'service:workflow' ELSE 'account:' || md5('account:' || (h % 5))::uuid END,
          src, status, 'chat', 0,
          CASE WHEN src = 'bus' THEN jsonb_build_object('post_id', md5('post:' || (h % 2000))::uuid, 'action_run_id', pg_temp.bench_id(-g, at)) END,
          md5('template:' || (h % ${TEMPLATES}))::uuid, 1 + h % 5, (ARRAY['production', 'staging', NULL])[1 + h % 3],
          '[]', CASE WHEN h % 4 = 0 THEN md5('preset:' || (h % 3))::uuid END,
          jsonb_build_object('topic', words[1 + h % cardinality(words)]),
          jsonb_build_object('messages', jsonb_build_array(jsonb_build_object('role', 'user',
            'content', 'Write about ' || words[1 + h % cardinality(words)])), 'model_ids', jsonb_build_array(m.id)),
          0, m.id, m.provider_id, tries, tries,
          at, CASE WHEN status = 'running' THEN 'bench-worker' END, CASE WHEN status = 'running' THEN at + interval '1 minute' END,
          CASE WHEN status = 'succeeded' THEN txt END,
          CASE WHEN status = 'succeeded' THEN 'stop' END,
          CASE WHEN tries > 0 THEN jsonb_build_object('input_tokens', it, 'output_tokens', ot, 'cached_input_tokens', ct) END,
          CASE WHEN tries > 0 THEN round((it * m.input + ot * m.output) / 1e6, 12) ELSE 0 END,
          CASE WHEN status = 'failed' THEN '{"kind": "provider", "message": "the provider answered 500"}'::jsonb END,
          CASE WHEN status = 'rejected' THEN '[{"field": "inputs.topic", "message": "required"}]'::jsonb END,
          20 + h % 400, 300 + h2 % 9000, 5 + h % 40, CASE WHEN status = 'succeeded' THEN 100 + h2 % 900 END,
          at, CASE WHEN tries > 0 THEN at + interval '20 milliseconds' END,
          CASE WHEN status IN ('succeeded', 'failed', 'cancelled', 'rejected') THEN at + make_interval(secs => 1 + h2 % 20) END,
          at + make_interval(secs => 1 + h2 % 20)
        FROM generate_series(1, $2::bigint) g,
          LATERAL (SELECT $1::timestamptz - interval '365 days' + make_interval(secs => (g - 1) * $3::float8) AS at,
            (hashint8(g) & 2147483647) AS h, (hashint8(g + 1000003) & 2147483647) AS h2, $4::text[] AS words) r,
          LATERAL (SELECT CASE WHEN g > $2 - 20 THEN 'queued' WHEN g > $2 - 25 THEN 'running'
              WHEN h2 % 1000 < 930 THEN 'succeeded' WHEN h2 % 1000 < 970 THEN 'failed'
              WHEN h2 % 1000 < 990 THEN 'cancelled' ELSE 'rejected' END AS status,
            CASE WHEN g > 1 AND g % 97 = 0 THEN 'retry' WHEN h % 10 < 3 THEN 'bus' ELSE 'api' END AS src) s,
          LATERAL (SELECT CASE WHEN s.status IN ('queued', 'rejected') THEN 0 WHEN s.status = 'failed' THEN 3
              WHEN h % 20 = 0 THEN 2 ELSE 1 END AS tries,
            200 + h % 3000 AS it, 50 + h2 % 1500 AS ot, CASE WHEN h % 5 = 0 THEN 128 ELSE 0 END AS ct) u,
          LATERAL (SELECT x.id, x.provider_id, x.input, x.output FROM (VALUES ${models.join(', ')})
              AS x(i, id, provider_id, input, output) WHERE x.i = (ARRAY[${MODEL_SLOTS.join(', ')}])[1 + h2 % ${MODEL_SLOTS.length}]) m,
          LATERAL (SELECT string_agg(words[1 + (hashint8(g * 64 + k) & 2147483647) % cardinality(words)], ' ')
              || CASE WHEN h % 100 = 7 THEN ' sourdough' ELSE '' END
              || CASE WHEN h % 10000 = 3 THEN ' kubernetes' ELSE '' END AS txt
            FROM generate_series(1, 12 + h % 40) k) w`,
      values: [null, n, step, WORDS],
    },
    {
      text: `INSERT INTO runner.attempts (id, task_id, number, model_index, model_id, provider_id, provider_model_id, worker,
          status, request, wire, response_text, finish_reason, usage, price, cost_usd, error, queue_wait_ms, provider_ms,
          overhead_ms, latency_ms, time_to_first_token_ms, started_at, ended_at)
        SELECT (lpad(to_hex(floor(extract(epoch FROM t.started_at) * 1000)::bigint), 12, '0') || '7'
            || substr(md5(t.id::text || k), 1, 3) || '8' || substr(md5(t.id::text || k), 4, 15))::uuid,
          t.id, k, 0, t.model_id, t.provider_id, 'bench-model', 'bench-worker',
          CASE WHEN k < t.attempts THEN 'failed' WHEN t.status = 'running' THEN 'running' ELSE t.status END,
          t.snapshot, jsonb_build_object('method', 'POST', 'url', 'https://provider.invalid/v1/chat', 'headers', '{}'::jsonb,
            'body', t.snapshot::text),
          CASE WHEN k = t.attempts THEN t.output_text END, CASE WHEN k = t.attempts THEN t.finish_reason END,
          t.usage, '{"input_per_mtok": "1", "output_per_mtok": "2"}', t.cost_usd / t.attempts,
          CASE WHEN k < t.attempts OR t.status = 'failed' THEN t.error END,
          t.queue_wait_ms, t.provider_ms / t.attempts, t.overhead_ms, t.provider_ms / t.attempts + t.overhead_ms, t.time_to_first_token_ms,
          t.started_at + make_interval(secs => k - 1), CASE WHEN t.status <> 'running' OR k < t.attempts THEN t.started_at + make_interval(secs => k) END
        FROM runner.tasks t, generate_series(1, t.attempts) k`,
      values: [],
    },
  ];
}

interface Built {
  name: string;
  bytes: number;
  builtAt: string;
  /** How this run got it, and in how many seconds (null when kept). */
  how: 'kept' | 'made' | 'brought forward';
  buildSeconds: number | null;
}

/** The kept template of `n` tasks for this schema, made when missing (a half-made one is remade). */
async function templateOf(adminUrl: string, schemaTemplate: string, n: number): Promise<Built> {
  const name = `llmops_history_${n}_${schemaTemplate.replace('llmops_template_', '')}`;
  const found = await withClient(adminUrl, (client) =>
    client.query<{ datistemplate: boolean; comment: string | null; bytes: string }>(
      `SELECT datistemplate, shobj_description(oid, 'pg_database') AS comment, pg_database_size(oid)::text AS bytes
       FROM pg_database WHERE datname = $1`,
      [name],
    ),
  );
  const row = found.rows[0];
  if (row?.datistemplate && row.comment) {
    const meta = JSON.parse(row.comment) as { built_at: string };
    return { name, bytes: Number(row.bytes), builtAt: meta.built_at, how: 'kept', buildSeconds: null };
  }
  const started = performance.now();
  if (row) await withClient(adminUrl, (client) => client.query(`DROP DATABASE ${quoteIdent(name)} WITH (FORCE)`));
  const forward = await upgraded(adminUrl, name, n);
  const builtAt = forward ?? (await made(adminUrl, schemaTemplate, name, n));
  await caughtUp(withDatabase(adminUrl, name));
  await withClient(adminUrl, async (client) => {
    await client.query(`COMMENT ON DATABASE ${quoteIdent(name)} IS ${quoteLiteralJson({ built_at: builtAt, tasks: n })}`);
    await client.query(`ALTER DATABASE ${quoteIdent(name)} IS_TEMPLATE true`);
  });
  const { rows } = await withClient(adminUrl, (client) =>
    client.query<{ bytes: string }>('SELECT pg_database_size($1)::text AS bytes', [name]),
  );
  return {
    name,
    bytes: Number(rows[0]?.bytes),
    builtAt,
    how: forward ? 'brought forward' : 'made',
    buildSeconds: (performance.now() - started) / 1000,
  };
}

/** Makes the set from nothing: a copy of the schema's template, then the seed statements. Its build time. */
async function made(adminUrl: string, schemaTemplate: string, name: string, n: number): Promise<string> {
  await withClient(adminUrl, (client) =>
    client.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(schemaTemplate)}`),
  );
  const builtAt = new Date().toISOString();
  console.error(`  making ${n.toLocaleString('en-US')} tasks in ${name} (once; kept for the next run)…`);
  await withClient(withDatabase(adminUrl, name), async (client) => {
    for (const statement of seedStatements(n)) {
      await client.query(
        statement.text,
        statement.values.map((value) => (value === null ? builtAt : value)),
      );
    }
    await client.query('VACUUM ANALYZE');
  });
  return builtAt;
}

/**
 * The usage consumer caught up, as in a system whose events have all been handled: every ended task the set
 * holds is added to the rollup's buckets and its pending row deleted (the seed's rows are inserted ended, so
 * the trigger marks them all pending). Through the consumer's own function, a day of tasks at a time.
 */
async function caughtUp(url: string): Promise<void> {
  await withClient(url, async (client) => {
    const { rows } = await client.query<{ day: Date }>(
      `SELECT DISTINCT date_trunc('day', t.created_at, 'UTC') AS day
       FROM runner.usage_pending p JOIN runner.tasks t ON t.id = p.task_id ORDER BY 1`,
    );
    for (const { day } of rows) {
      await client.query(
        `SELECT runner.usage_count(array_agg(p.task_id)) FROM runner.usage_pending p JOIN runner.tasks t ON t.id = p.task_id
         WHERE t.created_at >= $1 AND t.created_at < $1::timestamptz + interval '1 day'`,
        [day],
      );
    }
    if (rows.length > 0) await client.query('VACUUM ANALYZE');
  });
}

/**
 * A set kept for an older schema, brought forward as a deployment would be: copied, the newer files of
 * sql/ applied to its data (so a new index is built over a year of tasks, as in production), and the old
 * copy dropped. Undefined when there is none, or when sql/ cannot be applied to it (a file changed).
 */
async function upgraded(adminUrl: string, name: string, n: number): Promise<string | undefined> {
  const { rows } = await withClient(adminUrl, (client) =>
    client.query<{ datname: string; comment: string }>(
      `SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database
       WHERE datistemplate AND datname ~ $1 AND datname <> $2 AND shobj_description(oid, 'pg_database') IS NOT NULL`,
      // Not LIKE: its _ matches any character, so the 10,000 set's pattern took the 1,000,000 set.
      [`^llmops_history_${n}_[0-9a-f]+$`, name],
    ),
  );
  const old = rows[0];
  if (!old) return undefined;
  console.error(`  bringing ${old.datname} forward to this schema as ${name}…`);
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE ${quoteIdent(name)} TEMPLATE ${quoteIdent(old.datname)}`));
  try {
    await applySchema(withDatabase(adminUrl, name));
    await withClient(withDatabase(adminUrl, name), (client) => client.query('VACUUM ANALYZE'));
  } catch (error) {
    console.error(`  could not (${error instanceof Error ? error.message : String(error)}); making it anew`);
    await withClient(adminUrl, (client) => client.query(`DROP DATABASE ${quoteIdent(name)} WITH (FORCE)`));
    return undefined;
  }
  await withClient(adminUrl, async (client) => {
    await client.query(`ALTER DATABASE ${quoteIdent(old.datname)} IS_TEMPLATE false`);
    await client.query(`DROP DATABASE ${quoteIdent(old.datname)} WITH (FORCE)`);
  });
  return (JSON.parse(old.comment) as { built_at: string }).built_at;
}

function quoteLiteralJson(value: unknown): string {
  return `'${JSON.stringify(value).replaceAll("'", "''")}'`;
}

/** A node's shape: its type (and index), then its children; subplans in braces. */
function planShape(node: Record<string, unknown>): string {
  const name = `${node['Node Type'] as string}${node['Index Name'] ? ` (${node['Index Name'] as string})` : ''}`;
  const children = ((node.Plans as Array<Record<string, unknown>> | undefined) ?? []).map((child) => {
    const shape = planShape(child);
    return child['Parent Relationship'] === 'SubPlan' || child['Parent Relationship'] === 'InitPlan' ? `{${shape}}` : shape;
  });
  return children.length === 0 ? name : `${name} > ${children.length === 1 ? children[0] : `[${children.join(', ')}]`}`;
}

/** A Queryable that answers every statement with EXPLAIN ANALYZE of it, collecting the plans' shapes. */
function explaining(pool: Pool): { db: Queryable; shapes: string[] } {
  const shapes: string[] = [];
  const db = {
    query: async (text: string, values: unknown[]) => {
      const { rows } = await pool.query<{ 'QUERY PLAN': Array<{ Plan: Record<string, unknown> }> }>(
        `EXPLAIN (ANALYZE, FORMAT JSON) ${text}`,
        values,
      );
      const top = rows[0]?.['QUERY PLAN'][0];
      shapes.push(top ? planShape(top.Plan) : '?');
      return { rows: [], rowCount: 0 };
    },
  };
  return { db: db as unknown as Queryable, shapes };
}

/** What a set's reads look up: values taken from that set, the same rule at both sizes. */
interface Probe {
  builtAt: Date;
  groupId: string;
  retried: string;
  detail: string;
  correlationPost: string;
}

async function probe(pool: Pool, builtAt: string): Promise<Probe> {
  const { rows } = await pool.query<{ group_id: string; retried: string; detail: string; post: string }>(
    `SELECT
       (SELECT group_id FROM runner.tasks WHERE group_id IS NOT NULL ORDER BY group_id LIMIT 1) AS group_id,
       (SELECT retry_of FROM runner.tasks WHERE retry_of IS NOT NULL ORDER BY id DESC LIMIT 1 OFFSET 5) AS retried,
       (SELECT id FROM runner.tasks WHERE created_at >= $1::timestamptz - interval '180 days' ORDER BY id LIMIT 1) AS detail,
       (SELECT correlation ->> 'post_id' FROM runner.tasks WHERE correlation IS NOT NULL ORDER BY id DESC LIMIT 1) AS post`,
    [builtAt],
  );
  const row = rows[0];
  if (!row) throw new Error('the history set is empty');
  return {
    builtAt: new Date(builtAt),
    groupId: row.group_id,
    retried: row.retried,
    detail: row.detail,
    correlationPost: row.post,
  };
}

interface Read {
  name: string;
  run: (db: Queryable, p: Probe) => Promise<unknown>;
}

const DAY = 86_400_000;
const list = (filter: (p: Probe) => Partial<reads.TaskFilter>) => (db: Queryable, p: Probe) =>
  // As GET /api/v1/tasks sends it: a page of 50 and one more to know whether another page follows.
  reads.list(db, { includeOutput: false, limit: 51, ...filter(p) });
const modelId = (key: string) => uuidOfMd5(`model:${key}`);
const providerId = (key: string) => uuidOfMd5(`provider:${key}`);

/** PostgreSQL's `md5(text)::uuid`: how the generator names providers, models, templates and presets. */
function uuidOfMd5(text: string): string {
  const hex = createHash('md5').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

const READS: Read[] = [
  { name: 'list: newest first', run: list(() => ({})) },
  { name: 'list: second page (cursor)', run: async (db, p) => list(() => ({ before: p.detail }))(db, p) },
  { name: 'list: status failed (4 %)', run: list(() => ({ statuses: ['failed'] })) },
  { name: 'list: status queued,running (25 tasks)', run: list(() => ({ statuses: ['queued', 'running'] })) },
  { name: 'list: template', run: list(() => ({ templateId: uuidOfMd5('template:7') })) },
  { name: 'list: label', run: list(() => ({ templateLabel: 'staging' })) },
  { name: 'list: model (10 %)', run: list(() => ({ modelId: modelId('m5') })) },
  { name: 'list: provider', run: list(() => ({ providerId: providerId('p2') })) },
  { name: 'list: preset', run: list(() => ({ presetId: uuidOfMd5('preset:1') })) },
  { name: 'list: group', run: list((p) => ({ groupId: p.groupId })) },
  { name: 'list: retries of a task', run: list((p) => ({ retryOf: p.retried })) },
  { name: 'list: correlation post_id', run: list((p) => ({ correlation: { post_id: p.correlationPost } })) },
  {
    name: 'list: one day, 200 days ago',
    run: list((p) => ({
      createdAfter: new Date(p.builtAt.getTime() - 200 * DAY).toISOString(),
      createdBefore: new Date(p.builtAt.getTime() - 199 * DAY).toISOString(),
    })),
  },
  { name: 'list: failed on one model', run: list(() => ({ statuses: ['failed'], modelId: modelId('m3') })) },
  ...TERMS.map((term) => ({ name: `search "${term.q}" (${term.share})`, run: list(() => ({ text: term.q })) })),
  {
    name: 'detail: task, attempts, images, retries',
    run: async (db: Queryable, p: Probe) => {
      // As GET /api/v1/tasks/{id} reads: the task, then the three lists side by side.
      await reads.get(db, p.detail);
      await Promise.all([reads.attempts(db, p.detail), reads.images(db, p.detail), reads.retries(db, p.detail)]);
    },
  },
  {
    name: 'usage: 30 days by day, split by model (dashboard)',
    run: (db, p) =>
      reads.usage(db, {
        groupBy: 'day',
        splitBy: 'model',
        tz: 'UTC',
        from: new Date(p.builtAt.getTime() - 29 * DAY).toISOString(),
        to: undefined,
      }),
  },
  {
    name: 'usage: this month by provider (dashboard)',
    run: (db, p) =>
      reads.usage(db, {
        groupBy: 'provider',
        splitBy: null,
        tz: 'UTC',
        from: new Date(Date.UTC(p.builtAt.getUTCFullYear(), p.builtAt.getUTCMonth(), 1)).toISOString(),
        to: undefined,
      }),
  },
  {
    name: 'usage: the year by model, Europe/Berlin',
    run: (db) => reads.usage(db, { groupBy: 'model', splitBy: null, tz: 'Europe/Berlin', from: undefined, to: undefined }),
  },
];

interface Measured {
  ms: number;
  shape: string;
}

interface Set {
  url: string;
  builtAt: string;
}

/**
 * Every read on both sets, alternating small and large sample by sample, so a burst of other work on the
 * machine falls on both figures alike; then each once more under EXPLAIN ANALYZE.
 */
async function measureBoth(small: Set, large: Set): Promise<Array<Map<string, Measured>>> {
  const sets = [small, large].map((set) => ({
    ...set,
    pool: createPool({ connectionString: set.url, applicationName: 'bench-history', max: 4 }),
  }));
  try {
    const probes = await Promise.all(sets.map((set) => probe(set.pool, set.builtAt)));
    const out = sets.map(() => new Map<string, Measured>());
    for (const read of READS) {
      const times: number[][] = sets.map(() => []);
      for (let i = 0; i < SAMPLES + 1; i++) {
        for (const [k, set] of sets.entries()) {
          const started = performance.now();
          await read.run(set.pool, probes[k] as Probe);
          if (i > 0) times[k]?.push(performance.now() - started);
        }
      }
      for (const [k, set] of sets.entries()) {
        const plan = explaining(set.pool);
        await read.run(plan.db, probes[k] as Probe);
        out[k]?.set(read.name, { ms: percentile(times[k] ?? [], 50), shape: plan.shapes.join(' ; ') });
      }
    }
    return out;
  } finally {
    for (const set of sets) await set.pool.end();
  }
}

/** The kept server: BENCH_DATABASE_URL / TEST_DATABASE_URL's, else an embedded one whose folder stays. */
async function keptServer(server: BenchServer): Promise<{ adminUrl: string; stop: () => Promise<void> }> {
  if (!server.embedded) return { adminUrl: server.adminUrl, stop: async () => undefined };
  mkdirSync(KEPT_DIR, { recursive: true });
  chmodSync(KEPT_DIR, 0o755);
  const secret = join(KEPT_DIR, 'password');
  if (!existsSync(secret)) writeFileSync(secret, randomBytes(12).toString('hex'), { mode: 0o600 });
  const embedded: EmbeddedServer = await startEmbeddedPostgres({
    dataDir: join(KEPT_DIR, 'data'),
    port: await freePort(),
    password: readFileSync(secret, 'utf8').trim(),
    persistent: true,
  });
  return { adminUrl: embedded.url, stop: () => embedded.stop() };
}

const mb = (bytes: number) => `${fmt(bytes / 1024 / 1024, 0)} MB`;

export async function historyBench(server: BenchServer, report: (result: BenchResult) => void): Promise<void> {
  const kept = await keptServer(server);
  try {
    const cluster = await startTestCluster(kept.adminUrl);
    const small = await templateOf(kept.adminUrl, cluster.template, SMALL);
    const large = await templateOf(kept.adminUrl, cluster.template, LARGE);
    const runnerUrl = (name: string) =>
      serviceDatabaseUrl(withDatabase(kept.adminUrl, name), 'runner', TEST_DEPLOYMENT, TEST_PASSWORDS);
    const [atSmall, atLarge] = await measureBoth(
      { url: runnerUrl(small.name), builtAt: small.builtAt },
      { url: runnerUrl(large.name), builtAt: large.builtAt },
    );
    if (!atSmall || !atLarge) throw new Error('the history reads were not measured');
    const rows: string[][] = [
      ['read', `${SMALL.toLocaleString('en-US')} (ms)`, `${LARGE.toLocaleString('en-US')} (ms)`, 'ratio'],
    ];
    const figures: ResultRow[] = [];
    const shapes: string[] = [];
    for (const read of READS) {
      const a = atSmall.get(read.name);
      const b = atLarge.get(read.name);
      if (!a || !b) continue;
      const ratio = b.ms / a.ms;
      rows.push([read.name, fmt(a.ms, 2), fmt(b.ms, 2), `${fmt(ratio, 1)}×`]);
      figures.push(
        ratioAtMost(
          `10. ${read.name} at ${LARGE.toLocaleString('en-US')}`,
          b.ms,
          { name: `the same read at ${SMALL.toLocaleString('en-US')}`, value: a.ms },
          BOUND,
          'ms',
        ),
      );
      shapes.push(`${read.name}: ${b.shape}`);
      if (a.shape !== b.shape) shapes.push(`  (at ${SMALL.toLocaleString('en-US')}: ${a.shape})`);
    }
    const built = (b: Built) =>
      `${b.name}: ${mb(b.bytes)}, ${b.buildSeconds === null ? `kept from ${b.builtAt}` : `${b.how} in ${fmt(b.buildSeconds, 0)} s`}`;
    report({
      title: `10. A year of history: the runner's reads at ${LARGE.toLocaleString('en-US')} tasks beside ${SMALL.toLocaleString('en-US')}`,
      method: [
        `Tasks made with SQL over the 365 days before the set was built (6 models on 3 providers, 20 templates, 93 % succeeded,`,
        `4 % failed, retries, groups, correlations, 1.1 attempts per task), kept as template databases:`,
        built(small),
        built(large),
        `Each read is the runner's own statement (services/runner/src/db/reads.ts) as its route sends it, as the runner's role;`,
        `median of ${SAMPLES} after one warm-up, the two sizes taking turns. Target: at most ${BOUND}× the same read at ${SMALL.toLocaleString('en-US')}.`,
      ],
      table: rows,
      figures,
      notes: ['Plan shapes (EXPLAIN ANALYZE) at the large size, and at the small one where it differs:', ...shapes],
    });
    await cluster.stop();
  } finally {
    await kept.stop();
  }
}
