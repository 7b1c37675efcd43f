/**
 * Scale-out on one PostgreSQL (issue 19): two instances of every service (registry, prompt, runner,
 * workflow, gateway), started side by side on one database. A few hundred tasks and some workflow action
 * runs go in through both gateways while SSE clients with different filters listen on both. Then: both
 * runners claimed tasks (the attempt's `worker` names the instance), both workflow instances were asked for
 * runs and wrote results back (their log lines say which), nothing ran twice (one attempt, one
 * provider request and one terminal event per task), every write-back happened once (one suggestion or
 * revision and one `workflow.run.finished` per run), and every SSE client got every event of its filter
 * exactly once and in order, as the outbox holds them.
 *
 * The instances run in this process: each has its own pool, LISTEN connection, consumers, event hub and
 * task worker (its own lease owner), so everything they share goes through PostgreSQL, as between
 * processes. Ten processes instead took 85 s to start on the loaded 2-core machine this was written on
 * (and a start-up past kit's 30 s bound failed), far beyond this test's time budget. Killed processes:
 * the other chaos tests.
 */
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createPool } from '@llmops/kit/db';
import { comparePositions, parsePosition } from '@llmops/kit/bus/position';
import { isLiveTopic } from '@llmops/kit/events/live';
import { createLogger, type Logger } from '@llmops/kit/logger';
import type { Stack } from '@llmops/kit/testing/stack';
import { createAccountAsOperator, createTokenAsOperator } from '@llmops/gateway/operator';
import { startEmulator } from '@llmops/emulator/server';
import { SseClient } from '../gateway-events-support.ts';
import { FAST_RUNNER_ENV, type Json } from '../runner-support.ts';
import { startInstances, until } from './cluster.ts';
import { startOwnDatabase, TERMINAL_TOPICS, waitAllTerminal } from './runner-chaos.ts';

const TASKS = 200;
/** Models each task request asks for at once (`model_ids`: a task per model), so the tasks take a quarter of the requests. */
const MODELS = 4;
const POSTS = 12;

const own = await startOwnDatabase();
const emulator = await startEmulator();
const admin = createPool({ connectionString: own.adminUrl, applicationName: 'test', max: 3 });
afterAll(async () => {
  await admin.end();
  await emulator.stop();
  await own.cluster.destroy();
});

/** An SSE client's filter, as its query and as this test reads the outbox with it. */
interface Filter {
  topics?: string[];
  correlation?: Record<string, string>;
  deltas?: 'none';
}

function query(filter: Filter): string {
  const params = new URLSearchParams();
  for (const topic of filter.topics ?? []) params.append('topic', topic);
  if (filter.correlation) params.set('correlation', JSON.stringify(filter.correlation));
  if (filter.deltas) params.set('deltas', filter.deltas);
  return params.size > 0 ? `?${params}` : '';
}

/** What one instance's workflow service did, as its log lines tell: the tasks whose result its consumer wrote back, the runs it was asked for. */
interface WorkflowDid {
  wroteBack: string[];
  runRequests: number;
}

/** An instance's logger (all its services'), keeping what its workflow service did in `did`. */
function instanceLog(did: WorkflowDid): Logger {
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (!line.includes('"service":"workflow"')) continue;
        const entry = JSON.parse(line) as Json;
        if (entry.msg === 'task result written back') did.wroteBack.push(entry.taskId as string);
        else if (entry.msg === 'request' && entry.method === 'POST' && /\/runs$/.test(entry.path) && entry.status < 300)
          did.runRequests++;
      }
      done();
    },
  });
  return createLogger({ service: 'scale-out', level: 'info', destination });
}

/** What the stream promises (docs/api.md): public topics only, a topic or a prefix, a correlation that contains the filter's. */
function wants(filter: Filter, topic: string, payload: Json): boolean {
  if (!isLiveTopic(topic)) return false;
  if (filter.topics && !filter.topics.some((prefix) => topic.startsWith(prefix))) return false;
  if (filter.correlation) {
    const correlation = payload?.correlation;
    if (typeof correlation !== 'object' || correlation === null) return false;
    return Object.entries(filter.correlation).every(([key, value]) => correlation[key] === value);
  }
  return true;
}

/** The positions of the durable events a client got, in the order they came (deltas, `ready` and `resync` carry none). */
function positions(client: SseClient): string[] {
  return client.messages.flatMap((m) => (m.id !== undefined && m.event.includes('.') ? [m.id] : []));
}

