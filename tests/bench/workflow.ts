// Issue 17's benchmark (docs/bench.md, "8. The workflow"): 500 action runs over 500 posts (20 in a quick run), made as the
// dashboard's batch makes them (one run request per post through the gateway), beside the same 500 tasks
// created directly through the runner's API in the same run; and the time from a task's success to its
// suggestion.
import type { Pool } from '@llmops/kit/db';
import { loadNote, startSystem, waitFinished, type System } from './dashboard-rig.ts';
import {
  atMost,
  expectJson,
  fmt,
  fmtRate,
  percentile,
  ratioAtLeast,
  sized,
  sleep,
  type BenchResult,
  type BenchServer,
} from './lib.ts';

const BATCH = {
  /** Posts, each with one action run beside one direct task (fewer in a quick run). */
  get posts() {
    return sized(500, 20);
  },
  rateShare: 0.7,
  suggestionP50Ms: 50,
  suggestionP99Ms: 250,
};

/** The database's clock now (the tasks' and suggestions' times are its `now()`). */
async function dbNow(admin: Pool): Promise<string> {
  const { rows } = await admin.query<{ now: string }>('SELECT clock_timestamp()::text AS now');
  return rows[0]?.now as string;
}

/** Seconds between two of the database's timestamps. */
async function secondsBetween(admin: Pool, from: string, to: string): Promise<number> {
  const { rows } = await admin.query<{ s: number }>('SELECT extract(epoch FROM $2::timestamptz - $1::timestamptz)::float8 AS s', [
    from,
    to,
  ]);
  return rows[0]?.s ?? Number.NaN;
}

