// 6. The runner (issue 5): created → claimed at low load, a steady state of real tasks created through
// the gateway, a drain of 20,000 queued tasks with 1 and 2 runner processes, and 1,000 slow streams on
// one process; each beside graphile-worker measured in the same run. `npm run bench -- runner [parts]` (or
// `npm run bench:runner -- [parts]`); `BENCH_CPU_PROF=1` adds where each service process spent its CPU.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pg from 'pg';
import { createBus, type Bus } from '@llmops/kit/bus/index';
import { createPool, type Pool } from '@llmops/kit/db';
import { TASK_DELTAS_CHANNEL, taskCancelled, taskFailed, taskSucceeded } from '@llmops/kit/events/runner';
import { uuidv7 } from '@llmops/kit/ids';
import { freePort, type TestDatabase } from '@llmops/kit/testing/database';
import { startStack, type Stack } from '@llmops/kit/testing/stack';
import { startEmulator, type Emulator } from '@llmops/emulator/server';
import { countStatements, type StatementRow } from './bus-statements.ts';
import { backlogJobs, graphileUtils, startGraphile } from './graphile.ts';
import {
  apiToken,
  atMost,
  benchLogger,
  emulatedModel,
  exactly,
  fmt,
  fmtRate,
  headlineTemplate,
  percentile,
  printResult,
  ratioAtLeast,
  ratioAtMost,
  SERVICE,
  sized,
  sleep,
  within,
  withCpu,
  type BenchResult,
  type BenchServer,
  type ResultRow,
} from './lib.ts';
import { clusterSeconds, cpuSeconds, statFields } from './proc.ts';
import { summarizeProfile, type ProfileSummary } from './profile.ts';
import type { ProbeReport, ToProbe } from './runner-probe.ts';
import * as store from '../../services/runner/src/tasks/store.ts';

// Counts and durations shrink in a quick run (`--quick`); the figures and their anchors stay the same.
const LATENCY = {
  get samples() {
    return sized(200, 40);
  },
  get warmup() {
    return sized(20, 5);
  },
  p50: 4,
  p99: 12,
};
const STEADY = {
  producers: 4,
  get seconds() {
    return sized(15, 5);
  },
  get warmupMs() {
    return sized(1_000, 500);
  },
  /** created → provider request p99 under load, when 6.1 did not run to compare with. */
  p99: 40,
  share: 0.6,
};
// BENCH_RUNNER_DRAIN_TASKS shortens the drain for a comparison while profiling; reported figures use 20,000.
const DRAIN = {
  get tasks() {
    return Number(process.env.BENCH_RUNNER_DRAIN_TASKS ?? sized(20_000, 1_000));
  },
  share: 0.6,
  get order(): Array<1 | 2> {
    return process.env.BENCH_RUNNER_DRAIN_ORDER === '2,1' ? [2, 1] : [1, 2];
  },
};
/** graphile-worker's concurrency in the like-for-like anchor: the runner's default RUNNER_CONCURRENCY. */
const LIKE_FOR_LIKE_CONCURRENCY = 64;
const STREAMS = {
  get tasks() {
    return sized(1_000, 100);
  },
  words: 48,
  chunkDelayMs: 100,
};
const CLAIM = {
  get queued() {
    return sized([1_000, 10_000, 100_000], [1_000, 10_000]);
  },
  get samples() {
    return sized(30, 10);
  },
  batch: 32,
  ratio: 2,
};

/**
 * 6.1's created → provider request p99 of this run, which 6.2's p99 under load is compared with (issue 14: ≤ 4×).
 * Not created → claimed: a task its create starts (direct dispatch, ADR 0021) is claimed at its creation's now(), so
 * that figure is 0 at both loads and its ratio says nothing; the provider request's arrival is the same moment for a
 * task however it was claimed.
 */
let lowLoadP99: number | undefined;

const PROBE = new URL('./runner-probe.ts', import.meta.url).href;
const PROFILES = process.env.BENCH_CPU_PROF ? mkdtempSync(join(tmpdir(), 'llmops-bench-prof-')) : undefined;
const SUMMARY = 'A short post about how the newsroom plans its week, with notes on deadlines and the morning meeting.';
// The stream seed's user message is long, so the emulator's echo streams it one word per chunk.
const LONG_SUMMARY = Array.from({ length: STREAMS.words }, (_, i) => `word${i}`).join(' ');

/** NODE_OPTIONS for a service process: the probe (runner only) and, with BENCH_CPU_PROF, a CPU profile. */
function nodeOptions(probe: boolean): Record<string, string> {
  const flags = [process.env.NODE_OPTIONS ?? ''];
  if (probe) flags.push(`--import=${PROBE}`);
  if (PROFILES) flags.push('--cpu-prof', `--cpu-prof-dir=${PROFILES}`);
  const value = flags.filter(Boolean).join(' ');
  return value ? { NODE_OPTIONS: value } : {};
}

// ---- CPU of each process, from /proc (Linux; '-' elsewhere or for a server on another machine) ----

interface CpuShares {
  /** Cores used by each process over the window. */
  cores: Array<[string, number]>;
  /** Share of all the machine's cores busy (anything on the machine). */
  machine: number;
}

/**
 * Measures `fn`'s window: the machine's CPU and each named process's, PostgreSQL's cluster included.
 * `processes` is asked at both ends; a process that started meanwhile counts from zero.
 */
async function measureCpu<T>(
  processes: () => Array<[string, number | undefined]>,
  postmaster: number | undefined,
  fn: () => Promise<T>,
): Promise<{ result: T; cpu: CpuShares; wallMs: number }> {
  const read = () => {
    const seconds = new Map<string, number>();
    for (const [name, pid] of processes()) seconds.set(name, pid === undefined ? Number.NaN : cpuSeconds(pid));
    seconds.set('postgres (all backends)', postmaster === undefined ? Number.NaN : clusterSeconds(postmaster));
    return seconds;
  };
  const before = read();
  const { result, wallMs, cpu, machine } = await withCpu(fn);
  const after = read();
  const cores = [...after].map(([name, seconds]): [string, number] => [
    name,
    (seconds - (before.get(name) ?? 0)) / (wallMs / 1_000),
  ]);
  cores.push(['bench process (emulator, producers, probes)', cpu]);
  return { result, wallMs, cpu: { cores, machine } };
}

/** CPU per completed task of each process (its cores over the window divided by the rate), ms. */
function cpuPerTaskNote(cpu: CpuShares, perSecond: number): string {
  const parts = cpu.cores
    .filter(([, cores]) => Number.isFinite(cores))
    .map(([name, cores]) => `${name.split(' ')[0]} ${fmt((cores / perSecond) * 1_000, 2)}`);
  return `CPU ms per completed task: ${parts.join(', ')}`;
}

function cpuNote(cpu: CpuShares): string {
  const parts = cpu.cores
    .filter(([, cores]) => Number.isFinite(cores))
    .sort((a, b) => b[1] - a[1])
    .map(([name, cores]) => `${name} ${fmt(cores, 2)}`);
  return `CPU in cores over the window: ${parts.join(', ')}; machine ${fmt(cpu.machine * 100, 0)} % busy`;
}

// ---- what PostgreSQL is doing: pg_stat_activity sampled every 50 ms (no pg_stat_statements needed) ----
// The sampler is an observer on the same 2 cores as what it observes, and graphile-worker's anchors run without it:
// every 10 ms, as first written, it cost PostgreSQL about 0.4 ms of CPU per sample (half of it planning the query
// again), about 0.2 ms per 6.2 task. A named statement is planned once; 50 ms still gives ~300 samples in 15 s.

interface Activity {
  stop(): Promise<{
    samples: number;
    everyMs: number;
    /** Active statements: average backends running each. */
    statements: Array<[string, number]>;
    /** Transactions idle between statements, by the statement before and the connection's application. */
    idle: Array<[string, number]>;
    idleTotal: number;
    waits: Array<[string, number]>;
    /** Connections opened to the database meanwhile (pg_stat_database.sessions). */
    opened: number;
  }>;
}

function sampleActivity(adminUrl: string, database: string, everyMs = 50): Activity {
  const client = new pg.Client({ connectionString: adminUrl, application_name: 'bench-activity-sampler' });
  // Sampling is an observation: a lost connection ends it (the figures say how many samples there were).
  client.on('error', () => (running = false));
  const statements = new Map<string, number>();
  const idle = new Map<string, number>();
  const waits = new Map<string, number>();
  let samples = 0;
  let running = true;
  const sessions = async () =>
    (
      await client.query<{ n: string }>('SELECT sessions::text AS n FROM pg_stat_database WHERE datname = $1', [database])
    ).rows.map((row) => Number(row.n))[0] ?? Number.NaN;
  let opened = Number.NaN;
  const loop = (async () => {
    await client.connect();
    const before = await sessions();
    while (running) {
      const { rows } = await client.query<{ state: string; type: string; app: string; wait: string; query: string }>({
        name: 'bench-activity-sample',
        text: `SELECT state, backend_type AS type, application_name AS app,
                coalesce(wait_event_type || ':' || wait_event, 'running') AS wait,
                left(regexp_replace(query, '\\s+', ' ', 'g'), 120) AS query
         FROM pg_stat_activity
         WHERE datname = $1 AND backend_type IN ('client backend', 'autovacuum worker') AND pid <> pg_backend_pid()
           AND state IN ('active', 'idle in transaction')`,
        values: [database],
      });
      samples++;
      for (const row of rows) {
        if (row.state === 'active') {
          // By process as well as text: the bus's reads share their first 80 characters, and which service runs one is the question.
          const key = row.type === 'client backend' ? `${row.app} "${row.query}"` : `(${row.type}) "${row.query}"`;
          statements.set(key, (statements.get(key) ?? 0) + 1);
          waits.set(row.wait, (waits.get(row.wait) ?? 0) + 1);
        } else {
          // Between two statements of a transaction, waiting for its client: the statement before is shown.
          const key = `${row.app} after "${row.query.slice(0, 80)}"`;
          idle.set(key, (idle.get(key) ?? 0) + 1);
        }
      }
      await sleep(everyMs);
    }
    await sleep(1_000); // statistics reach the shared counters about once a second
    opened = (await sessions()) - before;
  })()
    .catch(() => undefined)
    .finally(() => client.end().catch(() => undefined));
  const ranked = (map: Map<string, number>) =>
    [...map.entries()].sort((a, b) => b[1] - a[1]).map(([key, n]): [string, number] => [key, n / Math.max(1, samples)]);
  return {
    async stop() {
      running = false;
      await loop;
      return {
        samples,
        everyMs,
        statements: ranked(statements).slice(0, 6),
        idle: ranked(idle).slice(0, 4),
        idleTotal: [...idle.values()].reduce((a, b) => a + b, 0) / Math.max(1, samples),
        waits: ranked(waits).slice(0, 4),
        opened,
      };
    },
  };
}

