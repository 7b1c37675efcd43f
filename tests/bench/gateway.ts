// 5. The gateway (issue 6): its overhead on a cheap read, and SSE fan-out latency at 100 and 1,000
// subscribers over one LISTEN connection; and (issue 10, gateway-load.ts) 200 connections reading a task
// for 5 × 60 s with no error. `npm run bench -- gateway [overhead] [load]` (or `npm run bench:gateway -- …`).
import { createRoute, z } from '@hono/zod-openapi';
import { request, Agent, type IncomingMessage } from 'node:http';
import { createInternalApp } from '@llmops/kit/http/app';
import { IDENTITY_HEADER, signIdentity } from '@llmops/kit/http/identity';
import { envelope, publishMany } from '@llmops/kit/bus/index';
import { taskQueued } from '@llmops/kit/events/runner';
import { createPool, withClient, withTransaction } from '@llmops/kit/db';
import type { PublicRoute } from '@llmops/kit/contracts/index';
import { runService, type RunningService } from '@llmops/kit/runtime';
import type { TestDatabase } from '@llmops/kit/testing/database';
import { gatewayBuilder } from '@llmops/gateway/main';
import { serve } from '@hono/node-server';
import {
  apiToken,
  atMost,
  benchLogger,
  exactly,
  fmt,
  percentile,
  resultRow,
  sized,
  type BenchResult,
  type BenchServer,
  type ResultRow,
} from './lib.ts';
import { sustainedReads } from './gateway-load.ts';

const SECRET = 'bench-internal-secret-0123456789abcdef-0123456789';
/** Interleaved rounds of the proxied read, and events per SSE fan-out (fewer in a quick run). */
const SIZE = {
  get rounds() {
    return sized(20, 5);
  },
  get events() {
    return sized(40, 15);
  },
};
const PER_ROUND = 100;

/** A task event as the runner publishes it (the stream shows only public topics): `priority` numbers it, its correlation carries when it was sent. */
const benchEvent = (n: number, sentAt: number) =>
  envelope(taskQueued, {
    task_id: '00000000-0000-4000-8000-000000000b0c',
    group_id: null,
    correlation: { sent_at: sentAt },
    requester: 'account:bench',
    model_id: null,
    provider_id: null,
    attempt: 0,
    at: new Date().toISOString(),
    kind: 'chat',
    priority: n,
    template_id: null,
    template_version: null,
    retry_of: null,
  });

const itemRoute = createRoute({
  method: 'get',
  path: '/api/v1/bench-items',
  operationId: 'listBenchItems',
  summary: 'A cheap read',
  responses: {
    200: { description: 'ok', content: { 'application/json': { schema: z.object({ items: z.array(z.string()) }) } } },
  },
});
const benchRoutes: PublicRoute[] = [{ route: itemRoute, service: 'prompt', role: 'viewer', scope: 'prompts:read' }];

/** A service as the real ones are built (identity guard, problem+json, request logs off) with one cheap read. */
async function startService(): Promise<{ url: string; stop: () => Promise<void> }> {
  const app = createInternalApp({
    service: 'prompt',
    log: benchLogger('bench-service'),
    internalSecret: SECRET,
    readiness: {},
    routes: benchRoutes,
  });
  app.openapi(itemRoute, (c) => c.json({ items: ['a', 'b', 'c'] }, 200));
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) =>
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        stop: () => new Promise<void>((done) => server.close(() => done())),
      }),
    );
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function get(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = request(url, { headers, agent }, (res: IncomingMessage) => {
      res.resume();
      res.on('end', () =>
        res.statusCode === 200 ? resolve(performance.now() - started) : reject(new Error(`status ${res.statusCode}`)),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** `count` requests at `concurrency`, their latencies. */
async function load(
  url: string,
  headers: () => Promise<Record<string, string>> | Record<string, string>,
  count: number,
  concurrency: number,
): Promise<number[]> {
  const samples: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next += 1;
        samples.push(await get(url, await headers()));
      }
    }),
  );
  return samples;
}

