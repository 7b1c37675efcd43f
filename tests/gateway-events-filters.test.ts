/**
 * The event stream's filters as the dashboard's live layer uses them (GET /api/v1/events): repeatable
 * `task_id` and `group_id`, a list of topics, `deltas=none|matching`, the `last_event_id` query parameter
 * (the Last-Event-ID header wins), only public topics ever streamed (never `runner.task.requested`, whose
 * inputs may hold a post's text, nor another service's internal events), and a problem for a bad filter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doorbellSettled, ringDoorbell } from '@llmops/kit/bus/doorbell';
import { createBus, envelope, publishMany, type Bus, type Envelope } from '@llmops/kit/bus/index';
import { createPool, type Pool } from '@llmops/kit/db';
import { providerChanged } from '@llmops/kit/events/registry';
import { TASK_DELTAS_CHANNEL, taskRequested, taskSucceeded, type TaskDelta } from '@llmops/kit/events/runner';
import { LiveEventSchema } from '@llmops/kit/contracts/live';
import { createLogger } from '@llmops/kit/logger';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { groupId, queued, SseClient, taskId } from './gateway-events-support.ts';
import { startGateway, type GatewayHarness } from './gateway-support.ts';

const db = await useTestDatabase();

describe('the event stream’s filters', () => {
  let gw: GatewayHarness;
  let noHistory: GatewayHarness;
  let admin: Pool;
  let runner: Bus;
  let auth: Record<string, string>;

  async function publish(...envelopes: Envelope[]): Promise<void> {
    const client = await admin.connect();
    try {
      await client.query('BEGIN');
      await publishMany(client, envelopes);
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    // Committed by hand, so rung by hand, as docs/adr/0001 asks of such a producer: no wait for a sweep.
    ringDoorbell(
      admin,
      envelopes.map((e) => e.topic),
    );
    await doorbellSettled(admin);
  }

  async function open(query: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const client = await SseClient.open(`${gw.url}/api/v1/events${query}`, { ...auth, ...headers });
    expect(client.status).toBe(200);
    return client;
  }

  /** A later event every client below would see: once it is in, nothing published before it is still on its way. */
  async function fence(n: number, clients: SseClient[]): Promise<void> {
    await publish(queued(n, { group_id: groupId(1), correlation: { post_id: 'fence' } }));
    for (const c of clients) await c.until(() => c.events().some((e) => e.n === n), `the fence event ${n}`);
  }

  /** Every message the client got is a LiveEvent as the public document describes it. */
  function expectDocumented(c: SseClient): void {
    for (const m of c.messages) {
      const message = { event: m.event, data: JSON.parse(m.data) as unknown, ...(m.id === undefined ? {} : { id: m.id }) };
      const parsed = LiveEventSchema.safeParse(message);
      expect(parsed.error, `${m.event} ${m.data}`).toBeUndefined();
    }
  }

  const numbers = (c: SseClient, topic?: string) =>
    c
      .events(topic)
      .map((e) => e.n)
      .sort((a, b) => a - b);

  beforeAll(async () => {
    admin = createPool({ connectionString: db.adminUrl, applicationName: 'test-publisher', max: 2 });
    [gw, noHistory] = await Promise.all([
      startGateway(db, { services: [] }),
      startGateway(db, { services: [], env: { GATEWAY_SSE_HISTORY: '0' } }),
    ]);
    auth = { authorization: `Bearer ${(await gw.caller('viewer')).token}` };
    runner = createBus({
      pool: createPool({ connectionString: db.urlFor('runner'), applicationName: 'test-runner' }),
      listenUrl: db.urlFor('runner'),
      log: createLogger({ service: 'test-runner', level: 'silent' }),
      service: 'runner',
      config: { ephemeralTickMs: 10 },
    });
    await runner.start();
  });
  afterAll(async () => {
    await runner?.stop();
    await Promise.all([gw?.stop(), noHistory?.stop()]);
    await admin?.end();
  });

  it('takes task_id and group_id more than once (any of them), and a list of topics', async () => {
    const [tasks, groups, topics, both] = await Promise.all([
      open(`?task_id=${taskId(1)}&task_id=${taskId(3)}&task_id=${groupId(1)}`),
      open(`?group_id=${groupId(1)}&group_id=${groupId(2)}`),
      open(`?topic=runner.task.succeeded&topic=runner.task.queued&group_id=${groupId(1)}`),
      open(`?task_id=${taskId(1)}&task_id=${taskId(2)}&group_id=${groupId(2)}`),
    ]);
    const all = [tasks, groups, topics, both];
    for (const c of all) await c.ready();
    const succeeded = (n: number, group: string) =>
      envelope(taskSucceeded, {
        task_id: taskId(n),
        group_id: group,
        correlation: null,
        requester: 'account:test',
        model_id: null,
        provider_id: null,
        attempt: 1,
        at: new Date().toISOString(),
        output_chars: 5,
        finish_reason: 'stop',
        usage: { input_tokens: 1, output_tokens: 1, cached_input_tokens: 0 },
        cost_usd: '0.000001000000',
        images: 0,
      });
    await publish(
      queued(1, { group_id: groupId(1) }),
      queued(2, { group_id: groupId(2) }),
      queued(3, { group_id: groupId(3) }),
      queued(4),
      succeeded(1, groupId(1)),
    );
    await fence(100, [topics]);
    // Seen by every client but `topics`: once it is in, nothing published before it is still on its way.
    await publish(queued(101, { task_id: taskId(1), group_id: groupId(2) }));
    for (const c of [tasks, groups, both]) await c.until(() => c.events().some((e) => e.n === 101), 'the second event of task 1');

    expect(numbers(tasks)).toEqual([1, 3, 101]);
    expect(tasks.events('runner.task.succeeded').map((e) => e.payload.task_id)).toEqual([taskId(1)]);
    expect(numbers(groups)).toEqual([1, 2, 100, 101]);
    // Topics and group together: the group's queued and succeeded events, nothing of other groups.
    expect(numbers(topics)).toEqual([1, 100]);
    expect(topics.events('runner.task.succeeded')).toHaveLength(1);
    // Task 2 is in group 2, task 1's first event is not: AND across parameters, OR within one.
    expect(numbers(both)).toEqual([2, 101]);
    for (const c of all) expectDocumented(c);
    for (const c of all) c.close();
  });

  it('streams only public topics: never runner.task.requested, another service’s events, or a test topic', async () => {
    const everything = await open('');
    const prefix = await open('?topic=runner.');
    await everything.ready();
    await prefix.ready();
    const start = everything.lastEventId as string;
    await publish(
      envelope(taskRequested, { requester: 'service:workflow', request: { messages: [{ role: 'user', content: 'the post' }] } }),
      envelope(providerChanged, { provider_id: taskId(7), change: 'deleted', provider: null, at: new Date().toISOString() }),
      queued(200),
    );
    await fence(201, [everything, prefix]);
    for (const c of [everything, prefix]) {
      expect(new Set(c.events(null).map((e) => e.topic))).toEqual(new Set(['runner.task.queued']));
      expect(numbers(c)).toEqual([200, 201]);
    }
    // Resumed from the outbox (an instance that keeps no history), with the position as a query parameter.
    const replayed = await SseClient.open(`${noHistory.url}/api/v1/events?last_event_id=${start}`, auth);
    await replayed.until(() => replayed.events().some((e) => e.n === 201), 'the replay');
    await replayed.ready();
    expect(new Set(replayed.events(null).map((e) => e.topic))).toEqual(new Set(['runner.task.queued']));
    expect(numbers(replayed)).toEqual([200, 201]);
    for (const c of [everything, prefix, replayed]) c.close();
  });

  it('resumes after last_event_id given as a query parameter; the Last-Event-ID header wins when both are given', async () => {
    const first = await open(`?task_id=${taskId(300)}&task_id=${taskId(301)}&task_id=${taskId(302)}`);
    await first.ready();
    await publish(queued(300));
    await first.until(() => first.events().length === 1, 'the first event');
    const afterFirst = first.lastEventId as string;
    await publish(queued(301));
    await first.until(() => first.events().length === 2, 'the second event');
    const afterSecond = first.lastEventId as string;
    first.close();
    await publish(queued(302));

    // A page that changed its filter opens a new stream itself: the browser sends no header then.
    const byQuery = await open(
      `?task_id=${taskId(300)}&task_id=${taskId(301)}&task_id=${taskId(302)}&last_event_id=${afterFirst}`,
    );
    await byQuery.until(() => byQuery.events().some((e) => e.n === 302), 'what was missed');
    expect(numbers(byQuery)).toEqual([301, 302]);
    // EventSource's own reconnect repeats the query it was opened with and adds the newer header.
    const both = await open(`?task_id=${taskId(300)}&task_id=${taskId(301)}&task_id=${taskId(302)}&last_event_id=${afterFirst}`, {
      'last-event-id': afterSecond,
    });
    await both.until(() => both.events().some((e) => e.n === 302), 'what was missed after the header’s position');
    await both.ready();
    expect(numbers(both)).toEqual([302]);
    const bad = await open('?last_event_id=not-a-position');
    await bad.until(() => bad.messages.some((m) => m.event === 'resync'), 'resync');
    for (const c of [byQuery, both, bad]) expectDocumented(c);
    for (const c of [byQuery, both, bad]) c.close();
  });

  it('sends deltas only of the tasks the filter selects, and none with deltas=none', async () => {
    const [taskOnly, taskNone, byTopic, topicNone, byGroup] = await Promise.all([
      open(`?task_id=${taskId(400)}&deltas=matching`),
      open(`?task_id=${taskId(400)}&deltas=none`),
      open('?topic=runner.task.succeeded'),
      open('?topic=runner.task.&deltas=none'),
      open(`?group_id=${groupId(4)}&group_id=${groupId(5)}`),
    ]);
    const all = [taskOnly, taskNone, byTopic, topicNone, byGroup];
    for (const c of all) await c.ready();
    const delta = (n: number, seq: number, text: string, group?: string): TaskDelta => ({
      task_id: taskId(n),
      attempt: 1,
      seq,
      text,
      ...(group ? { group_id: group } : {}),
    });
    runner.ephemeral.publish(TASK_DELTAS_CHANNEL, delta(400, 0, 'Hel'));
    runner.ephemeral.publish(TASK_DELTAS_CHANNEL, delta(401, 0, 'other', groupId(5)));
    runner.ephemeral.publish(TASK_DELTAS_CHANNEL, delta(400, 1, 'lo'));
    runner.ephemeral.publish(TASK_DELTAS_CHANNEL, delta(402, 0, 'third', groupId(6)));
    // `<task number>:<text>`
    const texts = (c: SseClient) => c.data<TaskDelta>('delta').map((d) => `${parseInt(d.task_id.slice(-12), 16)}:${d.text}`);
    await taskOnly.until(() => taskOnly.data('delta').length === 2, 'the task’s deltas');
    await byTopic.until(() => byTopic.data('delta').length === 4, 'every task’s deltas');
    await byGroup.until(() => byGroup.data('delta').length === 1, 'the group’s delta');
    // The hub relays each delta to every client at once, before any later event: a task event that comes after
    // them to the other clients means no delta was still on its way to them.
    await publish(queued(403, { task_id: taskId(400), group_id: groupId(4) }));
    for (const c of [taskNone, topicNone, byGroup])
      await c.until(() => c.events().some((e) => e.n === 403), 'a later task event');
    expect(texts(taskOnly)).toEqual(['400:Hel', '400:lo']);
    expect(texts(byTopic)).toEqual(['400:Hel', '401:other', '400:lo', '402:third']);
    expect(texts(byGroup)).toEqual(['401:other']);
    expect(taskNone.data('delta')).toEqual([]);
    expect(topicNone.data('delta')).toEqual([]);
    for (const c of all) expectDocumented(c);
    for (const c of all) c.close();
  });

  it('answers a bad filter with a problem that names the parameter and says what to send', async () => {
    const problem = async (query: string) => {
      const response = await fetch(`${gw.url}/api/v1/events${query}`, { headers: auth });
      expect(response.status, query).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      return (await response.json()) as { errors: { field: string; message: string }[] };
    };
    const requested = await problem('?topic=runner.task.requested');
    expect(requested.errors[0]?.field).toMatch(/^query\.topic/);
    expect(requested.errors[0]?.message).toContain('runner.task.succeeded');
    expect((await problem('?topic=runner.task.queued&topic=audit.')).errors[0]?.field).toMatch(/^query\.topic/);
    expect((await problem('?topic=registry.provider.changed')).errors[0]?.field).toMatch(/^query\.topic/);
    expect((await problem('?deltas=all')).errors.map((e) => e.field)).toEqual(['query.deltas']);
    const many = Array.from({ length: 101 }, (_, i) => `task_id=${taskId(i)}`).join('&');
    expect((await problem(`?${many}`)).errors[0]?.message).toMatch(/at most 100/);
  });
});