type ActivitySummary = Awaited<ReturnType<Activity['stop']>>;

/** Wait events named for what they are in this workload. */
function waitName(wait: string): string {
  // The only heavyweight lock on a shared object here: the one NOTIFY takes at commit and holds through it.
  if (wait === 'Lock:object') return 'Lock:object (NOTIFY’s queue lock at commit)';
  return wait;
}

function activityNotes(activity: ActivitySummary): string[] {
  return [
    `PostgreSQL, average backends running each statement (pg_stat_activity every ${activity.everyMs} ms, ${activity.samples} samples): ` +
      activity.statements.map(([query, n]) => `${fmt(n, 2)} × ${query}`).join('; '),
    `  … and ${fmt(activity.idleTotal, 2)} backends on average idle in a transaction, waiting for their client, after: ` +
      activity.idle.map(([query, n]) => `${fmt(n, 2)} × ${query}`).join('; '),
    `  … of the active ones, waiting on: ${activity.waits.map(([wait, n]) => `${waitName(wait)} ${fmt(n, 2)}`).join(', ')}; ` +
      `connections opened meanwhile (pg_stat_database.sessions): ${fmt(activity.opened, 0)}`,
  ];
}

/** For a missed target: what the figures of the window say bounds it (the detail is in the other notes). */
function boundNote(verdicts: readonly ResultRow[], cpu: CpuShares | undefined, activity: ActivitySummary): string[] {
  if (verdicts.every((v) => v.pass)) return [];
  const busiest = cpu?.cores.filter(([, cores]) => Number.isFinite(cores)).sort((a, b) => b[1] - a[1])[0];
  const statement = activity.statements[0];
  const wait = activity.waits.find(([name]) => name !== 'running');
  return [
    'MISSED — bounded by: ' +
      [
        cpu
          ? `the machine's CPU ${fmt(cpu.machine * 100, 0)} % busy, most of it ${busiest?.[0]} (${fmt(busiest?.[1] ?? 0, 2)} cores)`
          : '',
        statement ? `PostgreSQL's busiest statement: ${fmt(statement[1], 2)} backends × ${statement[0]}` : '',
        activity.idleTotal >= 0.5
          ? `${fmt(activity.idleTotal, 2)} transactions idle between statements, waiting for their client`
          : '',
        wait ? `its top wait ${waitName(wait[0])} (${fmt(wait[1], 2)} backends)` : '',
      ]
        .filter(Boolean)
        .join('; ') +
      ' (docs/bench.md: what bounds the runner)',
  ];
}

// ---- statements per task: pg_stat_statements of this database, where the server has it loaded ----

function statementNotes(counted: StatementRow[] | undefined, tasks: number): string[] {
  if (!counted) return [];
  const byRole = new Map<string, { calls: number; ms: number; blocks: number }>();
  for (const row of counted) {
    const sum = byRole.get(row.role) ?? { calls: 0, ms: 0, blocks: 0 };
    byRole.set(row.role, { calls: sum.calls + row.calls, ms: sum.ms + row.execMs, blocks: sum.blocks + row.blocks });
  }
  return [
    'pg_stat_statements per task (calls / exec ms / shared blocks), by role: ' +
      [...byRole]
        .sort((a, b) => b[1].ms - a[1].ms)
        .map(([role, sum]) => `${role} ${fmt(sum.calls / tasks, 2)} / ${fmt(sum.ms / tasks, 3)} / ${fmt(sum.blocks / tasks, 1)}`)
        .join(', '),
    // The 12 that took longest, then any other run at least once every 5 tasks (cheap but frequent: a NOTIFY).
    ...[
      ...counted.slice(0, 12),
      ...counted
        .slice(12)
        .filter((row) => row.calls >= tasks / 5)
        .sort((a, b) => b.calls - a.calls),
    ].map(
      (row) =>
        `  ${fmt(row.calls / tasks, 3)} calls, ${fmt(row.execMs / tasks, 3)} ms, ${fmt(row.blocks / tasks, 1)} blocks per task, ` +
        `${fmt(row.rows / Math.max(1, row.calls), 1)} rows/call: ${row.role} "${row.query}"`,
    ),
  ];
}

// ---- NOTIFYs: a LISTEN connection of this process counts what arrives on a channel ----

interface Heard {
  readonly count: number;
  /** performance.now() of the first and the last notification. */
  readonly first: number;
  readonly last: number;
  /** Why the connection ended early, if it did (the counts are then short). */
  readonly error: Error | undefined;
  stop(): Promise<void>;
}

async function listenTo(url: string, channel: string, onPayload: (payload: string) => void = () => undefined): Promise<Heard> {
  const client = new pg.Client({ connectionString: url, application_name: 'bench-notify-counter' });
  let count = 0;
  let first = Number.NaN;
  let last = Number.NaN;
  let error: Error | undefined;
  let stopped: Promise<void> | undefined;
  client.on('error', (e) => (error = e));
  client.on('notification', (message) => {
    if (message.channel !== channel) return;
    last = performance.now();
    if (count++ === 0) first = last;
    onPayload(message.payload ?? '');
  });
  await client.connect();
  await client.query(`LISTEN "${channel.replaceAll('"', '""')}"`);
  return {
    get count() {
      return count;
    },
    get first() {
      return first;
    },
    get last() {
      return last;
    },
    get error() {
      return error;
    },
    stop: () => (stopped ??= client.end().catch(() => undefined)),
  };
}

/** The bus's doorbell channel (rung by the producing process after its commit, kit's bus/doorbell.ts). */
const DOORBELL = 'llmops_bus';

function ringsNote(rings: Heard, tasks: number): string {
  return (
    `bus doorbell NOTIFYs heard (${DOORBELL}, rung after a commit while a consumer waits): ${rings.count}, ` +
    `${fmt(rings.count / Math.max(1, tasks), 2)} per task` +
    (rings.error ? ` (the LISTEN connection failed: ${rings.error.message})` : '')
  );
}

const loadNote = () =>
  `load average (1 / 5 min) at the end: ${loadavg()
    .slice(0, 2)
    .map((x) => fmt(x, 2))
    .join(' / ')} on ${cpus().length} cores`;

// ---- server-side request times, from the services' own request logs (JSON lines on their stdout) ----

interface RouteTimes {
  route: string;
  count: number;
  p50: number;
  p99: number;
  totalMs: number;
  /** Every request's time, ms, in arrival order. */
  samples: number[];
  /** The request lines' named spans (kit/http/spans.ts), ms, by name. */
  spans: Map<string, number[]>;
}