async function overhead(
  gateway: RunningService,
  serviceUrl: string,
  token: string,
): Promise<{ rows: string[][]; verdicts: ResultRow[] }> {
  const rows: string[][] = [];
  const verdicts: ResultRow[] = [];
  const identity = {
    kind: 'account' as const,
    subject: 'bench',
    role: 'viewer' as const,
    scopes: ['prompts:read'],
    requestId: 'bench',
  };
  const direct = async () => ({ [IDENTITY_HEADER]: await signIdentity(SECRET, identity, 'prompt') });
  const through = () => ({ authorization: `Bearer ${token}` });
  for (const concurrency of [1, 16]) {
    // Warm both paths (JIT, keep-alive sockets, the token cache), then interleave rounds.
    await load(`${serviceUrl}/api/v1/bench-items`, direct, 200, concurrency);
    await load(`${gateway.url}/api/v1/bench-items`, through, 200, concurrency);
    const a: number[] = [];
    const b: number[] = [];
    for (let round = 0; round < SIZE.rounds; round++) {
      a.push(...(await load(`${serviceUrl}/api/v1/bench-items`, direct, PER_ROUND, concurrency)));
      b.push(...(await load(`${gateway.url}/api/v1/bench-items`, through, PER_ROUND, concurrency)));
    }
    const p50 = percentile(b, 50) - percentile(a, 50);
    const p99 = percentile(b, 99) - percentile(a, 99);
    rows.push([
      `concurrency ${concurrency}`,
      fmt(percentile(a, 50), 2),
      fmt(percentile(b, 50), 2),
      fmt(p50, 2),
      fmt(percentile(a, 99), 2),
      fmt(percentile(b, 99), 2),
      fmt(p99, 2),
    ]);
    // The target is the overhead: the gateway's figure at most a few ms above the direct read's.
    const added = (figure: string, p: 50 | 99, bound: number) =>
      resultRow(
        figure,
        percentile(b, p),
        'ms',
        { name: 'the service read directly', value: percentile(a, p) },
        `≤ anchor + ${bound} ms`,
        percentile(b, p) - percentile(a, p) <= bound,
      );
    if (concurrency === 1) {
      verdicts.push(added('5. a read through the gateway p50, concurrency 1', 50, 1));
      verdicts.push(added('5. a read through the gateway p99, concurrency 1', 99, 3));
    } else {
      verdicts.push(added('5. a read through the gateway p50, concurrency 16', 50, 3));
    }
  }
  return { rows, verdicts };
}

/** Opens `n` event streams and resolves each arrival of a `runner.task.queued` event with its latency. */
async function subscribers(
  gatewayUrl: string,
  token: string,
  n: number,
  onEvent: (n: number, latencyMs: number) => void,
): Promise<() => void> {
  const sockets: IncomingMessage[] = [];
  const streamAgent = new Agent({ keepAlive: false, maxSockets: Infinity });
  await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<void>((resolve, reject) => {
          const req = request(
            `${gatewayUrl}/api/v1/events?topic=runner.task.queued`,
            { headers: { authorization: `Bearer ${token}` }, agent: streamAgent },
            (res) => {
              sockets.push(res);
              let buffer = '';
              let ready = false;
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => {
                buffer += chunk;
                let end: number;
                while ((end = buffer.indexOf('\n\n')) >= 0) {
                  const block = buffer.slice(0, end);
                  buffer = buffer.slice(end + 2);
                  if (!ready && block.includes('event: ready')) {
                    ready = true;
                    resolve();
                  }
                  const data = /^data: (.*)$/m.exec(block)?.[1];
                  if (block.includes('event: runner.task.queued') && data) {
                    const payload = (JSON.parse(data) as { payload: { priority: number; correlation: { sent_at: number } } })
                      .payload;
                    onEvent(payload.priority, performance.timeOrigin + performance.now() - payload.correlation.sent_at);
                  }
                }
              });
            },
          );
          req.on('error', reject);
          req.end();
        }),
    ),
  );
  return () => {
    for (const socket of sockets) socket.destroy();
    streamAgent.destroy();
  };
}

