// Issue 14, "hops": the CPU each service process spends per request on the HTTP hops of the create path
// (client → gateway → runner → prompt service), read from /proc/<pid>/stat around a fixed number of
// requests, so the figure does not depend on how loaded the machine is. `npm run bench -- hops`
// (only when asked); `BENCH_CPU_PROF=1` adds where each process spent its CPU.
import { mkdtempSync, readdirSync } from 'node:fs';
import { Agent } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool, withClient } from '@llmops/kit/db';
import { createIdentitySigner, IDENTITY_HEADER, ON_BEHALF_OF_HEADER } from '@llmops/kit/http/identity';
import { startStack, type Stack } from '@llmops/kit/testing/stack';
import { startEmulator } from '@llmops/emulator/server';
import {
  apiToken,
  emulatedModel,
  fmt,
  headlineTemplate,
  send,
  sized,
  withCpu,
  type Sent,
  type BenchResult,
  type BenchServer,
} from './lib.ts';
import { clusterSeconds, cpuSeconds, statFields } from './proc.ts';
import { summarizeProfile } from './profile.ts';

const HOPS = {
  /** Requests per kind per round; the kinds alternate within a round, the rounds repeat them. */
  get requests() {
    return Number(process.env.BENCH_HOPS_REQUESTS ?? sized(2_000, 300));
  },
  get rounds() {
    return Number(process.env.BENCH_HOPS_ROUNDS ?? sized(3, 1));
  },
  /** Requests in flight at once (6.2 has 4 producers). */
  concurrency: 4,
  warmup: 1_000,
};

const PROFILES = process.env.BENCH_CPU_PROF ? mkdtempSync(join(tmpdir(), 'llmops-bench-hops-prof-')) : undefined;
const SUMMARY = 'A short post about how the newsroom plans its week, with notes on deadlines and the morning meeting.';

// ---- the requests ----

/** `count` requests, `HOPS.concurrency` at a time; each must answer `expected`. */
async function fire(count: number, one: (n: number) => Promise<Sent>, expected: number, what: string): Promise<void> {
  let next = 0;
  const loop = async () => {
    while (next < count) {
      const n = next++;
      const answer = await one(n);
      if (answer.status !== expected) throw new Error(`${what}: ${answer.status} ${answer.text.slice(0, 500)}`);
    }
  };
  await Promise.all(Array.from({ length: HOPS.concurrency }, loop));
}

interface Kind {
  name: string;
  description: string;
  /** Sends request `n` and resolves with its answer. */
  one(n: number): Promise<Sent>;
  expected: number;
  /** Waits, inside the measured window, for what the requests set going (the tasks they created) to end. */
  settle?(): Promise<void>;
}

/** A stack of the create path as 6.2 runs it: every service its own process, an API token, a published template. */
async function startHops(server: BenchServer) {
  const db = await server.busDatabase();
  const emulator = await startEmulator();
  const flags = [process.env.NODE_OPTIONS ?? '', ...(PROFILES ? ['--cpu-prof', `--cpu-prof-dir=${PROFILES}`] : [])];
  const nodeOptions = flags.filter(Boolean).join(' ');
  let stack: Stack;
  try {
    stack = await startStack({
      db,
      services: ['registry', 'prompt', 'runner', 'gateway'],
      mode: 'process',
      env: {
        GATEWAY_RATE_LIMIT_TOKEN: '0',
        GATEWAY_RATE_LIMIT_ACCOUNT: '0',
        ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
        ...(process.env.BENCH_HOPS_LOG_LEVEL ? { LOG_LEVEL: process.env.BENCH_HOPS_LOG_LEVEL } : {}),
      },
    });
  } catch (error) {
    await emulator.stop();
    throw error;
  }
  const model = await emulatedModel(stack, emulator);
  const template = await headlineTemplate(stack, model.id);
  const token = await apiToken(db.adminUrl, 'editor', 'bench hops');
  const backend = await withClient(db.adminUrl, async (client) => {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    return statFields(rows[0]?.pid ?? -1);
  });
  const admin = createPool({ connectionString: db.adminUrl, applicationName: 'bench-hops-admin', max: 1 });
  return {
    stack,
    emulator,
    admin,
    template: template.id,
    token,
    postmaster: backend ? Number(backend[1]) : undefined,
    adminUrl: db.adminUrl,
    stop: async () => {
      await admin.end();
      await stack.stop();
      await emulator.stop();
    },
  };
}