async function gatewayPost(system: System, path: string, body: unknown): Promise<Response> {
  return fetch(`${system.gatewayUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${system.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** An action on the first substage, as an admin defines it: the post's title in, a working title out, for review. */
async function defineAction(system: System): Promise<string> {
  const stages = await expectJson<{ items: Array<{ substages: Array<{ id: string }> }> }>(
    await system.stack.call('workflow', '/api/v1/workflow/stages'),
    200,
    'GET /api/v1/workflow/stages',
  );
  const substage = stages.items[0]?.substages[0]?.id;
  if (!substage) throw new Error('the workflow has no substage');
  const action = await expectJson<{ id: string }>(
    await system.stack.call('workflow', '/api/v1/workflow/actions', {
      method: 'POST',
      body: JSON.stringify({
        substage_id: substage,
        label: 'Suggest a working title',
        template_id: system.templateId,
        model_id: system.modelId,
        inputs: { text: { from: 'post', attribute: 'title' } },
        target_field: 'working_title',
        mode: 'review',
      }),
    }),
    201,
    'POST /api/v1/workflow/actions',
  );
  return action.id;
}

async function makePosts(system: System, count: number): Promise<Array<{ id: string; title: string }>> {
  const posts: Array<{ id: string; title: string }> = [];
  for (let start = 0; start < count; start += 8) {
    const made = await Promise.all(
      Array.from({ length: Math.min(8, count - start) }, async (_, i) => {
        const title = `Bench post ${start + i + 1}: how the bakery plans its week`;
        const post = await expectJson<{ id: string }>(
          await system.stack.call('workflow', '/api/v1/workflow/posts', { method: 'POST', body: JSON.stringify({ title }) }),
          201,
          'POST /api/v1/workflow/posts',
        );
        return { id: post.id, title };
      }),
    );
    posts.push(...made);
  }
  return posts;
}

/** Waits (every 100 ms, bounded) until each run of the batch has its suggestion; fails on a run that ended otherwise. */
async function waitSuggested(admin: Pool, runIds: readonly string[], timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const { rows } = await admin.query<{ waiting: number; wrong: number }>(
      `SELECT count(*) FILTER (WHERE status = 'requested')::int AS waiting,
              count(*) FILTER (WHERE status NOT IN ('requested', 'suggested'))::int AS wrong
         FROM workflow.action_runs WHERE id = ANY($1::uuid[])`,
      [runIds],
    );
    const { waiting = 0, wrong = 0 } = rows[0] ?? {};
    if (wrong > 0) throw new Error(`${wrong} of the batch's runs ended without a suggestion`);
    if (waiting === 0) return;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${waiting} runs without a suggestion`);
    await sleep(100);
  }
}

export async function workflowBench(server: BenchServer): Promise<BenchResult> {
  const started = performance.now();
  const system = await startSystem(server, { services: ['registry', 'prompt', 'runner', 'workflow', 'gateway'], web: false });
  try {
    const actionId = await defineAction(system);
    const posts = await makePosts(system, BATCH.posts);

    // The anchor: the same tasks (the same template, each post's title as its input) made directly.
    const directFrom = await dbNow(system.admin);
    const ids: string[] = [];
    for (const post of posts) ids.push(await system.createTask(post.title, { bench: 'direct' }));
    const directSent = await dbNow(system.admin);
    await waitFinished(system.admin, ids, 300_000);
    const { rows: direct } = await system.admin.query<{ last: string }>(
      'SELECT max(finished_at)::text AS last FROM runner.tasks WHERE id = ANY($1::uuid[])',
      [ids],
    );
    const directSeconds = await secondsBetween(system.admin, directFrom, direct[0]?.last as string);
    const directSendSeconds = await secondsBetween(system.admin, directFrom, directSent);

    // The batch, as the dashboard makes it: one run request per post, one after another, through the gateway.
    const batchFrom = await dbNow(system.admin);
    const runIds: string[] = [];
    for (const post of posts) {
      const response = await gatewayPost(system, `/api/v1/workflow/posts/${post.id}/actions/${actionId}/runs`, {});
      const body = await expectJson<{ runs: Array<{ id: string }> }>(response, 202, 'POST …/actions/{action_id}/runs');
      runIds.push(...body.runs.map((run) => run.id));
    }
    const batchSent = await dbNow(system.admin);
    await waitSuggested(system.admin, runIds, 300_000);
    const { rows: suggested } = await system.admin.query<{ last: string; latency: number[] }>(
      `SELECT max(s.created_at)::text AS last,
              array_agg(extract(epoch FROM s.created_at - t.finished_at)::float8 * 1000) AS latency
         FROM workflow.action_runs r
         JOIN workflow.suggestions s ON s.action_run_id = r.id
         JOIN runner.tasks t ON t.id = r.task_id
        WHERE r.id = ANY($1::uuid[]) AND t.status = 'succeeded'`,
      [runIds],
    );
    const latency = suggested[0]?.latency ?? [];
    if (latency.length !== BATCH.posts)
      throw new Error(`${latency.length} of ${BATCH.posts} runs have a succeeded task and a suggestion`);
    const batchSeconds = await secondsBetween(system.admin, batchFrom, suggested[0]?.last as string);
    const batchSendSeconds = await secondsBetween(system.admin, batchFrom, batchSent);

    const directRate = BATCH.posts / directSeconds;
    const batchRate = BATCH.posts / batchSeconds;
    return {
      title: `8. Workflow: ${fmtRate(BATCH.posts)} action runs over ${fmtRate(BATCH.posts)} posts, beside the same tasks made directly`,
      method: [
        'registry, prompt, runner, workflow and gateway as processes; the emulator answering at once; one published template',
        `({{ text }}), one action on the first substage (the post's title in, working_title out, review). ${fmtRate(BATCH.posts)} posts made`,
        "first. The anchor: one POST /api/v1/tasks per post with an API token, one after another. The batch, as the dashboard's",
        'batch page makes it: one POST /api/v1/workflow/posts/{id}/actions/{action_id}/runs per post, one after another (each run',
        "requests its task on the bus; the workflow writes the suggestion when the task's success reaches it). End to end: the",
        "database's clock from before the first request to the last task's finish (anchor) or the last suggestion's creation.",
        "Success → suggestion: runner.tasks.finished_at → workflow.suggestions.created_at (both now(): the finishing statement's",
        "start, the write-back transaction's start; the output comes in the runner.task.succeeded event).",
      ],
      table: [
        ['path', 'tasks/s end to end', 'seconds', 'requests sent in s'],
        ['tasks made directly (anchor)', fmt(directRate, 1), fmt(directSeconds, 1), fmt(directSendSeconds, 1)],
        ['action runs (batch)', fmt(batchRate, 1), fmt(batchSeconds, 1), fmt(batchSendSeconds, 1)],
      ],
      notes: [
        `batch ÷ anchor: ${fmt(batchRate / directRate, 2)}× (target ≥ ${fmt(BATCH.rateShare, 2)}×)`,
        `success → suggestion p50 ${fmt(percentile(latency, 50), 1)} ms, p90 ${fmt(percentile(latency, 90), 1)} ms, ` +
          `p99 ${fmt(percentile(latency, 99), 1)} ms, max ${fmt(Math.max(...latency), 1)} ms (${latency.length} runs)`,
        loadNote(),
        `the part took ${fmt((performance.now() - started) / 1000, 0)} s`,
      ],
      figures: [
        ratioAtLeast(
          '8. action runs/s end to end',
          batchRate,
          { name: 'tasks made directly', value: directRate },
          BATCH.rateShare,
          'tasks/s',
        ),
        atMost('8. success → suggestion p50', percentile(latency, 50), BATCH.suggestionP50Ms, 'ms'),
        atMost('8. success → suggestion p99', percentile(latency, 99), BATCH.suggestionP99Ms, 'ms'),
      ],
    };
  } finally {
    await system.stop();
  }
}