async function fanOut(
  db: TestDatabase,
  gateway: RunningService,
  token: string,
  counts: number[],
): Promise<{ rows: string[][]; verdicts: ResultRow[]; listens: number }> {
  const rows: string[][] = [];
  const verdicts: ResultRow[] = [];
  const publisher = createPool({ connectionString: db.adminUrl, applicationName: 'bench-publisher', max: 2 });
  let listens = -1;
  try {
    for (const n of counts) {
      const seen = new Map<number, number[]>();
      let waiting: (() => void) | undefined;
      const close = await subscribers(gateway.url, token, n, (event, latency) => {
        const list = seen.get(event) ?? [];
        list.push(latency);
        seen.set(event, list);
        if (list.length === n) waiting?.();
      });
      try {
        listens = await withClient(db.adminUrl, async (client) =>
          Number(
            (
              await client.query<{ n: string }>(
                `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'llmops-gateway-bus'`,
              )
            ).rows[0]?.n,
          ),
        );
        const samples: number[] = [];
        const events = SIZE.events;
        for (let i = 0; i < events; i++) {
          const all = new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`event ${i} did not reach all ${n} subscribers in 10 s`)), 10_000);
            waiting = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          // As a service publishes: through withTransaction, whose publish rings the doorbell for the waiting
          // SSE reader (a transaction committed by hand rings nothing, and the reader's sweep finds the event
          // up to a second later). The clock starts just before COMMIT (the insert is the only statement before it).
          await withTransaction(publisher, (tx) => publishMany(tx, [benchEvent(i, performance.timeOrigin + performance.now())]));
          await all;
          if (i >= 5) samples.push(...(seen.get(i) ?? [])); // the first few warm the path
        }
        rows.push([`${n} subscribers`, fmt(percentile(samples, 50), 1), fmt(percentile(samples, 99), 1), String(samples.length)]);
        verdicts.push(atMost(`5. SSE commit → every subscriber p99 at ${n}`, percentile(samples, 99), n >= 1000 ? 45 : 12, 'ms'));
      } finally {
        close();
      }
    }
  } finally {
    await publisher.end();
  }
  return { rows, verdicts, listens };
}

export const GATEWAY_PARTS = ['overhead', 'load'] as const;

/** `parts`: 'overhead' (the proxied read and SSE fan-out) and 'load' (sustained reads); both by default. */
export async function gatewayBench(server: BenchServer, parts: readonly string[] = GATEWAY_PARTS): Promise<BenchResult> {
  const load = parts.includes('load') ? await sustainedReads(server) : undefined;
  if (!parts.includes('overhead') && load) {
    return {
      title: 'Gateway: sustained reads through the gateway',
      method: load.notes,
      table: load.rows,
      figures: load.figures,
      notes: [],
    };
  }
  const db = await server.busDatabase();
  const service = await startService();
  const env = {
    DATABASE_URL: db.urlFor('gateway'),
    LLMOPS_INTERNAL_SECRET: SECRET,
    LLMOPS_HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    PROMPT_URL: service.url,
    GATEWAY_RATE_LIMIT_TOKEN: '0',
    GATEWAY_RATE_LIMIT_ACCOUNT: '0',
  };
  const gateway = await runService('gateway', gatewayBuilder(env, { routes: benchRoutes }), { env, log: benchLogger('gateway') });
  try {
    const secret = await apiToken(db.adminUrl, 'viewer', 'bench');
    const read = await overhead(gateway, service.url, secret);
    const sse = await fanOut(db, gateway, secret, [100, 1000]);
    return {
      title: 'Gateway: overhead of a proxied read, SSE fan-out',
      method: [
        'A cheap authenticated read (a real service app with the identity guard) straight from the service with a',
        `signed identity vs through the gateway with an API token; ${SIZE.rounds} interleaved rounds of ${PER_ROUND} per path,`,
        `node:http keep-alive clients. SSE: N streams open on one gateway instance (in this process); each of ${SIZE.events} events`,
        'carries the wall time of its insert, just before COMMIT; latency = arrival at a subscriber minus that (first 5 warm up).',
      ],
      table: [
        ['read (ms)', 'direct p50', 'gateway p50', '+p50', 'direct p99', 'gateway p99', '+p99'],
        ...read.rows,
        [],
        ['SSE (ms)', 'p50', 'p99', 'samples'],
        ...sse.rows,
        [],
        ...(load?.rows ?? []),
      ].filter((row) => row.length > 0),
      figures: [
        ...read.verdicts,
        ...sse.verdicts,
        exactly('5. LISTEN connections of the gateway with 1,000 SSE clients', sse.listens, 1, 'connection(s)'),
        ...(load?.figures ?? []),
      ],
      notes: [
        'Subscribers run in the same process as the gateway, so their parsing competes with its fan-out for the same cores.',
        ...(load?.notes ?? []),
      ],
    };
  } finally {
    await gateway.stop('bench done');
    await service.stop();
    agent.destroy();
  }
}
