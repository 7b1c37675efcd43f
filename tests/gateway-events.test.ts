/**
 * Live events over SSE (GET /api/v1/events): durable events carry their commit-safe bus position as id;
 * a client that drops out in the middle of a run and comes back with Last-Event-ID ends up with every
 * event exactly once (from the gateway's memory, from the outbox, and on another gateway instance);
 * a position older than retention, ahead of every event (a restored database) or not a position at all
 * gets `resync`; filters; deltas live only; heartbeats; 500 clients on one instance; a slow client is
 * dropped without holding up the others; one LISTEN connection per process; no reads while no client is connected.
 * The test publishes the runner's task events (the stream shows only public topics).
 */
import { request, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doorbellSettled, ringDoorbell } from '@llmops/kit/bus/doorbell';
import { createBus, publishMany, type Bus } from '@llmops/kit/bus/index';
import { createPool, withClient, type Pool } from '@llmops/kit/db';
import { TASK_DELTAS_CHANNEL, type TaskDelta } from '@llmops/kit/events/runner';
import { createLogger } from '@llmops/kit/logger';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { groupId, queued, SseClient, taskId, type QueuedFields, type SseMessage } from './gateway-events-support.ts';
import { startGateway, type Caller, type GatewayHarness } from './gateway-support.ts';

const db = await useTestDatabase();

