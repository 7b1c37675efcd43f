// `node tests/bench/finish-cpu.ts` (issue 14, docs/bench.md "Issue 14, pgcpu"): PostgreSQL's CPU per finish of two
// attempts, load-independent. Tasks are created through the runner's API on a paused provider, started in pairs
// (lifecycle.start, on a backend of its own), then finished in pairs — the price lookup and endAttempts, as the
// worker's Endings does — on a pool of one connection; each backend's CPU is read from /proc (so PostgreSQL must run
// on this machine), and pg_stat_statements' figures of the runner's statements are printed where the server has it.
// MICRO_DATABASE_URL: an admin URL (default: the machine's PostgreSQL 15); MICRO_FINISHES: how many (default 200).
import { cpuSeconds } from './proc.ts';
import { createPool, withTransaction } from '@llmops/kit/db';
import { startStack } from '@llmops/kit/testing/stack';
import { createTestDatabase, startTestCluster } from '@llmops/kit/testing/database';
import * as lifecycle from '../../services/runner/src/tasks/lifecycle.ts';
import * as cost from '../../services/runner/src/tasks/cost.ts';
import { endAttempts, planEnding } from '../../services/runner/src/worker/endings.ts';

const url = process.env.MICRO_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const N = Number(process.env.MICRO_FINISHES ?? 200);
const cluster = await startTestCluster(url);
const db = await createTestDatabase(cluster);
const stack = await startStack({ db, services: ['registry', 'prompt', 'runner'], env: { RUNNER_POLL_MS: '200' } });
const admin = createPool({ connectionString: db.adminUrl, applicationName: 'micro admin', max: 2 });
const pool = createPool({ connectionString: db.urlFor('runner'), applicationName: 'micro finish', max: 1 });
const starter = createPool({ connectionString: db.urlFor('runner'), applicationName: 'micro start', max: 1 });
const OWNER = 'micro-owner';
const identity = { kind: 'account' as const, subject: 'editor-1', role: 'editor' as const, scopes: [], requestId: 'micro' };
async function call(
  service: 'registry' | 'runner',
  path: string,
  body: unknown,
): Promise<{ id: string; tasks?: { id: string }[] }> {
  const response = await stack.call(
    service,
    path,
    { method: 'POST', body: JSON.stringify(body) },
    service === 'registry' ? undefined : identity,
  );
  const json = (await response.json()) as { id: string; tasks?: { id: string }[] };
  if (response.status !== 201) throw new Error(JSON.stringify(json));
  return json;
}
const provider = await call('registry', '/api/v1/providers', {
  name: 'micro',
  kind: 'openai',
  base_url: 'http://127.0.0.1:9/v1',
  api_key: 'sk-test-key-0123456789',
});
for (let i = 0; ; i++) {
  const r = await admin.query(`UPDATE runner.providers SET paused_until = now() + interval '1 hour' WHERE id = $1`, [
    provider.id,
  ]);
  if (r.rowCount === 1) break;
  await new Promise((resolve) => setTimeout(resolve, 25));
}
const model = await call('registry', '/api/v1/models', {
  provider_id: provider.id,
  provider_model_id: 'emu-gpt-small',
  price: { input_per_mtok: '2.5', output_per_mtok: '10' },
});
for (;;) {
  const { rowCount } = await admin.query('SELECT 1 FROM runner.model_prices WHERE model_id = $1', [model.id]);
  if (rowCount === 1) break;
  await new Promise((resolve) => setTimeout(resolve, 25));
}
const text = 'The quick brown fox jumps over the lazy dog while the runner streams its answer back. '.repeat(8);
const ids: string[] = [];
for (let i = 0; i < 2 * N; i++) {
  const created = await call('runner', '/api/v1/tasks', {
    model_id: model.id,
    messages: [{ role: 'user', content: `task ${i}: ${text}` }],
    correlation: { bench: 'micro', i: String(i) },
  });
  ids.push((created.tasks as { id: string }[])[0]?.id as string);
}
const cpu = (pid: number) => cpuSeconds(pid) * 1000;
const pidOf = async (p: typeof pool) => (await p.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid as number;
const finishPid = await pidOf(pool);
const startPid = await pidOf(starter);
const counted = await admin
  .query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements')
  .then(() => true)
  .catch(() => false);
// Start every pair first (the claim's path, measured on its own backend), then finish every pair.
const c0 = cpu(startPid);
const pairs: lifecycle.ClaimedTask[][] = [];
for (let i = 0; i < N; i++)
  pairs.push(await withTransaction(starter, (tx) => lifecycle.start(tx, ids.slice(2 * i, 2 * i + 2), OWNER, 600_000)));
const startMs = cpu(startPid) - c0;
const WARM = 20;
let done = 0;
let f0 = 0;
let t0 = 0;
for (const [k, pair] of pairs.entries()) {
  if (k === WARM) {
    if (counted)
      await admin.query(
        `CREATE TABLE pgss_before AS SELECT queryid, userid, calls, plans, total_plan_time, total_exec_time, shared_blks_hit + shared_blks_read AS blocks FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      );
    f0 = cpu(finishPid);
    t0 = performance.now();
  }
  const prices = await cost.pricesAtStart(
    pool,
    pair.map((c) => ({ model_id: c.model.model_id, started_at: c.attempt.started_at })),
  );
  const planned = pair.map((c, i) =>
    planEnding(
      c,
      {
        outcome: {
          kind: 'succeeded',
          text,
          finish_reason: 'stop',
          provider_finish_reason: 'stop',
          response_id: 'r',
          usage: { input_tokens: 100, output_tokens: 200, cached_input_tokens: 0 },
          images: [],
        },
        wire: null,
        provider_ms: 40,
        latency_ms: 50,
        time_to_first_token_ms: 10,
        announce_use: false,
      },
      prices[i] ?? null,
    ),
  );
  done += (
    await endAttempts(
      pool,
      OWNER,
      planned.flatMap((p) => p ?? []),
    )
  ).size;
}
const M = N - WARM;
const wall = performance.now() - t0;
const finishMs = cpu(finishPid) - f0;
const { rows } = await admin
  .query(
    `SELECT s.calls - coalesce(b.calls, 0) AS calls, s.plans - coalesce(b.plans, 0) AS plans, round((s.total_plan_time - coalesce(b.total_plan_time, 0))::numeric, 1) AS plan_ms, round((s.total_exec_time - coalesce(b.total_exec_time, 0))::numeric, 1) AS exec_ms, s.shared_blks_hit + s.shared_blks_read - coalesce(b.blocks, 0) AS blocks, left(regexp_replace(query, '\\s+', ' ', 'g'), 60) AS query
  FROM pg_stat_statements s LEFT JOIN pgss_before b USING (queryid, userid) WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND userid IN (SELECT oid FROM pg_roles WHERE rolname LIKE 'llmops_runner%') ORDER BY 4 DESC LIMIT 6`,
  )
  .catch(() => ({ rows: [] }));
console.log(
  `tasks finished ${done}; ${M} finishes of 2 measured after ${WARM}: finishing backend CPU ${finishMs} ms = ${(finishMs / M).toFixed(3)} ms per finish (price lookup + statement), wall ${(wall / M).toFixed(2)} ms; start backend ${(startMs / N).toFixed(3)} ms per start of 2`,
);
console.table(rows);
await stack.stop();
await admin.end();
await pool.end();
await starter.end();
if (!process.env.MICRO_KEEP) await db.drop();
await cluster.stop();
