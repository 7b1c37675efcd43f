// 5b. The gateway under sustained load (issue 10): 200 connections reading one task through the gateway
// for 60 s, five times, in bursts and lulls. Every answer must be a 200: no 502 from a reused connection
// a service had just closed (kit's http/upstream.ts). `npm run bench -- gateway load`;
// BENCH_GATEWAY_LOAD_RUNS and BENCH_GATEWAY_LOAD_SECONDS shorten it for a try.
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';
import { startEmulator } from '@llmops/emulator/server';
import { startStack, type Stack } from '@llmops/kit/testing/stack';
import {
  apiToken,
  emulatedModel,
  exactly,
  expectJson,
  fmt,
  percentile,
  sized,
  sleep,
  type BenchServer,
  type ResultRow,
} from './lib.ts';

const CONNECTIONS = 200;
/** Runs and their length: 5 × 60 s, 1 × 10 s in a quick run; the environment overrides either. */
const SIZE = {
  get runs() {
    return Number(process.env.BENCH_GATEWAY_LOAD_RUNS ?? sized(5, 1));
  },
  get seconds() {
    return Number(process.env.BENCH_GATEWAY_LOAD_SECONDS ?? sized(60, 10));
  },
};
/** Between runs the connections rest, as between the acceptance probe's runs: idle sockets age. */
const PAUSE_MS = 6_000;
/**
 * Traffic comes in bursts (every connection reading) and lulls (only a few): in a lull the other
 * connections, and the gateway's connections to the runner that served them, sit idle for 1–8 s, so
 * bursts start on connections of every idle age, across the services' keep-alive time.
 */
const BURST_MS = 3_000;
const LULL_MS = [1_000, 8_000] as const;
const LULL_CONNECTIONS = 20;

/** A small seeded generator (mulberry32): the same lulls for the same run number, run after run. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Run {
  requests: number;
  statuses: Map<number, number>;
  socketErrors: number;
  latencies: number[];
  seconds: number;
}

/** One run: every connection sends its next read as soon as the last one ended (in a lull, only a few do). */
async function run(url: string, token: string, agent: Agent, seed: number): Promise<Run> {
  const result: Run = { requests: 0, statuses: new Map(), socketErrors: 0, latencies: [], seconds: SIZE.seconds };
  const deadline = performance.now() + SIZE.seconds * 1000;
  const one = () =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      const req = request(url, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        res.once('end', () => {
          result.requests += 1;
          const status = res.statusCode ?? 0;
          result.statuses.set(status, (result.statuses.get(status) ?? 0) + 1);
          // Every 10th sample is plenty for percentiles and keeps the array small.
          if (result.requests % 10 === 0) result.latencies.push(performance.now() - started);
          resolve();
        });
      });
      req.once('error', () => {
        result.requests += 1;
        result.socketErrors += 1;
        resolve();
      });
      req.end();
    });
  let lull: Promise<void> | undefined;
  // Bursts and lulls until the deadline, cut at it: the run ends when its connections stop, not after a lull past it.
  const untilDeadline = (ms: number) => sleep(Math.max(0, Math.min(ms, deadline - performance.now())));
  const phases = (async () => {
    const next = random(seed);
    while (performance.now() < deadline) {
      await untilDeadline(BURST_MS);
      let endLull!: () => void;
      lull = new Promise((resolve) => (endLull = resolve));
      await untilDeadline(LULL_MS[0] + next() * (LULL_MS[1] - LULL_MS[0]));
      lull = undefined;
      endLull();
    }
  })();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async (_, i) => {
      while (performance.now() < deadline) {
        if (i >= LULL_CONNECTIONS && lull) await lull;
        await one();
      }
    }),
  );
  await phases;
  return result;
}

export async function sustainedReads(server: BenchServer): Promise<{ rows: string[][]; figures: ResultRow[]; notes: string[] }> {
  const db = await server.busDatabase();
  const emulator = await startEmulator();
  const stacks: Stack[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  try {
    // Services as processes, logging as `npm start` runs them (info: a line per request).
    const base = await startStack({
      db,
      services: ['registry', 'prompt', 'runner'],
      mode: 'process',
    });
    stacks.push(base);
    const gateway = await startStack({
      db,
      services: ['gateway'],
      mode: 'process',
      env: {
        LLMOPS_INTERNAL_SECRET: base.secret,
        REGISTRY_URL: base.urls.registry as string,
        PROMPT_URL: base.urls.prompt as string,
        RUNNER_URL: base.urls.runner as string,
        GATEWAY_RATE_LIMIT_TOKEN: '0',
        GATEWAY_RATE_LIMIT_ACCOUNT: '0',
      },
    });
    stacks.push(gateway);
    let retries = 0;
    const gatewayOut = gateway.services.get('gateway')?.process?.stdout;
    if (gatewayOut)
      createInterface({ input: gatewayOut }).on('line', (line) => {
        if (line.includes('sent again on a new one')) retries += 1;
      });

    const model = await emulatedModel(base, emulator);
    const created = await expectJson<{ tasks: { id: string }[] }>(
      await base.call('runner', '/api/v1/tasks', {
        method: 'POST',
        body: JSON.stringify({ model_id: model.id, messages: [{ role: 'user', content: 'One headline, please.' }] }),
      }),
      201,
      'POST /api/v1/tasks',
    );
    const taskId = created.tasks[0]?.id as string;
    const token = await apiToken(db.adminUrl, 'viewer', 'bench load');

    const url = `${gateway.urls.gateway as string}/api/v1/tasks/${taskId}`;
    const runs: Run[] = [];
    for (let i = 0; i < SIZE.runs; i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
      runs.push(await run(url, token, agent, i + 1));
    }
    const failed = (r: Run) =>
      r.socketErrors + [...r.statuses].filter(([status]) => status !== 200).reduce((n, [, c]) => n + c, 0);
    const rows = runs.map((r, i) => [
      `run ${i + 1}`,
      String(r.requests),
      fmt(r.requests / r.seconds, 0),
      fmt(percentile(r.latencies, 50), 1),
      fmt(percentile(r.latencies, 99), 1),
      String(r.statuses.get(502) ?? 0),
      String(failed(r)),
    ]);
    const errors = runs.reduce((n, r) => n + failed(r), 0);
    return {
      rows: [['GET /tasks/{id} × 200 connections', 'requests', 'req/s', 'p50 ms', 'p99 ms', '502', 'not 200'], ...rows],
      figures: [exactly(`5b. answers other than 200 in ${SIZE.runs} runs of ${SIZE.seconds} s`, errors, 0, 'answer(s)')],
      notes: [
        `Sustained reads: ${CONNECTIONS} keep-alive connections to the gateway (a process, as the registry, prompt and runner`,
        `services), each sending GET /api/v1/tasks/{id} again as soon as its answer ended, ${SIZE.runs} runs of ${SIZE.seconds} s,`,
        `${PAUSE_MS / 1000} s apart; bursts of ${BURST_MS / 1000} s with every connection, lulls of ${LULL_MS[0] / 1000}–${LULL_MS[1] / 1000} s`,
        `(seeded) with only ${LULL_CONNECTIONS}. The gateway sent ${retries} request(s) again after a reset of a reused connection.`,
      ],
    };
  } finally {
    agent.destroy();
    for (const stack of stacks.reverse()) await stack.stop().catch(() => undefined);
    await emulator.stop();
  }
}