describe('live events over SSE', () => {
  let gw: GatewayHarness;
  let viewer: Caller;
  let admin: Pool;
  let auth: Record<string, string>;

  /** Publishes `count` events numbered from `from`, `perTx` per transaction, two transactions interleaved at a time. */
  async function run(from: number, count: number, perTx = 5, extra: QueuedFields = {}): Promise<void> {
    for (let start = from; start < from + count; start += perTx * 2) {
      const a = await admin.connect();
      const b = await admin.connect();
      try {
        await a.query('BEGIN');
        await b.query('BEGIN');
        const batch = (first: number) =>
          Array.from({ length: Math.max(0, Math.min(perTx, from + count - first)) }, (_, i) => queued(first + i, extra));
        await publishMany(a, batch(start));
        await publishMany(b, batch(start + perTx));
        // The later transaction commits first: positions must still be commit-safe.
        await b.query('COMMIT');
        await a.query('COMMIT');
      } finally {
        a.release();
        b.release();
      }
      await ring();
    }
  }

  /**
   * What a producer committing outside withTransaction does so its events need not wait for a reader's
   * sweep (docs/adr/0001-commit-safe-bus-positions.md, "The doorbell"): ring after the commit.
   */
  async function ring(): Promise<void> {
    ringDoorbell(admin, ['runner.task.queued']);
    await doorbellSettled(admin);
  }

  beforeAll(async () => {
    admin = createPool({ connectionString: db.adminUrl, applicationName: 'test-publisher', max: 4 });
    gw = await startGateway(db, { services: [], env: { GATEWAY_SSE_HEARTBEAT_MS: '300' } });
    viewer = await gw.caller('viewer');
    auth = { authorization: `Bearer ${viewer.token}` };
  });
  afterAll(async () => {
    await gw?.stop();
    await admin?.end();
  });

  it('sends each committed event with its bus position as id, heartbeats, and refuses callers without tasks:read', async () => {
    const client = await SseClient.open(`${gw.url}/api/v1/events`, auth);
    expect(client.status).toBe(200);
    await client.until(() => client.messages.some((m) => m.event === 'ready'), 'ready');
    const ready = client.messages.find((m) => m.event === 'ready') as SseMessage;
    expect(ready.id).toMatch(/^\d+-\d+$/);
    await run(0, 3);
    await client.until(() => client.events().length === 3, 'three events');
    const events = client.events();
    expect(events.map((e) => e.n).sort()).toEqual([0, 1, 2]);
    for (const event of events) expect(event.id).toMatch(/^\d+-\d+$/);
    await client.until(() => client.comments > 0, 'a heartbeat');
    client.close();

    const noScope = await gw.token(viewer.email, 'viewer', ['prompts:read']);
    const refused = await fetch(`${gw.url}/api/v1/events`, { headers: { authorization: `Bearer ${noScope.secret}` } });
    expect(refused.status).toBe(403);
    expect((await fetch(`${gw.url}/api/v1/events`)).status).toBe(401);
  });

  it('filters by task, task group and correlation (a JSON object the payload’s correlation contains)', async () => {
    const post = encodeURIComponent(JSON.stringify({ post_id: 'post-7' }));
    // Key order does not matter; every given key must be there with an equal value.
    const field = encodeURIComponent(JSON.stringify({ field: 'title', post_id: 'post-7' }));
    const [byTask, byGroup, byPost, byField] = await Promise.all([
      SseClient.open(`${gw.url}/api/v1/events?task_id=${taskId(101)}`, auth),
      SseClient.open(`${gw.url}/api/v1/events?group_id=${groupId(1)}`, auth),
      SseClient.open(`${gw.url}/api/v1/events?correlation=${post}&topic=runner.task.`, auth),
      SseClient.open(`${gw.url}/api/v1/events?correlation=${field}&topic=runner.task.`, auth),
    ]);
    for (const c of [byTask, byGroup, byPost, byField]) await c.until(() => c.messages.some((m) => m.event === 'ready'), 'ready');
    await run(100, 4, 2, { group_id: groupId(1) });
    await run(200, 2, 1, { correlation: { post_id: 'post-7', field: 'title', stage: 3 } });
    await run(210, 1, 1, { correlation: { post_id: 'post-7', field: 'summary' } });
    await run(220, 1, 1, { correlation: { post_id: 'post-70', field: 'title' } });
    await run(230, 1, 1, { correlation: { post: { post_id: 'post-7' } } });
    await byGroup.until(() => byGroup.events().length === 4, 'the group’s events');
    await byPost.until(() => byPost.events().length === 3, 'the post’s events');
    await byField.until(() => byField.events().length === 2, 'the post’s title events');
    await byTask.until(() => byTask.events().length === 1, 'the task’s event');
    // An event after all the others: once it is in, nothing else was on its way to the clients.
    await run(240, 1, 1, { group_id: groupId(1), correlation: { post_id: 'post-7', field: 'title' } });
    for (const c of [byGroup, byPost, byField]) await c.until(() => c.events().some((e) => e.n === 240), 'the last event');
    expect(byTask.events().map((e) => e.n)).toEqual([101]);
    const numbers = (c: SseClient) =>
      c
        .events()
        .map((e) => e.n)
        .sort((a, b) => a - b);
    expect(numbers(byGroup)).toEqual([100, 101, 102, 103, 240]);
    expect(numbers(byPost)).toEqual([200, 201, 210, 240]);
    expect(numbers(byField)).toEqual([200, 201, 240]);

    const malformed = await fetch(`${gw.url}/api/v1/events?correlation=post-7`, { headers: auth });
    expect(malformed.status).toBe(400);
    const problem = (await malformed.json()) as { errors: { field: string }[] };
    expect(problem.errors.map((e) => e.field)).toEqual(['query.correlation']);
    const array = await fetch(`${gw.url}/api/v1/events?correlation=${encodeURIComponent('["post-7"]')}`, { headers: auth });
    expect(array.status).toBe(400);
    for (const c of [byTask, byGroup, byPost, byField]) c.close();
  });

  it('relays task deltas live to matching clients, without ids', async () => {
    const runner: Bus = createBus({
      pool: createPool({ connectionString: db.urlFor('runner'), applicationName: 'test-runner' }),
      listenUrl: db.urlFor('runner'),
      log: createLogger({ service: 'test-runner', level: 'silent' }),
      service: 'runner',
      config: { ephemeralTickMs: 10 },
    });
    await runner.start();
    try {
      const client = await SseClient.open(`${gw.url}/api/v1/events?task_id=${taskId(9000)}`, auth);
      const post = encodeURIComponent(JSON.stringify({ post_id: 'post-9' }));
      const byPost = await SseClient.open(`${gw.url}/api/v1/events?correlation=${post}`, auth);
      for (const c of [client, byPost]) await c.until(() => c.messages.some((m) => m.event === 'ready'), 'ready');
      const delta = (task_id: string, seq: number, text: string, correlation?: Record<string, unknown>): TaskDelta => ({
        task_id,
        attempt: 1,
        seq,
        text,
        ...(correlation ? { correlation } : {}),
      });
      runner.ephemeral.publish(TASK_DELTAS_CHANNEL, delta(taskId(9001), 0, 'not for you', { post_id: 'post-90' }));
      runner.ephemeral.publish(TASK_DELTAS_CHANNEL, delta(taskId(9000), 0, 'Hel', { post_id: 'post-9', field: 'title' }));
      runner.ephemeral.publish(TASK_DELTAS_CHANNEL, delta(taskId(9000), 1, 'lo', { post_id: 'post-9', field: 'title' }));
      for (const c of [client, byPost])
        await c.until(() => c.messages.filter((m) => m.event === 'delta').length === 2, 'two deltas');
      for (const c of [client, byPost]) {
        const deltas = c.messages.filter((m) => m.event === 'delta');
        expect(deltas.map((m) => (JSON.parse(m.data) as { text: string }).text).join('')).toBe('Hello');
        expect(deltas.every((m) => m.id === undefined)).toBe(true);
        c.close();
      }
    } finally {
      await runner.stop();
    }
  });

  async function disconnectMidRun(resumeAt: GatewayHarness, firstRun: number): Promise<void> {
    const first = await SseClient.open(`${gw.url}/api/v1/events?topic=runner.task.`, auth);
    await first.until(() => first.messages.some((m) => m.event === 'ready'), 'ready');
    const publishing = run(firstRun, 50, 3);
    await first.until(() => first.events().filter((e) => e.n >= firstRun).length >= 12, 'part of the run');
    first.close();
    const seenFirst = first.events().filter((e) => e.n >= firstRun);
    const lastId = first.lastEventId as string;
    await publishing;
    const second = await SseClient.open(`${resumeAt.url}/api/v1/events?topic=runner.task.`, { ...auth, 'last-event-id': lastId });
    await second.until(
      () => seenFirst.length + second.events().filter((e) => e.n >= firstRun).length >= 50,
      'the rest of the run',
    );
    // Whatever else might arrive late would show here: give the stream the chance of a few more messages.
    await second.until(() => second.messages.some((m) => m.event === 'ready'), 'ready after the replay');
    const all = [...seenFirst, ...second.events().filter((e) => e.n >= firstRun)].map((e) => e.n);
    expect(all.length).toBe(50);
    expect(new Set(all).size).toBe(50);
    expect(Math.min(...all)).toBe(firstRun);
    expect(Math.max(...all)).toBe(firstRun + 49);
    expect(second.messages.some((m) => m.event === 'resync')).toBe(false);
    second.close();
  }

  it('gives a client that drops out in the middle of a run of 50 every event exactly once when it comes back (from memory)', async () => {
    await disconnectMidRun(gw, 1000);
  });

  it('does the same from the outbox, on another gateway instance that keeps no history', async () => {
    const other = await startGateway(db, { services: [], env: { GATEWAY_SSE_HISTORY: '0' } });
    try {
      await disconnectMidRun(other, 2000);
    } finally {
      await other.stop();
    }
  });

  it('reads no event while no client is connected, and a client coming back after that gets what it missed from the outbox', async () => {
    const metricsToken = `metrics-token-${'e'.repeat(32)}`;
    const quiet = await startGateway(db, {
      services: [],
      env: { GATEWAY_SSE_IDLE_MS: '200', LLMOPS_METRICS_TOKEN: metricsToken },
    });
    /** The gateway's llmops_sse_reading gauge: 1 while it reads the bus for its streams. */
    const reading = async () => {
      const text = await (await fetch(`${quiet.url}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } })).text();
      return Number(/^llmops_sse_reading(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1]);
    };
    const untilReading = async (wanted: number, what: string) => {
      for (let tries = 0; (await reading()) !== wanted; tries++) {
        if (tries >= 100) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    try {
      await run(5000, 2);
      expect(await reading()).toBe(0);
      const first = await SseClient.open(`${quiet.url}/api/v1/events?topic=runner.task.`, auth);
      await first.ready();
      expect(await reading()).toBe(1);
      await run(5010, 1);
      await first.until(() => first.events().some((e) => e.n === 5010), 'a live event');
      const lastId = first.lastEventId as string;
      first.close();
      await untilReading(0, 'the gateway to stop reading once its last client left');
      await run(5020, 3);
      const second = await SseClient.open(`${quiet.url}/api/v1/events?topic=runner.task.`, { ...auth, 'last-event-id': lastId });
      await second.until(() => second.messages.some((m) => m.event === 'ready'), 'ready after the replay');
      await run(5030, 1);
      await second.until(() => second.events().some((e) => e.n === 5030), 'a live event after the replay');
      expect(second.events().map((e) => e.n)).toEqual([5020, 5021, 5022, 5030]);
      expect(first.events().map((e) => e.n)).toEqual([5010]);
      second.close();
    } finally {
      await quiet.stop();
    }
  });

  it('tells a client whose position is older than retention to resync, then goes on live', async () => {
    await withClient(db.adminUrl, (client) =>
      // As retention would: every event up to the newest one so far is gone.
      client.query(
        `UPDATE bus.retention_horizon h SET txid = o.txid, id = o.id
         FROM (SELECT txid, id FROM bus.outbox ORDER BY txid DESC, id DESC LIMIT 1) o`,
      ),
    );
    try {
      const client = await SseClient.open(`${gw.url}/api/v1/events`, { ...auth, 'last-event-id': '1-1' });
      await client.until(() => client.messages.some((m) => m.event === 'resync'), 'resync');
      const resync = client.messages.find((m) => m.event === 'resync') as SseMessage;
      expect(resync.id).toMatch(/^\d+-\d+$/);
      await run(3000, 1);
      await client.until(() => client.events().some((e) => e.n === 3000), 'a live event after resync');
      client.close();
    } finally {
      await withClient(db.adminUrl, (client) => client.query(`UPDATE bus.retention_horizon SET txid = '0', id = 0`));
    }
  });

  it('tells a client whose Last-Event-ID is ahead of every event (a restored database) to resync, then goes on live', async () => {
    const first = await SseClient.open(`${gw.url}/api/v1/events`, auth);
    await first.until(() => first.messages.some((m) => m.event === 'ready'), 'ready');
    const now = first.lastEventId as string;
    first.close();
    // Coming back with the position the stream started at is no reason to resync: nothing was missed.
    const same = await SseClient.open(`${gw.url}/api/v1/events`, { ...auth, 'last-event-id': now });
    await same.until(() => same.messages.some((m) => m.event === 'ready'), 'ready on resuming from the start position');
    expect(same.messages.map((m) => m.event)).toEqual(['ready']);
    same.close();

    // A position no transaction of this database has reached: events it gives out from now on are all "before" it.
    const ahead = `${BigInt(now.split('-')[0] as string) + 1_000_000n}-1`;
    const client = await SseClient.open(`${gw.url}/api/v1/events`, { ...auth, 'last-event-id': ahead });
    await client.until(() => client.messages.some((m) => m.event === 'resync'), 'resync for a position ahead of the bus');
    const resync = client.messages.find((m) => m.event === 'resync') as SseMessage;
    expect((JSON.parse(resync.data) as { reason: string }).reason).toMatch(/ahead/);
    expect(resync.id).not.toBe(ahead);
    await run(3100, 1);
    await client.until(() => client.events().some((e) => e.n === 3100), 'a live event after resync');
    client.close();
  });

  it('answers a Last-Event-ID that is not a position with resync, however long: EventSource cannot read an error', async () => {
    for (const id of ['not-a-position', `${'9'.repeat(30)}-${'x'.repeat(300)}`]) {
      const client = await SseClient.open(`${gw.url}/api/v1/events`, { ...auth, 'last-event-id': id });
      expect(client.status).toBe(200);
      await client.until(() => client.messages.some((m) => m.event === 'resync'), `resync for ${id.slice(0, 20)}…`);
      client.close();
    }
  });

  it('serves 500 concurrent clients on one instance, every one gets the event, over one LISTEN connection', async () => {
    const clients = await Promise.all(
      Array.from({ length: 500 }, () => SseClient.open(`${gw.url}/api/v1/events?task_id=${taskId(4000)}`, auth)),
    );
    try {
      for (const c of clients) await c.until(() => c.messages.some((m) => m.event === 'ready'), 'ready');
      await run(4000, 1);
      for (const c of clients) await c.until(() => c.events().some((e) => e.n === 4000), 'the event');
      expect(clients.every((c) => c.events().length === 1)).toBe(true);
      const listeners = await withClient(db.adminUrl, async (client) =>
        Number(
          (
            await client.query<{ n: string }>(
              `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'llmops-gateway-bus'`,
            )
          ).rows[0]?.n,
        ),
      );
      expect(listeners).toBe(1);
    } finally {
      for (const c of clients) c.close();
    }
  });

  it('ends every stream at once when the gateway shuts down, so a restart does not wait for its clients', async () => {
    const leaving = await startGateway(db, { services: [] });
    const clients = await Promise.all([1, 2, 3].map(() => SseClient.open(`${leaving.url}/api/v1/events`, auth)));
    for (const c of clients) await c.ready();
    const started = performance.now();
    await leaving.stop();
    // Without ending them first, closing the HTTP server waits 5 s before it cuts open streams.
    expect(performance.now() - started).toBeLessThan(2_000);
    for (const c of clients) await c.until(() => c.ended, 'the end of the stream');
  });

  it('drops a client that does not read, and the others keep getting events', async () => {
    const small = await startGateway(db, { services: [], env: { GATEWAY_SSE_MAX_BACKLOG_BYTES: '65536' } });
    try {
      // A client that never reads: its socket buffers fill, then its backlog passes the limit.
      const stalled = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = request(`${small.url}/api/v1/events`, { headers: auth }, resolve);
        req.on('error', reject);
        req.end();
      });
      stalled.pause();
      const reader = await SseClient.open(`${small.url}/api/v1/events`, auth);
      await reader.until(() => reader.messages.some((m) => m.event === 'ready'), 'ready');
      // 20 MB of events: more than loopback socket buffers and the backlog limit together hold.
      const big = 'x'.repeat(4000);
      const rounds = 10;
      for (let round = 0; round < rounds; round++) {
        const client = await admin.connect();
        try {
          await client.query('BEGIN');
          await publishMany(
            client,
            Array.from({ length: 500 }, (_, i) => queued(10_000 + round * 500 + i, { correlation: { pad: big } })),
          );
          await client.query('COMMIT');
        } finally {
          client.release();
        }
        await ring();
        await reader.until(
          () => reader.events().filter((e) => e.n >= 10_000).length >= (round + 1) * 500,
          'the reader keeps up',
          30_000,
        );
      }
      expect(reader.ended).toBe(false);
      reader.close();
      // Now read what the stalled client had been sent: the gateway ended its stream part-way.
      let received = 0;
      const ended = new Promise<void>((resolve) => {
        stalled.on('data', (chunk: Buffer) => (received += chunk.length));
        stalled.once('end', () => resolve());
        stalled.once('error', () => resolve());
        stalled.once('close', () => resolve());
      });
      stalled.resume();
      await ended;
      expect(received).toBeLessThan(rounds * 500 * 4000);
    } finally {
      await small.stop();
    }
  }, 120_000);
});
