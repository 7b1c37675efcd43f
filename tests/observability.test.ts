/**
 * Observability across the stack (docs/operations.md#observability): every service's /metrics with the
 * named series behind the metrics token, and one request id on the log lines of every service a task
 * create crosses (gateway → runner → prompt), the task id on the runner's lines about it.
 */
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmulator } from '@llmops/emulator/server';
import { gatewayBuilder } from '@llmops/gateway/main';
import { publish } from '@llmops/kit/bus/index';
import { createPool } from '@llmops/kit/db';
import { taskRequested } from '@llmops/kit/events/runner';
import { createTokenAsOperator } from '@llmops/gateway/operator';
import { createLogger } from '@llmops/kit/logger';
import { runService } from '@llmops/kit/runtime';
import { SERVICES, urlVariable, type ServiceName } from '@llmops/kit/services';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { startRunnerHarness, type Json } from './runner-support.ts';

const TOKEN = `metrics-token-${'m'.repeat(32)}`;
const lines: Record<string, unknown>[] = [];
const stream = new PassThrough();
stream.on('data', (chunk: Buffer) => {
  for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
});
const log = createLogger({ service: 'test', level: 'debug', destination: stream });

const db = await useTestDatabase();
const emulator = await startEmulator();
const h = await startRunnerHarness(db, emulator, {
  services: ['registry', 'prompt', 'runner', 'workflow'],
  env: { LLMOPS_METRICS_TOKEN: TOKEN },
  log,
});
const gatewayEnv: Record<string, string> = {
  DATABASE_URL: db.urlFor('gateway'),
  LLMOPS_INTERNAL_SECRET: h.stack.secret,
  LLMOPS_HOST: '127.0.0.1',
  PORT: '0',
  LLMOPS_METRICS_TOKEN: TOKEN,
  ...Object.fromEntries(Object.entries(h.stack.urls).map(([name, url]) => [urlVariable(name as ServiceName), url])),
};
const gateway = await runService('gateway', gatewayBuilder(gatewayEnv), {
  env: gatewayEnv,
  log: log.child({ service: 'gateway' }),
});
const urls: Record<string, string> = { ...h.stack.urls, gateway: gateway.url };
afterAll(async () => {
  await gateway.stop();
  await h.stop();
  await emulator.stop();
});

const scrape = (service: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) =>
  fetch(`${urls[service]}/metrics`, { headers });

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a scrape (the Prometheus text format), to find by name and labels in any order. */
async function samples(service: string): Promise<Sample[]> {
  const response = await scrape(service);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return (await response.text())
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [, name = '', labels = '', value = ''] = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line) ?? [];
      const pairs = [...labels.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]);
      return { name, labels: Object.fromEntries(pairs) as Record<string, string>, value: Number(value) };
    });
}

/** The value of the one sample of `name` whose labels include `labels` (undefined when there is none). */
function valueOf(all: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = all.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  expect(found.length, `${name} ${JSON.stringify(labels)}`).toBeLessThanOrEqual(1);
  return found[0]?.value;
}