describe('two instances of every service on one PostgreSQL', () => {
  it('share the work, run each task once, write each result back once, and stream every event once', async () => {
    const t0 = Date.now();
    const workflows: WorkflowDid[] = [0, 1].map(() => ({ wroteBack: [], runRequests: 0 }));
    const stacks: Stack[] = await startInstances(own, ['registry', 'prompt', 'runner', 'workflow', 'gateway'], 2, {
      mode: 'in-process',
      log: (n) => instanceLog(workflows[n] as WorkflowDid),
      env: {
        ...FAST_RUNNER_ENV,
        // Production's lease and heartbeat: a loaded test machine stalls a process for seconds at a time, and a
        // lease lost to a stall reruns the task by design (tests/chaos/runner-kill.test.ts); not what this counts.
        RUNNER_LEASE_MS: '30000',
        RUNNER_HEARTBEAT_MS: '10000',
        // The test's own load, not the gateway's per-token quota, is what is measured here.
        GATEWAY_RATE_LIMIT_TOKEN: '0',
        GATEWAY_RATE_LIMIT_ACCOUNT: '0',
      },
    });
    const startMs = Date.now() - t0;
    const sse: SseClient[] = [];
    try {
      const gateways = stacks.map((stack) => stack.urls.gateway as string);
      const account = await createAccountAsOperator(own.adminUrl, {
        email: 'scale-out@example.com',
        name: 'Scale-out',
        role: 'admin',
        password: 'correct horse battery staple',
      });
      const { secret: token } = await createTokenAsOperator(own.adminUrl, {
        role: 'admin',
        name: 'scale-out',
        account: account.email,
      });
      const auth = { authorization: `Bearer ${token}` };
      /** A call through gateway `n`, which must succeed. */
      const api = async (n: number, method: string, path: string, body?: unknown): Promise<Json> => {
        const response = await fetch(`${gateways[n % gateways.length]}${path}`, {
          method,
          headers: { ...auth, 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const text = await response.text();
        expect(response.status, `${method} ${path} through gateway ${n % 2}: ${text}`).toBeLessThan(300);
        return text ? JSON.parse(text) : null;
      };

      // What the load needs, made through both gateways, side by side where nothing waits for it. Four models: two
      // of the emulator's on each of two providers. One by one, creating the tasks took most of this test's time,
      // so each request asks for a task on every model.
      const [providers, template, stages, posts] = await Promise.all([
        Promise.all(
          ['a', 'b'].map((name, n) =>
            api(n, 'POST', '/api/v1/providers', {
              name: `emulated openai ${name}`,
              kind: 'openai',
              base_url: emulator.baseUrl('openai'),
              api_key: 'sk-test-key-0123456789',
            }),
          ),
        ),
        api(0, 'POST', '/api/v1/templates', {
          name: 'echo',
          variables: [{ name: 'text', type: 'string' }],
          messages: [{ role: 'user', entries: [{ type: 'text', text: '{{ text }}' }] }],
        }),
        api(1, 'GET', '/api/v1/workflow/stages'),
        Promise.all(Array.from({ length: POSTS }, (_, i) => api(i, 'POST', '/api/v1/workflow/posts', { title: `Post ${i}` }))),
      ]);
      const [models] = await Promise.all([
        Promise.all(
          providers.flatMap((provider, p) =>
            ['emu-gpt-small', 'emu-gpt-large'].map((id, m) =>
              api(p + m, 'POST', '/api/v1/models', { provider_id: provider.id, provider_model_id: id }),
            ),
          ),
        ),
        api(1, 'POST', `/api/v1/templates/${template.id}/publish`, {}),
      ]);
      expect(models).toHaveLength(MODELS);
      const action = (mode: 'review' | 'apply', target: string, n: number) =>
        api(n, 'POST', '/api/v1/workflow/actions', {
          substage_id: stages.items[0].substages[0].id,
          label: `${mode} ${target}`,
          template_id: template.id,
          model_id: models[0].id,
          target_field: target,
          inputs: { text: { from: 'post', attribute: 'title' } },
          mode,
        });
      const actions = await Promise.all([action('review', 'working_title', 0), action('apply', 'basic_idea', 1)]);

      // Listeners on both gateways before the load, each with a filter of its own.
      const filters: Filter[][] = [
        [
          {},
          { topics: ['runner.task.succeeded'], deltas: 'none' },
          { correlation: { batch: 'even' } },
          { correlation: { post_id: posts[0].id } },
        ],
        [
          { deltas: 'none' },
          { topics: ['workflow.'] },
          { topics: ['runner.task.queued', 'runner.task.succeeded'], correlation: { batch: 'odd' } },
          { correlation: { post_id: posts[1].id }, deltas: 'none' },
        ],
      ];
      const listeners = await Promise.all(
        filters.flatMap((list, n) =>
          list.map(async (filter) => {
            const client = await SseClient.open(`${gateways[n]}/api/v1/events${query(filter)}`, auth);
            sse.push(client);
            expect(client.status).toBe(200);
            await client.ready();
            const ready = client.data<{ position: string }>('ready')[0]?.position as string;
            return { client, filter, ready, gateway: n };
          }),
        ),
      );

      // The load: tasks and action runs side by side, alternating between the gateways.
      const started = Date.now();
      const taskIds: string[] = [];
      const runIds: string[] = [];
      let next = 0;
      const makeTasks = async () => {
        while (next < TASKS / MODELS) {
          const i = next++;
          const created = await api(i, 'POST', '/api/v1/tasks', {
            model_ids: models.map((m) => m.id),
            messages: [{ role: 'user', content: `task ${i}` }],
            correlation: { batch: i % 2 === 0 ? 'even' : 'odd' },
          });
          taskIds.push(...created.tasks.map((task: Json) => task.id as string));
        }
      };
      // Each post's runs one after the other, the posts side by side, beside the tasks.
      const runActions = async (post: Json, i: number) => {
        for (const [j, { id }] of actions.entries()) {
          const { runs } = await api(i + j, 'POST', `/api/v1/workflow/posts/${post.id}/actions/${id}/runs`);
          runIds.push(...runs.map((run: Json) => run.id as string));
        }
      };
      await Promise.all([...Array.from({ length: 8 }, makeTasks), ...posts.map(runActions)]);
      expect(runIds).toHaveLength(POSTS * actions.length);
      expect(taskIds).toHaveLength(TASKS);

      const tasks = await waitAllTerminal(admin, taskIds, 60_000);
      let runs: Json[] = [];
      await until(
        async () => {
          ({ rows: runs } = await admin.query('SELECT * FROM workflow.action_runs WHERE id = ANY ($1::uuid[])', [runIds]));
          return runs.length === runIds.length && runs.every((run) => run.status !== 'requested');
        },
        30_000,
        () => `${runIds.length} runs to be written back (${runs.filter((run) => run.status === 'requested').length} waiting)`,
      );
      const loadMs = Date.now() - started;
      expect(tasks.map((task) => task.status)).toEqual(taskIds.map(() => 'succeeded'));
      const allTaskIds = [...taskIds, ...runs.map((run) => run.task_id as string)];
      await waitAllTerminal(admin, allTaskIds, 30_000);

      // Shared: each runner instance claimed some of the tasks (the attempt's worker names its instance).
      const { rows: attempts } = await admin.query<{ task_id: string; worker: string; status: string }>(
        'SELECT task_id, worker, status FROM runner.attempts WHERE task_id = ANY ($1::uuid[])',
        [allTaskIds],
      );
      const claims = new Map<string, number>();
      for (const attempt of attempts) claims.set(attempt.worker, (claims.get(attempt.worker) ?? 0) + 1);
      expect(claims.size, `the runners that claimed tasks: ${JSON.stringify(Object.fromEntries(claims))}`).toBe(2);

      // Shared by the workflow instances too: each was asked for some of the runs, and each one's consumer (one
      // group, its partitions leased by either) wrote back some of the results; together each result once.
      const runTaskIds = runs.map((run) => run.task_id as string);
      await until(
        async () => workflows.flatMap((w) => w.wroteBack).length >= runTaskIds.length,
        10_000,
        () => `the workflow instances to log ${runTaskIds.length} write-backs`,
      ).catch(() => undefined);
      const perWorkflow = JSON.stringify(workflows.map((w) => ({ runs: w.runRequests, written_back: w.wroteBack.length })));
      expect(
        workflows.map((w) => w.runRequests > 0 && w.wroteBack.length > 0),
        `what each workflow instance did: ${perWorkflow}`,
      ).toEqual([true, true]);
      expect(workflows.reduce((sum, w) => sum + w.runRequests, 0)).toBe(runIds.length);
      expect(workflows.flatMap((w) => w.wroteBack).sort()).toEqual([...runTaskIds].sort());

      // Nothing ran twice: one attempt per task, one provider request per task, one terminal event per task.
      expect(attempts).toHaveLength(allTaskIds.length);
      expect(new Set(attempts.map((attempt) => attempt.task_id)).size).toBe(allTaskIds.length);
      expect(attempts.every((attempt) => attempt.status === 'succeeded')).toBe(true);
      expect(emulator.requestsOf('openai', '/v1/chat/completions')).toHaveLength(allTaskIds.length);
      const { rows: terminal } = await admin.query(
        `SELECT payload->>'task_id' AS task_id, count(*)::int AS n FROM bus.outbox
         WHERE topic = ANY ($1::text[]) AND payload->>'task_id' = ANY ($2::text[]) GROUP BY 1`,
        [TERMINAL_TOPICS, allTaskIds],
      );
      expect(terminal).toHaveLength(allTaskIds.length);
      expect(terminal.every((row) => row.n === 1)).toBe(true);

      // Every write-back once: review runs made one suggestion, apply runs one revision by their task.
      const mode = new Map(actions.map((a: Json, j) => [a.id as string, j === 0 ? 'review' : 'apply']));
      for (const run of runs)
        expect(run.status, `run ${run.id}`).toBe(mode.get(run.action_id) === 'review' ? 'suggested' : 'applied');
      const { rows: suggestions } = await admin.query(
        'SELECT action_run_id FROM workflow.suggestions WHERE action_run_id = ANY ($1::uuid[])',
        [runIds],
      );
      const { rows: revisions } = await admin.query(
        `SELECT source_task_id FROM workflow.revisions WHERE author_kind = 'task' AND source_task_id = ANY ($1::uuid[])`,
        [runs.map((run) => run.task_id)],
      );
      const reviewRuns = runs.filter((run) => mode.get(run.action_id) === 'review');
      const applyRuns = runs.filter((run) => mode.get(run.action_id) === 'apply');
      expect(suggestions.map((row) => row.action_run_id).sort()).toEqual(reviewRuns.map((run) => run.id).sort());
      expect(revisions.map((row) => row.source_task_id).sort()).toEqual(applyRuns.map((run) => run.task_id).sort());
      const { rows: finished } = await admin.query(
        `SELECT payload->>'action_run_id' AS run_id FROM bus.outbox WHERE topic = 'workflow.run.finished'`,
      );
      expect(finished.map((row) => row.run_id).sort()).toEqual([...runIds].sort());

      // Every SSE client saw every event of its filter exactly once: what the outbox holds after its start.
      const { rows: outbox } = await admin.query<{ position: string; topic: string; payload: Json }>(
        `SELECT txid::text || '-' || id::text AS position, topic, payload FROM bus.outbox`,
      );
      for (const { client, filter, ready, gateway } of listeners) {
        const expected = outbox
          .filter((row) => comparePositions(parsePosition(row.position), parsePosition(ready)) > 0)
          .filter((row) => wants(filter, row.topic, row.payload))
          .map((row) => row.position);
        const what = `the client of gateway ${gateway} with filter ${JSON.stringify(filter)}`;
        expect(expected.length, `${what} has events to get`).toBeGreaterThan(0);
        await client
          .until(() => positions(client).length >= expected.length, `${what} to get ${expected.length} events`, 20_000)
          .catch(() => undefined);
        const got = positions(client);
        const topicOf = new Map(outbox.map((row) => [row.position, row.topic]));
        const wanted = new Set(expected);
        const seen = new Set<string>();
        const missing = expected.filter((position) => !got.includes(position)).map((p) => `${p} ${topicOf.get(p)}`);
        const unwanted = got.filter((position) => !wanted.has(position)).map((p) => `${p} ${topicOf.get(p)}`);
        const twice = got.filter((position) => seen.has(position) || !seen.add(position));
        expect({ missing, unwanted, twice }, what).toEqual({ missing: [], unwanted: [], twice: [] });
        expect(got, `${what}: in position order`).toEqual(
          [...expected].sort((a, b) => comparePositions(parsePosition(a), parsePosition(b))),
        );
        expect(
          client.messages.filter((m) => m.event === 'resync'),
          what,
        ).toEqual([]);
      }
      console.info(
        `scale-out: 2 × 5 services started in ${startMs} ms; ${allTaskIds.length} tasks ` +
          `(${runIds.length} of them action runs) in ${loadMs} ms; claims per runner ${JSON.stringify([...claims.values()])}; ` +
          `per workflow ${perWorkflow}; ` +
          `${outbox.length} events; ${Date.now() - t0} ms in all`,
      );
    } finally {
      for (const client of sse) client.close();
      await Promise.all(stacks.map((stack) => stack.stop()));
    }
  });
});