export async function hopsBench(server: BenchServer): Promise<BenchResult> {
  const rig = await startHops(server);
  const agent = new Agent({ keepAlive: true, maxSockets: HOPS.concurrency });
  const signer = createIdentitySigner(rig.stack.secret);
  const gateway = rig.stack.urls.gateway as string;
  const prompt = rig.stack.urls.prompt as string;
  const pids: Array<[string, number | undefined]> = (['gateway', 'runner', 'prompt', 'registry'] as const).map((name) => [
    name,
    rig.stack.services.get(name)?.process?.pid,
  ]);
  const bearer = { authorization: `Bearer ${rig.token}` };
  const json = { 'content-type': 'application/json' };
  const inputs = (n: number) => ({ post: { title: `Post number ${n}`, summary: SUMMARY } });
  const createOne = (n: number) =>
    send(
      agent,
      `${gateway}/api/v1/tasks`,
      'POST',
      { ...bearer, ...json },
      JSON.stringify({ template_id: rig.template, inputs: inputs(n), correlation: { bench: 'hops', n } }),
    );
  const waitIdle = async () => {
    const deadline = performance.now() + 120_000;
    for (;;) {
      const { rows } = await rig.admin.query<{ busy: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM runner.tasks WHERE status IN ('queued', 'running')) AS busy`,
      );
      if (!rows[0]?.busy) return;
      if (performance.now() > deadline) throw new Error('the created tasks did not end within 120 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  try {
    const seed = await createOne(-1);
    if (seed.status !== 201) throw new Error(`POST /api/v1/tasks: ${seed.status} ${seed.text}`);
    const taskId = (JSON.parse(seed.text) as { tasks: Array<{ id: string }> }).tasks[0]?.id as string;
    const { rows: accounts } = await rig.admin.query<{ id: string }>(
      `SELECT id FROM gateway.accounts WHERE email = 'bench-hops@example.com'`,
    );
    const accountId = accounts[0]?.id;
    const kinds: Kind[] = [
      {
        name: 'render',
        description: 'POST /internal/render straight to the prompt service, as the runner sends it (a service identity)',
        expected: 200,
        one: async (n) =>
          send(
            agent,
            `${prompt}/internal/render`,
            'POST',
            {
              ...json,
              [IDENTITY_HEADER]: await signer.sign({ kind: 'service', subject: 'runner' }, 'prompt'),
              'x-request-id': `bench-hops-render-${n}`,
              [ON_BEHALF_OF_HEADER]: `account:${accountId}`,
            },
            JSON.stringify({ template_id: rig.template, latest: true, inputs: inputs(n) }),
          ),
      },
      {
        name: 'read',
        description: 'GET /api/v1/tasks/{id} through the gateway (an API token): gateway → runner, one row read',
        expected: 200,
        one: () => send(agent, `${gateway}/api/v1/tasks/${taskId}`, 'GET', bearer),
      },
      {
        name: 'create',
        description:
          'POST /api/v1/tasks through the gateway: gateway → runner → prompt, then the task runs on the emulator (waited for in the window)',
        expected: 201,
        one: createOne,
        settle: waitIdle,
      },
    ];

    for (const kind of kinds) {
      await fire(HOPS.warmup, kind.one, kind.expected, kind.name);
      await kind.settle?.();
    }

    const names = [...pids.map(([name]) => name), 'postgres', 'bench'];
    const kept = [...names, ...pids.map(([name]) => `${name} system`)];
    const perRequest = new Map<string, Map<string, number[]>>(kinds.map((k) => [k.name, new Map(kept.map((n) => [n, []]))]));
    const wall = new Map<string, number[]>(kinds.map((k) => [k.name, []]));
    for (let round = 0; round < HOPS.rounds; round++) {
      for (const kind of kinds) {
        const read = () => {
          const values = new Map<string, number>();
          for (const [name, pid] of pids) {
            values.set(name, pid === undefined ? Number.NaN : cpuSeconds(pid) * 1e6);
            values.set(`${name} system`, pid === undefined ? Number.NaN : cpuSeconds(pid, { system: true }) * 1e6);
          }
          values.set('postgres', rig.postmaster === undefined ? Number.NaN : clusterSeconds(rig.postmaster) * 1e6);
          return values;
        };
        const before = read();
        const { wallMs, cpu } = await withCpu(async () => {
          await fire(HOPS.requests, kind.one, kind.expected, kind.name);
          await kind.settle?.();
        });
        const after = read();
        const figures = perRequest.get(kind.name) as Map<string, number[]>;
        for (const [name, value] of after) figures.get(name)?.push((value - (before.get(name) ?? 0)) / HOPS.requests);
        figures.get('bench')?.push((cpu * wallMs * 1_000) / HOPS.requests);
        wall.get(kind.name)?.push(wallMs);
      }
    }

    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] as number;
    const table = [
      ['CPU µs per request (median of rounds)', ...names, 'requests/s'],
      ...kinds.map((kind) => {
        const figures = perRequest.get(kind.name) as Map<string, number[]>;
        const rate = (HOPS.requests * 1_000) / median(wall.get(kind.name) as number[]);
        return [kind.name, ...names.map((name) => fmt(median(figures.get(name) as number[]), 0)), fmt(rate, 0)];
      }),
    ];
    const rounds = kinds.map((kind) => {
      const figures = perRequest.get(kind.name) as Map<string, number[]>;
      const each = names
        .slice(0, 3)
        .map((name) => `${name} ${(figures.get(name) as number[]).map((x) => fmt(x, 0)).join('/')}`)
        .join(', ');
      const system = names
        .slice(0, 3)
        .map((name) => `${name} ${fmt(median(figures.get(`${name} system`) as number[]), 0)}`)
        .join(', ');
      return `${kind.name}, each round: ${each}; of which system (kernel) time, median: ${system}`;
    });
    await rig.stop();
    const profiles = PROFILES ? profileNotes(PROFILES, pids) : [];
    return {
      title: 'Hops: CPU per request in each service on the create path (issue 14)',
      method: [
        `${HOPS.rounds} rounds of ${HOPS.requests} requests of each kind (after ${HOPS.warmup} warm-up ones), ${HOPS.concurrency} in flight,`,
        'the kinds alternated within each round; every service its own process as in 6.2 (request logs at info, read by the bench).',
        "Each process's CPU (user + system, /proc/<pid>/stat) over the kind's window ÷ requests: independent of the machine's load",
        '(a loaded machine shows in requests/s, not in these figures, within the ±10 ms tick of each reading).',
        ...kinds.map((kind) => `${kind.name}: ${kind.description}.`),
      ],
      table,
      notes: [
        ...rounds,
        `load average at the end: ${loadavg()
          .map((x) => x.toFixed(2))
          .join(' / ')}`,
        ...profiles,
      ],
      figures: [],
    };
  } catch (error) {
    await rig.stop().catch(() => undefined);
    throw error;
  } finally {
    agent.destroy();
  }
}

/** Top costs of each service process from its CPU profile (written when it stopped). */
function profileNotes(dir: string, pids: Array<[string, number | undefined]>): string[] {
  const notes: string[] = [];
  for (const [name, pid] of pids) {
    const file = readdirSync(dir).find((entry) => entry.split('.')[3] === String(pid) && entry.endsWith('.cpuprofile'));
    if (!file) {
      notes.push(`${name}: no CPU profile was written (pid ${pid})`);
      continue;
    }
    const summary = summarizeProfile(join(dir, file), 25);
    const list = (items: Array<{ name: string; share: number }>) =>
      items.map((item) => `${item.name} ${fmt(item.share * 100, 1)} %`).join('; ');
    notes.push(
      `${name} CPU profile (${fmt(summary.busyMs / 1_000, 1)} s busy; ${join(dir, file)}): by area — ${list(summary.areas)}`,
    );
    notes.push(`  top functions (self time) — ${list(summary.functions)}`);
  }
  return notes;
}