describe('one task created through the gateway', async () => {
  const { model } = await h.provider({ price: { input_per_mtok: '2.5', output_per_mtok: '10' } });
  const { secret } = await createTokenAsOperator(db.adminUrl, { role: 'editor', name: 'observability test' });
  const requestId = `obs-${Math.random().toString(36).slice(2)}`;
  const created = await fetch(`${gateway.url}/api/v1/tasks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', 'x-request-id': requestId },
    body: JSON.stringify({
      model_id: model,
      messages: [{ role: 'user', content: 'Hello {{ who }}' }],
      render: true,
      inputs: { who: 'you' },
    }),
  });
  const body = (await created.json()) as Json;
  const taskId = body.tasks?.[0]?.id as string;
  const done = await h.waitFor(taskId);

  it('is answered with its request id, which is on the log lines of the gateway, the runner and the prompt service', () => {
    expect(created.status, JSON.stringify(body)).toBe(201);
    expect(created.headers.get('x-request-id')).toBe(requestId);
    const services = new Set(lines.filter((line) => line.reqId === requestId).map((line) => line.service));
    expect([...services]).toEqual(expect.arrayContaining(['gateway', 'runner', 'prompt']));
  });

  it('names the task on the runner’s lines about running it', () => {
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    const recorded = lines.find((line) => line.msg === 'attempt recorded' && line.taskId === taskId);
    expect(recorded).toMatchObject({ service: 'runner', attempt: 1, outcome: 'succeeded', task: 'succeeded' });
  });

  it('is counted in the runner’s metrics: provider latency, tokens and cost by model, tasks by state, the queue', async () => {
    const all = await samples('runner');
    const labels = { provider: done.provider_id as string, provider_kind: 'openai', model: 'emu-gpt-small' };
    expect(valueOf(all, 'llmops_provider_request_duration_seconds_count', { ...labels, outcome: 'succeeded' })).toBe(1);
    const [attempt] = await h.attempts(taskId);
    expect(valueOf(all, 'llmops_provider_tokens_total', { ...labels, type: 'input' })).toBe(attempt.usage.input_tokens);
    expect(valueOf(all, 'llmops_provider_tokens_total', { ...labels, type: 'output' })).toBe(attempt.usage.output_tokens);
    expect(valueOf(all, 'llmops_provider_cost_usd_total', labels)).toBeCloseTo(Number(attempt.cost_usd), 12);
    expect(Number(attempt.cost_usd)).toBeGreaterThan(0);
    expect(valueOf(all, 'llmops_provider_errors_total', labels)).toBeUndefined();
    expect(valueOf(all, 'llmops_runner_tasks_finished_total', { state: 'succeeded' })).toBe(1);
    expect(valueOf(all, 'llmops_runner_tasks', { state: 'queued' })).toBe(0);
    expect(valueOf(all, 'llmops_runner_tasks', { state: 'running' })).toBe(0);
    expect(valueOf(all, 'llmops_runner_queue_depth')).toBe(0);
    expect(valueOf(all, 'llmops_runner_queue_oldest_age_seconds')).toBe(0);
  });

  it('is timed in the gateway’s metrics by its route pattern, beside the event stream series', async () => {
    const all = await samples('gateway');
    const post = { method: 'POST', route: '/api/v1/tasks', status: '201' };
    expect(valueOf(all, 'llmops_http_request_duration_seconds_count', post)).toBe(1);
    expect(valueOf(all, 'llmops_sse_clients')).toBe(0);
    expect(valueOf(all, 'llmops_sse_dropped_clients_total')).toBe(0);
  });
});

describe('tasks that end without an attempt of their own', () => {
  const finished = async () => {
    const all = await samples('runner');
    return Object.fromEntries(
      ['succeeded', 'failed', 'cancelled', 'rejected'].map((state) => [
        state,
        valueOf(all, 'llmops_runner_tasks_finished_total', { state }),
      ]),
    );
  };

  it('are counted in llmops_runner_tasks_finished_total by the state they ended in', async () => {
    const before = await finished();
    // Every state is exported from the start, so a rate of any is defined.
    expect(Object.values(before).every((value) => typeof value === 'number')).toBe(true);

    // Cancelled while queued: its provider holds it back, so it never starts.
    const held = await h.provider();
    await h.pauseProvider(held.provider);
    const queued = await h.createTask({ model_id: held.model, messages: [{ role: 'user', content: 'never run' }] });
    const cancel = await h.call('runner', 'POST', `/api/v1/tasks/${queued.tasks[0].id}/cancel`);
    expect(cancel.body.status).toBe('cancelled');

    // Rejected: a request over the bus that does not validate.
    const bus = createPool({ connectionString: db.urlFor('workflow'), applicationName: 'test', max: 1 });
    try {
      await publish(bus, taskRequested, {
        requester: 'workflow',
        idempotency_key: 'observability-rejected',
        request: { model_id: held.model, messages: [], correlation: { post_id: 'observability' } },
      });
    } finally {
      await bus.end();
    }

    // Failed at the claim: its only model's provider is at its spend cap, so no request is made.
    const capped = await h.provider({
      monthly_spend_cap_usd: '0.01',
      price: { input_per_mtok: '1000', output_per_mtok: '1000' },
    });
    const dear = await h.createTask({ model_id: capped.model, messages: [{ role: 'user', content: 'too dear' }] });
    expect((await h.waitFor(dear.tasks[0].id)).error.kind).toBe('budget_exceeded');

    // Cancelled by the lease reaper: what a runner that died while running it, after a cancel was asked, leaves behind.
    const orphan = await h.createTask({ model_id: held.model, messages: [{ role: 'user', content: 'orphaned' }] });
    await h.admin.query(
      `UPDATE runner.tasks SET status = 'running', lease_owner = 'a-runner-that-died', lease_expires_at = now() - interval '1 second',
         attempts = 1, model_attempts = 1, started_at = now(), cancel_requested_at = now()
       WHERE id = $1`,
      [orphan.tasks[0].id],
    );
    expect((await h.waitFor(orphan.tasks[0].id)).status).toBe('cancelled');

    // Each is counted after the commit that ended it (the rejection whenever the bus delivers the request): wait, bounded.
    const expected = { succeeded: 0, failed: 1, cancelled: 2, rejected: 1 };
    const moved = async () => {
      const after = await finished();
      return Object.fromEntries(Object.keys(expected).map((state) => [state, (after[state] ?? 0) - (before[state] ?? 0)]));
    };
    let counted = await moved();
    for (let i = 0; i < 200 && JSON.stringify(counted) !== JSON.stringify(expected); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      counted = await moved();
    }
    expect(counted).toEqual(expected);
    const { rows } = await h.admin.query(`SELECT status FROM runner.tasks WHERE idempotency_key = 'observability-rejected'`);
    expect(rows.map((row: Json) => row.status)).toEqual(['rejected']);
  });
});

describe('/metrics on every service', () => {
  it.each(SERVICES)('%s: the named series with the metrics token; 401 without it or with another', async (service) => {
    expect((await fetch(`${urls[service]}/healthz`)).status).toBe(200);
    const all = await samples(service);
    expect(all.every((s) => s.labels.service === service)).toBe(true);
    expect(valueOf(all, 'llmops_http_request_duration_seconds_count', { route: '/healthz', status: '200' })).toBeGreaterThan(0);
    expect(valueOf(all, 'llmops_db_pool_connections')).toBeGreaterThan(0);
    expect(valueOf(all, 'llmops_db_pool_idle_connections')).toBeGreaterThanOrEqual(0);
    expect(valueOf(all, 'llmops_db_pool_waiting_clients')).toBe(0);
    expect(valueOf(all, 'llmops_db_pool_max_connections')).toBeGreaterThan(0);
    expect(valueOf(all, 'llmops_bus_listening')).toBe(1);
    expect(valueOf(all, 'nodejs_eventloop_lag_p99_seconds')).toBeGreaterThan(0);
    // Every service but the prompt service consumes events: each of its groups' lag and dead letters.
    const groups = all.filter((s) => s.name === 'llmops_bus_lag_seconds');
    expect(groups.length > 0).toBe(service !== 'prompt');
    for (const { labels } of groups)
      expect(valueOf(all, 'llmops_bus_parked_events', { group: labels.group as string, status: 'dead' })).toBe(0);

    const anonymous = await scrape(service, {});
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toBe('application/problem+json');
    expect((await scrape(service, { authorization: `Bearer ${TOKEN}x` })).status).toBe(401);
  });
});