interface RequestLog {
  /** Reads the request log lines of a service process (startStack's process mode pipes its stdout). */
  watch(service: string, child: ChildProcess | undefined): void;
  /** Collects request times from now until `stop`, per service, method and route (UUIDs as :id). */
  record(): { stop(): RouteTimes[] };
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

function requestLog(): RequestLog {
  let sink: Map<string, number[]> | undefined;
  let spanSink: Map<string, Map<string, number[]>> | undefined;
  return {
    watch(service, child) {
      let rest = '';
      child?.stdout?.on('data', (chunk: Buffer) => {
        const lines = (rest + chunk.toString('utf8')).split('\n');
        rest = lines.pop() ?? '';
        if (!sink) return;
        for (const line of lines) {
          if (!line.includes('"msg":"request"')) continue;
          try {
            const entry = JSON.parse(line) as { method?: string; path?: string; ms?: number; spans?: Record<string, number> };
            if (typeof entry.ms !== 'number') continue;
            const route = `${service} ${entry.method} ${(entry.path ?? '').replace(UUID, ':id')}`;
            // Appended in place: the bench's own CPU shares the machine with what it measures.
            let times = sink.get(route);
            if (!times) sink.set(route, (times = []));
            times.push(entry.ms);
            if (entry.spans && spanSink) {
              let named = spanSink.get(route);
              if (!named) spanSink.set(route, (named = new Map<string, number[]>()));
              for (const [name, ms] of Object.entries(entry.spans)) {
                let spans = named.get(name);
                if (!spans) named.set(name, (spans = []));
                spans.push(ms);
              }
            }
          } catch {
            // not a log line of ours
          }
        }
      });
    },
    record() {
      const mine = new Map<string, number[]>();
      const mySpans = new Map<string, Map<string, number[]>>();
      sink = mine;
      spanSink = mySpans;
      return {
        stop() {
          if (sink === mine) sink = undefined;
          if (spanSink === mySpans) spanSink = undefined;
          return [...mine.entries()]
            .map(([route, ms]) => ({
              route,
              count: ms.length,
              p50: percentile(ms, 50),
              p99: percentile(ms, 99),
              totalMs: ms.reduce((a, b) => a + b, 0),
              samples: ms,
              spans: mySpans.get(route) ?? new Map<string, number[]>(),
            }))
            .sort((a, b) => b.totalMs - a.totalMs);
        },
      };
    },
  };
}

function routesNote(routes: RouteTimes[]): string {
  return (
    'server-side time per request (the services’ request logs), ms p50 / p99 (count): ' +
    routes
      .slice(0, 6)
      .map((r) => `${r.route} ${fmt(r.p50, 1)} / ${fmt(r.p99, 1)} (${r.count})`)
      .join('; ')
  );
}

/** The create path's spans per route (the request lines' `spans`): p50 / p99 and the mean, ms. */
function spansNote(routes: RouteTimes[]): string | undefined {
  const parts = routes
    .filter((r) => r.spans.size > 0)
    .map(
      (r) =>
        `${r.route}: ` +
        [...r.spans.entries()]
          .map(
            ([name, ms]) =>
              `${name} ${fmt(percentile(ms, 50), 1)} / ${fmt(percentile(ms, 99), 1)} (mean ${fmt(ms.reduce((a, b) => a + b, 0) / ms.length, 1)})`,
          )
          .join(', '),
    );
  return parts.length === 0 ? undefined : `spans within requests, ms p50 / p99 (mean): ${parts.join('; ')}`;
}

// ---- the stack: registry and prompt, the gateway, and runner processes restarted per scenario ----

interface RunnerReport extends ProbeReport {
  /** Peak resident set size of the process's whole life, bytes (VmHWM in /proc/<pid>/status). */
  vmHwm: number;
}

interface RunnerProcess {
  pid: number;
  /** Asks the probe in the process for its event-loop delay and memory (call it before stop). */
  report(): Promise<RunnerReport>;
  /** Starts the probe's figures afresh. */
  reset(): void;
  stop(): Promise<void>;
}

interface Rig {
  db: TestDatabase;
  admin: Pool;
  emulator: Emulator;
  postmaster: number | undefined;
  /** Pids of the services that stay up for the whole bench. */
  services: Array<[string, number | undefined]>;
  startRunners(count: number, env?: Record<string, string>): Promise<RunnerProcess[]>;
  /** Creates one task through the gateway with an API token; its id and the request's round trip. */
  createTask(n: number, summary?: string): Promise<{ id: string; ms: number }>;
  /**
   * Inserts `count` queued copies of a task created through the API (SQL), due `dueInMs` from now, so
   * runner processes can start first; answers their ids and when they are due (the database's clock).
   */
  copyTasks(seedId: string, count: number, label: string, dueInMs: number): Promise<{ ids: string[]; due: string }>;
  /** Sleeps until the database's clock has passed `at`; false when it already had. */
  until(at: string): Promise<boolean>;
  /**
   * Resolves when no task is queued or running (the bench's are the only ones), polling every 100 ms
   * through the partial indexes of queued and running tasks; `onPoll` hears how many run.
   */
  waitIdle(timeoutMs: number, onPoll?: (running: number) => void): Promise<void>;
  requests: RequestLog;
  bus: Bus;
  stop(): Promise<void>;
}

async function startRig(server: BenchServer): Promise<Rig> {
  const db = await server.busDatabase();
  const admin = createPool({ connectionString: db.adminUrl, applicationName: 'bench-runner-admin', max: 4 });
  const emulator = await startEmulator();
  const stacks: Stack[] = [];
  const stopAll = async () => {
    for (const stack of stacks.reverse()) await stack.stop().catch(() => undefined);
  };
  try {
    const base = await startStack({ db, services: ['registry', 'prompt'], mode: 'process', env: nodeOptions(false) });
    stacks.push(base);
    const runnerPort = await freePort();
    const shared: Record<string, string> = {
      LLMOPS_INTERNAL_SECRET: base.secret,
      REGISTRY_URL: base.urls.registry as string,
      PROMPT_URL: base.urls.prompt as string,
      RUNNER_URL: `http://127.0.0.1:${runnerPort}`,
    };
    const gateway = await startStack({
      db,
      services: ['gateway'],
      mode: 'process',
      env: { ...shared, GATEWAY_RATE_LIMIT_TOKEN: '0', GATEWAY_RATE_LIMIT_ACCOUNT: '0', ...nodeOptions(false) },
    });
    stacks.push(gateway);

    // What an editor would have set up: a provider and model in the registry, a published part and template.
    const model = await emulatedModel(base, emulator);
    const template = await headlineTemplate(base, model.id);
    const token = await apiToken(db.adminUrl, 'editor', 'bench runner');

    const busPool = createPool({ connectionString: db.urlFor(SERVICE), applicationName: 'bench-runner-observer', max: 2 });
    const bus = createBus({ pool: busPool, listenUrl: db.urlFor(SERVICE), log: benchLogger(), service: SERVICE });
    await bus.start();

    const { rows } = await admin.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const backend = statFields(rows[0]?.pid ?? -1);
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const gatewayUrl = gateway.urls.gateway as string;
    const pidOf = (stack: Stack, service: 'registry' | 'prompt' | 'gateway') => stack.services.get(service)?.process?.pid;
    const requests = requestLog();
    requests.watch('gateway', gateway.services.get('gateway')?.process);
    requests.watch('prompt', base.services.get('prompt')?.process);
    requests.watch('registry', base.services.get('registry')?.process);
    let runners: Stack[] = [];

    const rig: Rig = {
      db,
      admin,
      emulator,
      bus,
      requests,
      postmaster: backend ? Number(backend[1]) : undefined,
      services: [
        ['gateway', pidOf(gateway, 'gateway')],
        ['prompt', pidOf(base, 'prompt')],
        ['registry', pidOf(base, 'registry')],
      ],
      async startRunners(count, env = {}) {
        const started = await Promise.all(
          Array.from({ length: count }, (_, i) =>
            startStack({
              db,
              services: ['runner'],
              mode: 'process',
              // The first instance is the one behind the gateway; others are more workers on the same queue.
              env: { ...shared, PORT: i === 0 ? String(runnerPort) : '0', ...env, ...nodeOptions(true) },
            }),
          ),
        );
        runners.push(...started);
        return started.map((stack) => {
          const child = stack.services.get('runner')?.process;
          if (!child?.pid) throw new Error('a runner process has no pid');
          requests.watch('runner', child);
          const pid = child.pid;
          return {
            pid,
            reset: () => child.send({ type: 'bench-probe', action: 'reset' } satisfies ToProbe),
            report: () =>
              within(
                new Promise<RunnerReport>((resolve) => {
                  const onMessage = (message: ProbeReport) => {
                    if (message?.type !== 'bench-probe-report') return;
                    child.off('message', onMessage);
                    resolve({ ...message, vmHwm: vmHwm(pid) });
                  };
                  child.on('message', onMessage);
                  child.send({ type: 'bench-probe', action: 'report' } satisfies ToProbe);
                }),
                5_000,
                'the runner probe to report',
              ),
            stop: async () => {
              await stack.stop();
              runners = runners.filter((s) => s !== stack);
            },
          };
        });
      },
      createTask(n, summary = SUMMARY) {
        const body = JSON.stringify({
          template_id: template.id,
          inputs: { post: { title: `Post number ${n}`, summary } },
          correlation: { bench: 'runner', n },
        });
        return new Promise((resolve, reject) => {
          const started = performance.now();
          const req = request(
            `${gatewayUrl}/api/v1/tasks`,
            {
              method: 'POST',
              agent,
              headers: {
                authorization: `Bearer ${token}`,
                'content-type': 'application/json',
                'content-length': Buffer.byteLength(body),
              },
            },
            (res) => {
              let text = '';
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => (text += chunk));
              res.on('end', () => {
                if (res.statusCode !== 201) return reject(new Error(`POST /api/v1/tasks: ${res.statusCode} ${text}`));
                const id = (JSON.parse(text) as { tasks: Array<{ id: string }> }).tasks[0]?.id;
                if (!id) return reject(new Error(`POST /api/v1/tasks answered no task: ${text}`));
                resolve({ id, ms: performance.now() - started });
              });
            },
          );
          req.on('error', reject);
          req.end(body);
        });
      },
      async copyTasks(seedId, count, label, dueInMs) {
        const ids = Array.from({ length: count }, () => uuidv7());
        const due = (await dbNow(admin, dueInMs)) as string;
        for (let start = 0; start < count; start += 5_000) {
          await admin.query(
            `INSERT INTO runner.tasks (id, requester, source, status, kind, priority, correlation, template_id, template_version,
               template_label, part_versions, preset_id, inputs, snapshot, model_id, provider_id, run_after)
             SELECT c.id, t.requester, t.source, 'queued', t.kind, t.priority, jsonb_build_object('bench', $3::text, 'n', c.n),
               t.template_id, t.template_version, t.template_label, t.part_versions, t.preset_id, t.inputs, t.snapshot,
               t.model_id, t.provider_id, $4::timestamptz
             FROM runner.tasks t, unnest($2::uuid[]) WITH ORDINALITY AS c(id, n)
             WHERE t.id = $1`,
            [seedId, ids.slice(start, start + 5_000), label, due],
          );
        }
        // As autovacuum would have by then, given the time: the claim is planned on current statistics.
        await admin.query('VACUUM ANALYZE runner.tasks');
        await admin.query('VACUUM ANALYZE runner.attempts');
        return { ids, due };
      },
      async until(at) {
        const { rows: left } = await admin.query<{ ms: number }>(
          'SELECT (extract(epoch FROM $1::timestamptz - clock_timestamp()) * 1000)::float8 AS ms',
          [at],
        );
        const ms = left[0]?.ms ?? 0;
        if (ms <= 0) return false;
        await sleep(ms);
        return true;
      },
      async waitIdle(timeoutMs, onPoll) {
        const deadline = performance.now() + timeoutMs;
        for (;;) {
          // Whether any is queued, not how many: counting 20,000 queued rows every 100 ms cost the drain's
          // PostgreSQL 0.14 backends, the bench's own load on the figure it measures.
          const { rows: counts } = await admin.query<{ queued: boolean; running: number }>(
            `SELECT EXISTS (SELECT 1 FROM runner.tasks WHERE status = 'queued') AS queued,
                    (SELECT count(*)::int FROM runner.tasks WHERE status = 'running') AS running`,
          );
          const { queued = false, running = 0 } = counts[0] ?? {};
          onPoll?.(running);
          if (!queued && running === 0) return;
          if (performance.now() > deadline) {
            const { rows: left } = await admin.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM runner.tasks WHERE status = 'queued'`,
            );
            throw new Error(`timed out after ${timeoutMs} ms: ${left[0]?.n ?? 0} tasks still queued and ${running} running`);
          }
          await sleep(100);
        }
      },
      async stop() {
        for (const stack of runners) await stack.stop().catch(() => undefined);
        await bus.stop();
        await busPool.end();
        agent.destroy();
        await stopAll();
        await emulator.stop();
        await admin.end();
      },
    };
    return rig;
  } catch (error) {
    await stopAll();
    await emulator.stop();
    await admin.end();
    throw error;
  }
}

/** Top costs of one process from its CPU profile (BENCH_CPU_PROF), as notes. */
function profileNotes(pid: number, label: string): string[] {
  if (!PROFILES) return [];
  const file = readdirSync(PROFILES).find((name) => name.split('.')[3] === String(pid) && name.endsWith('.cpuprofile'));
  if (!file) return [`${label}: no CPU profile was written (pid ${pid})`];
  const summary = summarizeProfile(join(PROFILES, file), 10);
  const list = (items: ProfileSummary['functions']) =>
    items.map((item) => `${item.name} ${fmt(item.share * 100, 1)} %`).join('; ');
  return [
    `${label} CPU profile (${fmt(summary.busyMs / 1_000, 1)} s busy; ${join(PROFILES, file)}): by area — ${list(summary.areas.slice(0, 8))}`,
    `  top functions (self time) — ${list(summary.functions)}`,
  ];
}

/** Peak resident set size of a process's whole life, bytes (NaN where /proc is not there). */
function vmHwm(pid: number): number {
  try {
    const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return Number(kb) * 1024;
  } catch {
    return Number.NaN;
  }
}

function probeNote(label: string, report: RunnerReport): string {
  const mb = (bytes: number) => fmt(bytes / 1024 / 1024, 0);
  return (
    `${label}: event-loop delay p50 ${fmt(report.delay.p50, 1)} / p99 ${fmt(report.delay.p99, 1)} / max ${fmt(report.delay.max, 1)} ms; ` +
    `peak RSS ${mb(report.vmHwm)} MB (VmHWM), peak heap used ${mb(report.peakHeapUsed)} MB (the process's own probe)`
  );
}

/**
 * Tasks per claim transaction: the runner.task.started events of `ids` (those started in the window,
 * when given) per distinct transaction that wrote them (one claim writes all its tasks' events).
 */
async function tasksPerClaim(admin: Pool, ids: readonly string[], window?: { from: string; to: string }): Promise<number> {
  const { rows } = await admin.query<{ per_claim: number | null }>(
    `SELECT count(*)::float8 / nullif(count(DISTINCT txid), 0) AS per_claim
     FROM bus.outbox
     WHERE topic = 'runner.task.started' AND payload ->> 'task_id' = ANY ($1::text[])
       AND ($2::timestamptz IS NULL OR created_at >= $2::timestamptz) AND ($3::timestamptz IS NULL OR created_at < $3::timestamptz)`,
    [ids, window?.from ?? null, window?.to ?? null],
  );
  return rows[0]?.per_claim ?? Number.NaN;
}

/** The database's clock (plus `inMs`), as text with every microsecond. */
const dbNow = async (admin: Pool, inMs = 0) =>
  (
    await admin.query<{ now: string }>('SELECT (clock_timestamp() + make_interval(secs => $1::float8 / 1000))::text AS now', [
      inMs,
    ])
  ).rows[0]?.now;

// ---- 1. created → claimed at low load ----

/** Tasks created through the API whose rows the drain and the streams copy. */
interface Seeds {
  /** With the usual inputs. */
  short: string;
  /** With a long user message, which the emulator echoes one word per stream chunk. */
  long: string;
}

async function makeSeeds(rig: Rig): Promise<Seeds> {
  const [runner] = await rig.startRunners(1);
  try {
    const seeds = { short: (await rig.createTask(-1)).id, long: (await rig.createTask(-2, LONG_SUMMARY)).id };
    await rig.waitIdle(60_000);
    return seeds;
  } finally {
    await runner?.stop();
  }
}

/**
 * created → the provider request, per task: from `runner.tasks.created_at` (the creating transaction's now()) to
 * when the task's first streaming request reached the emulator (this process's clock; one machine, one clock),
 * matched by the task's number in its rendered title. Unlike created → claimed it stays a wait when a task is
 * claimed in the transaction that creates it: it takes in the commit, the worker picking the task up and the SDK's
 * request.
 */
async function createdToProvider(
  rig: Rig,
  numbers: ReadonlyMap<string, number>,
  window: { from: string; to: string } = { from: '-infinity', to: 'infinity' },
): Promise<number[]> {
  const arrivals = new Map<number, number>();
  for (const received of rig.emulator.requests) {
    const match = /Post number (-?\d+)\b/.exec(received.raw);
    if (match && !arrivals.has(Number(match[1]))) arrivals.set(Number(match[1]), Date.parse(received.at));
  }
  const { rows } = await rig.admin.query<{ id: string; created: number }>(
    `SELECT id, (extract(epoch FROM created_at) * 1000)::float8 AS created FROM runner.tasks
     WHERE id = ANY ($1::uuid[]) AND created_at >= $2::timestamptz AND created_at < $3::timestamptz`,
    [[...numbers.keys()], window.from, window.to],
  );
  return rows.flatMap((row) => {
    const arrived = arrivals.get(numbers.get(row.id) ?? Number.NaN);
    return arrived === undefined ? [] : [arrived - row.created];
  });
}

/** How many tasks their create started (direct dispatch, ADR 0021): claimed at their creation's now(). */
function dispatchedNote(claim: readonly number[]): string {
  const started = claim.filter((ms) => ms === 0).length;
  return `${started} of ${claim.length} tasks started by the create itself (direct dispatch: created → claimed 0 ms), the rest claimed`;
}

async function latency(rig: Rig, server: BenchServer): Promise<BenchResult> {
  const [runner] = await rig.startRunners(1);
  if (!runner) throw new Error('no runner started');
  const ended = new Set<string>();
  const waiting = new Map<string, () => void>();
  const reader = await rig.bus.broadcast({
    events: [taskSucceeded, taskFailed, taskCancelled],
    handler: (events) => {
      for (const event of events) {
        ended.add(event.payload.task_id);
        waiting.get(event.payload.task_id)?.();
      }
    },
  });
  const runOne = async (n: number) => {
    const created = await rig.createTask(n);
    if (!ended.has(created.id))
      await within(new Promise<void>((resolve) => waiting.set(created.id, resolve)), 10_000, `task ${created.id} to end`);
    waiting.delete(created.id);
    return created;
  };
  const ids: string[] = [];
  const numbers = new Map<string, number>();
  const http: number[] = [];
  let probe: RunnerReport;
  let routes: RouteTimes[];
  let recording: ReturnType<RequestLog['record']> | undefined;
  try {
    for (let n = 0; n < LATENCY.warmup + LATENCY.samples; n++) {
      if (n === LATENCY.warmup) {
        runner.reset();
        recording = rig.requests.record();
      }
      const created = await runOne(n);
      if (n >= LATENCY.warmup) {
        ids.push(created.id);
        numbers.set(created.id, n);
        http.push(created.ms);
      }
      await sleep(5 + Math.random() * 10);
    }
    probe = await runner.report();
  } finally {
    routes = recording?.stop() ?? [];
    await reader.stop();
    await runner.stop();
  }
  // tasks.started_at is set once, to the first claim transaction's now(); attempts.started_at is the
  // clock when the claim's UPDATE ran (after any provider lock), kept to the millisecond.
  const { rows } = await rig.admin.query<{ status: string; claim: number; attempt: number; run: number }>(
    `SELECT t.status,
            (extract(epoch FROM t.started_at - t.created_at) * 1000)::float8 AS claim,
            (extract(epoch FROM a.started_at - t.created_at) * 1000)::float8 AS attempt,
            (extract(epoch FROM t.finished_at - t.started_at) * 1000)::float8 AS run
     FROM runner.tasks t JOIN runner.attempts a ON a.task_id = t.id AND a.number = 1
     WHERE t.id = ANY ($1::uuid[])`,
    [ids],
  );
  const claim = rows.map((row) => row.claim);
  const attempt = rows.map((row) => row.attempt);
  const run = rows.map((row) => row.run);
  const provider = await createdToProvider(rig, numbers);
  const succeeded = rows.filter((row) => row.status === 'succeeded').length;
  const anchor = await graphileLatency(server);
  const row = (name: string, xs: number[]) => [
    name,
    fmt(percentile(xs, 50), 2),
    fmt(percentile(xs, 90), 2),
    fmt(percentile(xs, 99), 2),
    fmt(Math.max(...xs), 2),
  ];
  const p50 = percentile(claim, 50);
  const p99 = percentile(claim, 99);
  const graphileClaim = (p: number) => ({ name: 'graphile-worker add_job → get_job', value: percentile(anchor.db, p) });
  lowLoadP99 = percentile(provider, 99);
  // Every task is rendered by the prompt service on the way in, so its time is part of the creation's.
  const render = routes.find((r) => r.route === 'prompt POST /internal/render')?.samples ?? [];
  return {
    title: '6.1 Runner: created → claimed at low load',
    method: [
      `${LATENCY.samples} tasks after ${LATENCY.warmup} warm-up ones, one at a time: POST /api/v1/tasks through the gateway (an API token),`,
      'the published template rendered by the prompt service; the next one 5–15 ms after the previous task ended',
      '(its runner.task.succeeded event reached this process), so the runner is idle and waiting each time.',
      'Services as processes (registry, prompt, gateway, one runner with production defaults); the emulator answers at once.',
      "Clock: the database's. created = runner.tasks.created_at, claimed = runner.tasks.started_at (set by the first claim):",
      'both are now(), i.e. the START of the creating and of the claiming transaction, so the figure includes the creating',
      "transaction's own length (insert, outbox, COMMIT) and leaves out the claiming transaction's. The attempt row's",
      'started_at (the clock when the claim marked the task running, stored to the millisecond) is shown beside it.',
      'graphile-worker (defaults) beside it: add_job → get_job as jobs.created_at → jobs.locked_at (now() of each statement,',
      'read in the task), and add_job returned → task start on this process’s clock, as in benchmark 1.',
      'created → provider request: created_at to the arrival of the task’s streaming request at the emulator (this',
      "process's clock, the machine's): the commit, the worker's pick-up and the SDK's request, however the task was claimed.",
    ],
    table: [
      ['ms', 'p50', 'p90', 'p99', 'max'],
      row('runner: created → claimed (DB clock)', claim),
      row('  runner: created → attempt started_at (ms precision)', attempt),
      row('  runner: created → its provider request reaches the emulator (ms precision)', provider),
      row('graphile-worker: add_job → get_job (DB clock, same run)', anchor.db),
      row('graphile-worker: add_job returned → task start (same run)', anchor.clock),
      row('  runner: claimed → finished (provider call + recording)', run),
      row('  POST /api/v1/tasks through the gateway (client round trip)', http),
      row('  prompt: POST /internal/render of each task (server-side, its request log)', render),
    ],
    notes: [
      `${succeeded} of ${rows.length} tasks succeeded; ${dispatchedNote(claim)}`,
      routesNote(routes),
      ...[spansNote(routes)].filter((note) => note !== undefined),
      probeNote('runner process', probe),
      ...profileNotes(runner.pid, 'runner'),
      loadNote(),
    ],
    // Issue 14: within 2× (p50) and 3× (p99) of graphile-worker's add_job → get_job measured the same way, same run.
    figures: [
      ratioAtMost('6.1 runner created → claimed p50', p50, graphileClaim(50), 2, 'ms'),
      ratioAtMost('6.1 runner created → claimed p99', p99, graphileClaim(99), 3, 'ms'),
      exactly('6.1 runner tasks succeeded', succeeded, LATENCY.samples, 'tasks'),
    ],
  };
}

async function graphileLatency(server: BenchServer): Promise<{ db: number[]; clock: number[] }> {
  const { url } = await server.emptyDatabase();
  const utils = await graphileUtils(url);
  const started = new Map<number, (at: number) => void>();
  const db: number[] = [];
  const runner = await startGraphile(url, {
    latency: async (payload, helpers) => {
      const at = performance.now();
      const { sample } = payload as { sample: number };
      const { rows } = await helpers.query<{ ms: number }>(
        `SELECT (extract(epoch FROM locked_at - created_at) * 1000)::float8 AS ms FROM graphile_worker._private_jobs WHERE id = $1`,
        [helpers.job.id],
      );
      if (sample >= LATENCY.warmup) db.push(rows[0]?.ms ?? Number.NaN);
      started.get(sample)?.(at);
    },
  });
  const clock: number[] = [];
  try {
    for (let sample = 0; sample < LATENCY.warmup + LATENCY.samples; sample++) {
      const handled = new Promise<number>((resolve) => started.set(sample, resolve));
      await utils.addJob('latency', { sample });
      const committedAt = performance.now();
      const at = await within(handled, 10_000, `graphile-worker job ${sample} to start`);
      if (sample >= LATENCY.warmup) clock.push(at - committedAt);
      started.delete(sample);
      await sleep(5 + Math.random() * 10);
    }
    await sleep(50); // the last job's query
    return { db, clock };
  } finally {
    await runner.stop();
    await utils.release();
  }
}

// ---- 2. steady state through the gateway ----

interface WalCounters {
  records: number;
  fpi: number;
  bytes: number;
  commits: number;
}

/** The cluster's WAL written so far and the database's commits (pg_stat_wal, pg_stat_database). */
async function walCounters(admin: Pool): Promise<WalCounters> {
  await admin.query('SELECT pg_stat_force_next_flush()');
  const { rows } = await admin.query<WalCounters>(
    `SELECT w.wal_records::float8 AS records, w.wal_fpi::float8 AS fpi, w.wal_bytes::float8 AS bytes,
            d.xact_commit::float8 AS commits
     FROM pg_stat_wal w, pg_stat_database d WHERE d.datname = current_database()`,
  );
  return rows[0] as WalCounters;
}

/** WAL and commits per completed task over a window, from two `walCounters` readings. */
function walNote(before: WalCounters, after: WalCounters, tasks: number): string {
  const per = (key: keyof WalCounters) => (after[key] - before[key]) / Math.max(tasks, 1);
  return (
    `WAL per completed task (pg_stat_wal, the whole cluster): ${fmt(per('bytes') / 1024, 1)} kB in ${fmt(per('records'), 1)} records, ` +
    `${fmt(per('fpi'), 2)} full-page images; commits per task in the bench's database (pg_stat_database): ${fmt(per('commits'), 1)}`
  );
}

async function steady(rig: Rig, server: BenchServer): Promise<BenchResult> {
  const [runner] = await rig.startRunners(1);
  if (!runner) throw new Error('no runner started');
  // The like-for-like anchor runs before the runner's window and again after it, and the target uses their mean:
  // this machine's speed drifts by as much as a third within minutes (docs/bench.md), and an anchor measured
  // only after would carry any drift whole into the ratio. The two say how far it moved.
  const seed = await rig.createTask(-1);
  await rig.waitIdle(60_000);
  const call = await streamingCall(rig, seed.id);
  const anchorBefore = await graphileSteady(server, call);
  const created: string[] = [];
  const numbers = new Map<string, number>();
  const http: number[] = [];
  let stopping = false;
  let n = 0;
  const producers = Array.from({ length: STEADY.producers }, async () => {
    while (!stopping) {
      const number = n++;
      const task = await rig.createTask(number);
      created.push(task.id);
      numbers.set(task.id, number);
      http.push(task.ms);
    }
  });
  let window: { from: string; to: string };
  let measured: Awaited<ReturnType<typeof measureCpu<{ from: string; to: string }>>>;
  let activity: Awaited<ReturnType<Activity['stop']>>;
  let probe: RunnerReport;
  let rings: Heard | undefined;
  let routes: RouteTimes[];
  let walBefore: WalCounters | undefined;
  let walAfter: WalCounters | undefined;
  let counted: StatementRow[] | undefined;
  try {
    await sleep(STEADY.warmupMs);
    runner.reset();
    const sampler = sampleActivity(rig.db.adminUrl, rig.db.name);
    rings = await listenTo(rig.db.adminUrl, DOORBELL);
    const statements = await countStatements(rig.admin);
    const recording = rig.requests.record();
    measured = await measureCpu(
      () => [['runner', runner.pid] as [string, number], ...rig.services],
      rig.postmaster,
      async () => {
        walBefore = await walCounters(rig.admin);
        const from = (await dbNow(rig.admin)) as string;
        await sleep(STEADY.seconds * 1_000);
        const to = (await dbNow(rig.admin)) as string;
        walAfter = await walCounters(rig.admin);
        return { from, to };
      },
    );
    window = measured.result;
    counted = await statements.stop();
    routes = recording.stop();
    await rings.stop();
    activity = await sampler.stop();
    probe = await runner.report();
  } finally {
    stopping = true;
    await Promise.all(producers);
    await rings?.stop();
  }
  try {
    await rig.waitIdle(300_000);
  } finally {
    await runner.stop();
  }
  const { rows } = await rig.admin.query<{ completed: number; statuses: Record<string, number> }>(
    `SELECT (SELECT count(*)::int FROM runner.tasks
             WHERE id = ANY ($1::uuid[]) AND finished_at >= $2::timestamptz AND finished_at < $3::timestamptz) AS completed,
            (SELECT jsonb_object_agg(status, n) FROM (
               SELECT status, count(*)::int AS n FROM runner.tasks WHERE id = ANY ($1::uuid[]) GROUP BY status) s) AS statuses`,
    [created, window.from, window.to],
  );
  const { rows: waits } = await rig.admin.query<{ claim: number }>(
    `SELECT (extract(epoch FROM t.started_at - t.created_at) * 1000)::float8 AS claim
     FROM runner.tasks t
     WHERE t.id = ANY ($1::uuid[]) AND t.created_at >= $2::timestamptz AND t.created_at < $3::timestamptz`,
    [created, window.from, window.to],
  );
  const perClaim = await tasksPerClaim(rig.admin, created, window);
  const seconds = measured.wallMs / 1_000;
  const rate = (rows[0]?.completed ?? 0) / seconds;
  const claim = waits.map((row) => row.claim);
  const provider = await createdToProvider(rig, numbers, window);
  const statuses = rows[0]?.statuses ?? {};
  const noop = await graphileSteady(server);
  const anchorAfter = await graphileSteady(server, call);
  const anchorRate = (anchorBefore.rate + anchorAfter.rate) / 2;
  const loadedP99 = percentile(provider, 99);
  const verdicts = [
    ratioAtLeast(
      '6.2 runner tasks/s completed, steady load',
      rate,
      { name: 'graphile-worker, like for like, mean of before and after', value: anchorRate },
      STEADY.share,
      'tasks/s',
    ),
    lowLoadP99 === undefined
      ? atMost('6.2 runner created → provider request p99 under steady load (6.1 not run: absolute)', loadedP99, STEADY.p99, 'ms')
      : ratioAtMost(
          '6.2 runner created → provider request p99 under steady load',
          loadedP99,
          { name: '6.1 at low load', value: lowLoadP99 },
          4,
          'ms',
        ),
    exactly('6.2 runner tasks failed in steady state', created.length - (statuses.succeeded ?? 0), 0, 'tasks'),
  ];
  return {
    title: `6.2 Runner: steady state, ${STEADY.producers} producers through the gateway for ${STEADY.seconds} s`,
    method: [
      `${STEADY.producers} loops in this process, each creating one task after another through the gateway (API token, keep-alive):`,
      'the published template rendered by the prompt service, model resolved, snapshot stored with its runner.task.queued',
      'event; one runner process (production defaults: concurrency 64, claim batch 32) claims each, calls the emulator',
      `through the OpenAI SDK (streaming), records the attempt and its events. ${STEADY.warmupMs / 1_000} s warm-up, then ${STEADY.seconds} s counted.`,
      "completed/s = tasks whose finished_at (the finishing transaction's now()) falls in the window; created → claimed as in",
      "6.1, for tasks created in the window. graphile-worker: the same producers' loop calling add_job with a no-op task",
      '(defaults: concurrency 1) on a database of its own; completed/s = task runs in the window; wait = created_at → locked_at.',
      "The target's anchor (issue 14): the same loops, each job making a created task's streaming call to the same emulator",
      `through the same OpenAI SDK, concurrency ${LIKE_FOR_LIKE_CONCURRENCY} (the runner's), measured before the runner's window and`,
      'after it; the target is a ratio to their mean.',
    ],
    table: [
      ['', 'completed/s', 'created/s', 'wait p50 ms', 'wait p99 ms', 'create round trip p50 / p99 ms'],
      [
        'runner (tasks, through the gateway)',
        fmtRate(rate),
        fmtRate(claim.length / seconds),
        fmt(percentile(claim, 50), 2),
        fmt(percentile(claim, 99), 2),
        `${fmt(percentile(http, 50), 1)} / ${fmt(percentile(http, 99), 1)}`,
      ],
      ...[
        ['graphile-worker, no-op jobs, defaults (same run, for information)', noop] as const,
        [`graphile-worker, like for like (concurrency ${LIKE_FOR_LIKE_CONCURRENCY}), before the runner`, anchorBefore] as const,
        [`graphile-worker, like for like (concurrency ${LIKE_FOR_LIKE_CONCURRENCY}), after the runner`, anchorAfter] as const,
      ].map(([name, figures]) => [
        name,
        fmtRate(figures.rate),
        fmtRate(figures.added),
        fmt(percentile(figures.waits, 50), 2),
        fmt(percentile(figures.waits, 99), 2),
        '-',
      ]),
    ],
    notes: [
      ...boundNote(verdicts, measured.cpu, activity),
      `every task created: ${Object.entries(statuses)
        .map(([status, count]) => `${count} ${status}`)
        .join(', ')}; tasks per claim transaction in the window: ${fmt(perClaim, 1)}`,
      `graphile-worker's producers outrun its single worker, so its backlog (and wait) grows through the window; its rate is what one worker sustains`,
      driftNote(anchorBefore.rate, anchorAfter.rate),
      dispatchedNote(claim),
      `runner, created → its provider request reaches the emulator (as in 6.1), tasks created in the window: p50 ${fmt(percentile(provider, 50), 2)} / p99 ${fmt(percentile(provider, 99), 2)} ms (${provider.length} tasks)`,
      cpuNote(measured.cpu),
      cpuPerTaskNote(measured.cpu, rate),
      ringsNote(rings as Heard, rows[0]?.completed ?? 0),
      ...(walBefore && walAfter ? [walNote(walBefore, walAfter, rows[0]?.completed ?? 0)] : []),
      ...statementNotes(counted, rows[0]?.completed ?? 0),
      routesNote(routes),
      ...[spansNote(routes)].filter((note) => note !== undefined),
      ...activityNotes(activity),
      probeNote('runner process', probe),
      ...profileNotes(runner.pid, 'runner'),
      loadNote(),
    ],
    figures: verdicts,
  };
}

/** How far the like-for-like anchor moved between its runs before and after the runner's window. */
function driftNote(before: number, after: number): string {
  const drift = Math.abs(after - before) / ((before + after) / 2);
  const size =
    drift > 0.15
      ? 'the machine changed speed during the part: the ratio is uncertain by about as much'
      : "within the machine's usual swing";
  return `like-for-like anchor before / after the runner's window: ${fmtRate(before)} / ${fmtRate(after)} tasks/s (${fmt(drift * 100, 0)} % apart: ${size})`;
}

/** graphile-worker under the same 4 producer loops: no-op jobs with defaults, or each making `call` at the runner's concurrency. */
async function graphileSteady(
  server: BenchServer,
  call?: () => Promise<void>,
): Promise<{ rate: number; added: number; waits: number[] }> {
  const { url } = await server.emptyDatabase();
  const utils = await graphileUtils(url);
  const ran: number[] = [];
  const waits: Array<[number, number]> = [];
  const runner = await startGraphile(
    url,
    {
      noop: async (_payload, helpers) => {
        const { created_at, locked_at } = helpers.job;
        await call?.();
        const at = performance.now();
        ran.push(at);
        waits.push([at, (locked_at?.getTime() ?? Number.NaN) - created_at.getTime()]);
      },
    },
    call ? { concurrency: LIKE_FOR_LIKE_CONCURRENCY } : {},
  );
  let stopping = false;
  const added: number[] = [];
  let n = 0;
  try {
    const producers = Array.from({ length: STEADY.producers }, async () => {
      while (!stopping) {
        await utils.addJob('noop', { n: n++ });
        added.push(performance.now());
      }
    });
    await sleep(STEADY.warmupMs);
    const from = performance.now();
    await sleep(STEADY.seconds * 1_000);
    const to = performance.now();
    stopping = true;
    await Promise.all(producers);
    const inWindow = (at: number) => at >= from && at < to;
    const seconds = (to - from) / 1_000;
    return {
      rate: ran.filter(inWindow).length / seconds,
      added: added.filter(inWindow).length / seconds,
      waits: waits.filter(([at]) => inWindow(at)).map(([, ms]) => ms),
    };
  } finally {
    await runner.stop();
    await utils.release();
  }
}

// ---- 3. drain of a backlog ----

/**
 * When copied tasks fall due, counted from the copy's start. The runner processes are started first and are
 * idle: an idle runner looks for due tasks every RUNNER_POLL_MS (2 s by default) and learns then when the next
 * queued one falls due, sleeping until that moment. So the copy (its inserts and VACUUM ANALYZE, about 0.1 ms a
 * task here; twice that allowed) must end more than one poll before its tasks fall due: then every process has
 * seen them and all make their first claim at once, with no fixed wait for start-ups.
 */
const IDLE_POLL_MS = 2_000;
const dueAfterCopyMs = (tasks: number) => IDLE_POLL_MS + 1_000 + tasks * 0.2;

async function drain(rig: Rig, server: BenchServer, seed: string): Promise<BenchResult> {
  const rows: string[][] = [];
  const runs: Array<{ notes: string[]; cpu: CpuShares; activity: ActivitySummary }> = [];
  const rates: number[] = [];
  // BENCH_RUNNER_DRAIN_ORDER=2,1 drains with 2 processes first: whether the second drain pays for the first's leftovers.
  for (const instances of DRAIN.order) {
    const runners = await rig.startRunners(instances);
    const { ids, due } = await rig.copyTasks(seed, DRAIN.tasks, `drain-${instances}`, dueAfterCopyMs(DRAIN.tasks));
    rig.emulator.clearRequests();
    const gated = await rig.until(due);
    runners.forEach((runner) => runner.reset());
    const sampler = sampleActivity(rig.db.adminUrl, rig.db.name);
    const rings = await listenTo(rig.db.adminUrl, DOORBELL);
    const statements = await countStatements(rig.admin);
    const measured = await measureCpu(
      () => [...runners.map((runner, i): [string, number] => [`runner ${i + 1}`, runner.pid]), ['gateway', rig.services[0]?.[1]]],
      rig.postmaster,
      () => rig.waitIdle(900_000),
    );
    const counted = await statements.stop();
    await rings.stop();
    const activity = await sampler.stop();
    const probes = await Promise.all(runners.map((runner) => runner.report()));
    await Promise.all(runners.map((runner) => runner.stop()));
    const { rows: stats } = await rig.admin.query<{ succeeded: number; seconds: number }>(
      `SELECT count(*) FILTER (WHERE t.status = 'succeeded')::int AS succeeded,
              extract(epoch FROM max(t.finished_at) - min(t.started_at))::float8 AS seconds
       FROM runner.tasks t WHERE t.id = ANY ($1::uuid[])`,
      [ids],
    );
    const { rows: workers } = await rig.admin.query<{ tasks: number; first: number }>(
      `SELECT count(*)::int AS tasks,
              (extract(epoch FROM min(t.started_at) - min(min(t.started_at)) OVER ()) * 1000)::float8 AS first
       FROM runner.attempts a JOIN runner.tasks t ON t.id = a.task_id
       WHERE a.task_id = ANY ($1::uuid[]) GROUP BY a.worker ORDER BY 2`,
      [ids],
    );
    const stat = { succeeded: 0, seconds: Number.NaN, ...stats[0], per_claim: await tasksPerClaim(rig.admin, ids) };
    const rate = DRAIN.tasks / stat.seconds;
    rates[instances - 1] = rate;
    rows.push([
      `runner, ${instances} instance${instances > 1 ? 's (processes)' : ' (process)'}`,
      fmt(stat.seconds, 2),
      fmtRate(rate),
      `${stat.succeeded}`,
      fmt(stat.per_claim, 1),
    ]);
    const notes = [
      `${instances} instance(s): tasks per instance ${workers.map((w) => w.tasks).join(' / ')}; first claims ` +
        `${workers.map((w) => `+${fmt(w.first, 0)} ms`).join(' / ')}` +
        (gated ? '' : '; the copy ended after its tasks fell due, so the processes may have claimed at different times'),
      cpuNote(measured.cpu),
      ringsNote(rings, DRAIN.tasks),
      ...statementNotes(counted, DRAIN.tasks),
      ...activityNotes(activity),
      ...probes.map((probe, i) => probeNote(`runner ${i + 1} of ${instances}`, probe)),
      ...(instances === 1 ? profileNotes(runners[0]?.pid ?? -1, 'runner (1 instance)') : []),
    ];
    if (stat.succeeded !== DRAIN.tasks) notes.push(`only ${stat.succeeded} of ${DRAIN.tasks} tasks succeeded`);
    runs[instances - 1] = { notes, cpu: measured.cpu, activity };
  }
  const anchor = await graphileDrain(server);
  rows.push(['graphile-worker, defaults (concurrency 1), no-op', fmt(anchor, 2), fmtRate(DRAIN.tasks / anchor), '-', '-']);
  const call = await streamingCall(rig, seed);
  const alike = await graphileDrain(server, call);
  rows.push([
    `graphile-worker, concurrency ${LIKE_FOR_LIKE_CONCURRENCY}, the same streaming call (like for like)`,
    fmt(alike, 2),
    fmtRate(DRAIN.tasks / alike),
    '-',
    '-',
  ]);
  const anchorRate = DRAIN.tasks / alike;
  const likeForLike = { name: 'graphile-worker, like for like', value: anchorRate };
  const verdicts: ResultRow[] = [1, 2].map((instances, i) =>
    ratioAtLeast(
      `6.3 runner drain, ${instances} process${instances > 1 ? 'es' : ''}`,
      rates[i] ?? 0,
      likeForLike,
      DRAIN.share,
      'tasks/s',
    ),
  );
  verdicts.push(
    ratioAtLeast(
      '6.3 runner drain, 2 processes (no collapse)',
      rates[1] ?? 0,
      { name: '1 process', value: rates[0] ?? 0 },
      0.9,
      'tasks/s',
    ),
  );
  const notes = [
    ...runs.flatMap((run, i) => [...boundNote(verdicts.slice(i, i + 1), run.cpu, run.activity), ...run.notes]),
    loadNote(),
  ];
  return {
    title: `6.3 Runner: drain of ${fmtRate(DRAIN.tasks)} queued tasks, 1 and 2 runner processes`,
    method: [
      `${fmtRate(DRAIN.tasks)} queued tasks inserted with SQL (not through the API): copies of a real task created through the API`,
      '(its rendered snapshot, model, provider, lineage; new UUIDv7 ids; no runner.task.queued events for the copies), then',
      `VACUUM ANALYZE; the 1 (or 2) runner processes, started before with production defaults (concurrency 64, claim batch 32), are`,
      `idle; the tasks fall due ${fmt(dueAfterCopyMs(DRAIN.tasks) / 1_000, 1)} s after the copy began, over a poll (${IDLE_POLL_MS / 1_000} s) after it ended, so every process claims from then. Each task: a real SDK call to the`,
      'emulator (answering at once), the attempt recorded, events published.',
      "Clock: the database's, from the first claim (min tasks.started_at) to the last finish (max tasks.finished_at).",
      `graphile-worker: ${fmtRate(DRAIN.tasks)} no-op jobs queued by add_jobs in transactions of 1,000, defaults, clock from run()`,
      `(for information); the anchor of the target: the same number of jobs, each making the seed task's streaming call (its`,
      `model and messages) to the same emulator through the same OpenAI SDK, concurrency ${LIKE_FOR_LIKE_CONCURRENCY} (the runner's).`,
    ],
    table: [['', 'seconds', 'tasks/s', 'succeeded', 'tasks per claim'], ...rows],
    notes,
    figures: verdicts,
  };
}

/**
 * The call a task of `seed` makes, for graphile-worker's like-for-like jobs: a streaming chat completion
 * with the task's model and messages, to the same emulator, through the same SDK, read to its end.
 */
async function streamingCall(rig: Rig, seed: string): Promise<() => Promise<void>> {
  const { rows } = await rig.admin.query<{ model: string; messages: OpenAI.ChatCompletionMessageParam[] }>(
    `SELECT a.request ->> 'model' AS model, a.request -> 'messages' AS messages
     FROM runner.attempts a WHERE a.task_id = $1 ORDER BY a.number LIMIT 1`,
    [seed],
  );
  const { model, messages } = rows[0] ?? { model: 'emu-gpt-small', messages: [{ role: 'user', content: SUMMARY }] };
  const client = new OpenAI({ baseURL: rig.emulator.baseUrl('openai'), apiKey: 'sk-bench-key-0123456789', maxRetries: 0 });
  return async () => {
    const stream = await client.chat.completions.create({
      model,
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    if (text === '') throw new Error('the emulator answered nothing');
  };
}

/** Seconds for graphile-worker to drain DRAIN.tasks jobs: no-ops with defaults, or `call` each at the runner's concurrency. */
async function graphileDrain(server: BenchServer, call?: () => Promise<void>): Promise<number> {
  const { url } = await server.emptyDatabase();
  const utils = await graphileUtils(url);
  let done = 0;
  let finished: () => void = () => undefined;
  const all = new Promise<void>((resolve) => (finished = resolve));
  try {
    await backlogJobs(utils, 'drain', DRAIN.tasks, 1_000);
    const started = performance.now();
    const runner = await startGraphile(
      url,
      {
        drain: async () => {
          await call?.();
          if (++done === DRAIN.tasks) finished();
        },
      },
      call ? { concurrency: LIKE_FOR_LIKE_CONCURRENCY } : {},
    );
    try {
      await within(all, 900_000, `graphile-worker to run ${DRAIN.tasks} jobs`);
      return (performance.now() - started) / 1_000;
    } finally {
      await runner.stop();
    }
  } finally {
    await utils.release();
  }
}

// ---- 4. 1,000 slow streams on one process ----

async function streams(rig: Rig, seed: string): Promise<BenchResult> {
  let ids: string[];
  rig.emulator.clearRequests();
  const fault = rig.emulator.fault({ protocol: 'openai', chunkDelayMs: STREAMS.chunkDelayMs });
  let items = 0;
  let bytes = 0;
  const deltas = await listenTo(rig.db.adminUrl, `llmops_eph:${TASK_DELTAS_CHANNEL}`, (payload) => {
    bytes += Buffer.byteLength(payload);
    items += ((JSON.parse(payload || '{}') as { items?: unknown[] }).items ?? []).length;
  });
  const rings = await listenTo(rig.db.adminUrl, DOORBELL);
  let peakRunning = 0;
  let probe: RunnerReport;
  let pid: number;
  let sampler: Activity | undefined;
  try {
    const [runner] = await rig.startRunners(1, { RUNNER_CONCURRENCY: String(STREAMS.tasks) });
    if (!runner) throw new Error('no runner started');
    pid = runner.pid;
    try {
      const copied = await rig.copyTasks(seed, STREAMS.tasks, 'streams', dueAfterCopyMs(STREAMS.tasks));
      ids = copied.ids;
      await rig.until(copied.due);
      runner.reset();
      sampler = sampleActivity(rig.db.adminUrl, rig.db.name);
      await rig.waitIdle(300_000, (running) => (peakRunning = Math.max(peakRunning, running)));
      probe = await runner.report();
    } finally {
      await runner.stop();
    }
  } finally {
    fault.remove();
    await deltas.stop();
    await rings.stop();
  }
  const activity = await (sampler as Activity).stop();
  const { rows } = await rig.admin.query<{ succeeded: number; seconds: number; provider: number[]; chars: number }>(
    `SELECT count(*) FILTER (WHERE t.status = 'succeeded')::int AS succeeded,
            extract(epoch FROM max(t.finished_at) - min(t.started_at))::float8 AS seconds,
            array_agg(a.provider_ms ORDER BY a.provider_ms) AS provider,
            min(length(t.output_text))::int AS chars
     FROM runner.tasks t JOIN runner.attempts a ON a.task_id = t.id AND a.number = 1
     WHERE t.id = ANY ($1::uuid[])`,
    [ids],
  );
  const stat = rows[0] ?? { succeeded: 0, seconds: Number.NaN, provider: [], chars: 0 };
  const span = (deltas.last - deltas.first) / 1_000;
  const notifications = deltas.count;
  const mb = (b: number) => fmt(b / 1024 / 1024, 0);
  return {
    title: `6.4 Runner: ${fmtRate(STREAMS.tasks)} slow streams at once on one runner process`,
    method: [
      `${fmtRate(STREAMS.tasks)} queued copies (SQL, as in 6.3) of a real task whose user message is ${STREAMS.words} words long; the emulator`,
      `echoes it one word per stream chunk with ${STREAMS.chunkDelayMs} ms between chunks (a fault on every request), so each stream lasts`,
      `about ${fmt(((STREAMS.words + 6) * STREAMS.chunkDelayMs) / 1_000, 0)} s. One runner process with RUNNER_CONCURRENCY=${STREAMS.tasks} runs them all. Memory and event-loop delay`,
      'are measured inside the runner process by a probe loaded with --import (no change to its code); peak RSS also from',
      '/proc/<pid>/status VmHWM. NOTIFYs: a LISTEN connection of this process on the task_deltas channel counts what arrives.',
    ],
    table: [
      ['', 'value'],
      ['tasks succeeded', `${stat.succeeded} of ${STREAMS.tasks}`],
      ['most running at once (polled every 100 ms)', String(peakRunning)],
      ['first claim → last finish (DB clock)', `${fmt(stat.seconds, 1)} s`],
      [
        'provider call p50 / p99 (attempts.provider_ms)',
        `${fmt(percentile(stat.provider, 50), 0)} / ${fmt(percentile(stat.provider, 99), 0)} ms`,
      ],
      ['runner peak RSS (VmHWM) / peak heap used (probe)', `${mb(probe.vmHwm)} MB / ${mb(probe.peakHeapUsed)} MB`],
      [
        'runner event-loop delay p50 / p99 / max',
        `${fmt(probe.delay.p50, 1)} / ${fmt(probe.delay.p99, 1)} / ${fmt(probe.delay.max, 1)} ms`,
      ],
      ['task_deltas NOTIFYs per second (first to last)', fmt(notifications / span, 1)],
      ['delta items per NOTIFY / bytes per NOTIFY', `${fmt(items / notifications, 1)} / ${fmtRate(bytes / notifications)}`],
    ],
    notes: [
      `${notifications} NOTIFYs carrying ${items} delta items over ${fmt(span, 1)} s; the shortest output is ${stat.chars} characters`,
      ...(deltas.error ? [`the LISTEN connection failed (${deltas.error.message}): the NOTIFY count is short`] : []),
      ringsNote(rings, STREAMS.tasks),
      ...activityNotes(activity),
      ...profileNotes(pid, 'runner'),
      loadNote(),
    ],
    figures: [exactly('6.4 slow streams succeeded', stat.succeeded, STREAMS.tasks, 'tasks')],
  };
}

// ---- 5. the claim's time as the queue grows ----

/** The node types of a JSON plan, nested, e.g. `Limit > LockRows > Index Scan (tasks_queued_idx)`. */
function planShape(node: Record<string, unknown>): string {
  const name = `${node['Node Type'] as string}${node['Index Name'] ? ` (${node['Index Name'] as string})` : ''}`;
  const children = ((node.Plans as Array<Record<string, unknown>> | undefined) ?? [])
    .filter((child) => child['Parent Relationship'] !== 'SubPlan' && child['Parent Relationship'] !== 'InitPlan')
    .map(planShape);
  return children.length === 0 ? name : `${name} > ${children.length === 1 ? children[0] : `[${children.join(', ')}]`}`;
}

async function claimScaling(rig: Rig, seed: string): Promise<BenchResult> {
  const rows: string[][] = [];
  const times: number[] = [];
  const shapes: string[] = [];
  const client = await rig.admin.connect();
  let queued = 0;
  try {
    for (const target of CLAIM.queued) {
      await rig.copyTasks(seed, target - queued, `claim-${target}`, -60_000);
      queued = target;
      // The runner's own statements (store.lockDue, store.start) in a transaction that is rolled back, so
      // every sample claims from the same queue; the wall clock of the bench process, best of warm runs.
      const samples: number[] = [];
      let plan: Record<string, unknown> | undefined;
      for (let i = 0; i < CLAIM.samples + 3; i++) {
        await client.query('BEGIN');
        try {
          const started = performance.now();
          const candidates = await store.lockDue(client, CLAIM.batch, 60_000);
          await store.start(
            client,
            candidates.map((c) => c.id),
            'bench-claim',
            30_000,
          );
          if (i >= 3) samples.push(performance.now() - started);
          if (candidates.length !== CLAIM.batch) throw new Error(`claimed ${candidates.length} of ${CLAIM.batch} due tasks`);
        } finally {
          await client.query('ROLLBACK');
        }
      }
      await client.query('BEGIN');
      try {
        await client.query(`PREPARE bench_claim(int, float8) AS ${(await claimText(client)) ?? ''}`);
        const { rows: explained } = await client.query<{
          'QUERY PLAN': Array<{ Plan: Record<string, unknown>; 'Execution Time': number }>;
        }>(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE bench_claim(${CLAIM.batch}, 60000)`);
        const top = explained[0]?.['QUERY PLAN'][0];
        plan = top?.Plan;
        rows.push([
          fmtRate(target),
          fmt(percentile(samples, 50), 2),
          fmt(percentile(samples, 90), 2),
          fmt(top?.['Execution Time'] ?? Number.NaN, 2),
        ]);
      } finally {
        await client.query('ROLLBACK');
        await client.query('DEALLOCATE bench_claim').catch(() => undefined);
      }
      times.push(percentile(samples, 50));
      shapes.push(`${fmtRate(target)} queued: ${plan ? planShape(plan) : '?'}`);
    }
  } finally {
    client.release();
    // The copies are queued and due: leave no work behind for the next part.
    await rig.admin.query(
      `DELETE FROM runner.tasks WHERE status = 'queued' AND correlation ? 'bench' AND correlation ->> 'bench' LIKE 'claim-%'`,
    );
  }
  const first = times[0] ?? Number.NaN;
  const last = times[times.length - 1] ?? Number.NaN;
  return {
    title: `6.5 Runner: the claim's time with ${CLAIM.queued.map(fmtRate).join(', ')} queued tasks`,
    method: [
      'Copies of a real task (SQL, as in 6.3), all due, added to reach each queue size; VACUUM ANALYZE after each insert.',
      `The claim's statements as the runner sends them (tasks/store.ts lockDue for ${CLAIM.batch} tasks, then start), on one`,
      `connection of the bench, each sample in a transaction that is rolled back (the queue stays the same); ${CLAIM.samples} samples`,
      "after 3 warm-up ones, the bench process's clock. The candidates' plan from EXPLAIN (ANALYZE, FORMAT JSON), its execution",
      'time beside; plan shapes below (subplans left out).',
    ],
    table: [['queued', 'claim p50 ms', 'claim p90 ms', 'candidates, server ms'], ...rows],
    notes: [...shapes, loadNote()],
    figures: [
      ratioAtMost(
        `6.5 the claim at ${fmtRate(CLAIM.queued[CLAIM.queued.length - 1] ?? 0)} queued`,
        last,
        { name: `at ${fmtRate(CLAIM.queued[0] ?? 0)} queued`, value: first },
        CLAIM.ratio,
        'ms',
      ),
    ],
  };
}

/** The text of the runner's candidate query, as prepared on this connection by store.lockDue. */
async function claimText(client: pg.PoolClient): Promise<string | undefined> {
  const { rows } = await client.query<{ statement: string }>(
    `SELECT statement FROM pg_prepared_statements WHERE name = 'runner.claim.candidates'`,
  );
  return rows[0]?.statement;
}

// ---- the whole benchmark ----

export const RUNNER_PARTS = ['latency', 'steady', 'drain', 'streams', 'claim'] as const;

/** The parts in order (all by default), each handed to `report` when done; they share one stack. */
export async function runnerBench(
  server: BenchServer,
  report: (result: BenchResult) => void = printResult,
  parts: readonly string[] = RUNNER_PARTS,
): Promise<void> {
  const rig = await startRig(server);
  try {
    // Each part states how long it took (set-up of the seeds included in the first part that needs them).
    const timed = async (part: () => Promise<BenchResult>) => {
      const started = performance.now();
      const result = await part();
      const seconds = (performance.now() - started) / 1_000;
      report({ ...result, notes: [...result.notes, `this part took ${fmt(seconds, 0)} s`] });
    };
    if (parts.includes('latency')) await timed(() => latency(rig, server));
    if (parts.includes('steady')) await timed(() => steady(rig, server));
    let seeds: Seeds | undefined;
    const seeded = async () => (seeds ??= await makeSeeds(rig));
    if (parts.includes('drain')) await timed(async () => drain(rig, server, (await seeded()).short));
    if (parts.includes('streams')) await timed(async () => streams(rig, (await seeded()).long));
    if (parts.includes('claim')) await timed(async () => claimScaling(rig, (await seeded()).short));
  } finally {
    await rig.stop();
  }
  if (PROFILES) {
    const notes = rig.services.flatMap(([name, pid]) => (pid === undefined ? [] : profileNotes(pid, name)));
    report({
      title: '6.6 Runner bench: CPU profiles of the other services (whole run)',
      method: ['--cpu-prof on every service process (BENCH_CPU_PROF=1); self time by area and by function.'],
      table: [],
      notes,
      figures: [],
    });
  }
}
