// Shared helpers of the bench: the server and its databases, event contracts, statistics, the report.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { type Agent, request } from 'node:http';
import { join } from 'node:path';
import { z } from 'zod';
import { defineEvent } from '@llmops/kit/bus/index';
import { createPool, quoteIdent, withClient, withDatabase, type Pool } from '@llmops/kit/db';
import { createLogger, type Logger } from '@llmops/kit/logger';
import { startEmbeddedPostgres, type EmbeddedServer } from '@llmops/kit/embedded';
import type { Stack } from '@llmops/kit/testing/stack';
import type { Emulator } from '@llmops/emulator/server';
import { createAccountAsOperator, createTokenAsOperator } from '@llmops/gateway/operator';
import {
  createTestDatabase,
  freePort,
  startTestCluster,
  type TestCluster,
  type TestDatabase,
} from '@llmops/kit/testing/database';
import { graphileUtils } from './graphile.ts';
import { fmtFigure, type ResultRow } from './rows.ts';

/** The service role the bus runs as in the bench (any service's role has the same bus grants). */
export const SERVICE = 'runner';

export const latencyEvent = defineEvent({
  topic: 'bench.latency.sampled',
  payload: z.object({ sample: z.number().int() }),
});

export const drainEvent = defineEvent({
  topic: 'bench.drain.queued',
  payload: z.object({ n: z.number().int(), note: z.string() }),
});

export const produceEvent = defineEvent({
  topic: 'bench.produce.committed',
  payload: z.object({ producer: z.number().int(), n: z.number().int(), note: z.string() }),
});

export const listenEvent = defineEvent({
  topic: 'bench.listen.checked',
  payload: z.object({ n: z.number().int() }),
});

/** A response's JSON body when its status is `expected`; anything else is an error naming `what`. */
export async function expectJson<T>(response: Response, expected: number, what: string): Promise<T> {
  const text = await response.text();
  if (response.status !== expected) throw new Error(`${what}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

/** `POST path` to a service of the stack as an admin; the created resource's id. */
export async function create(
  stack: Stack,
  service: 'registry' | 'prompt' | 'runner',
  path: string,
  body: unknown,
): Promise<{ id: string }> {
  return expectJson(await stack.call(service, path, { method: 'POST', body: JSON.stringify(body) }), 201, `POST ${path}`);
}

/**
 * What an editor would have set up for the runner's benches: a published part and a published template that uses it
 * (a system text, the part and a Liquid text entry), `modelId` its default model. Answers the template.
 */
export async function headlineTemplate(stack: Stack, modelId: string): Promise<{ id: string }> {
  const post = (path: string, body: unknown) => create(stack, 'prompt', path, body);
  const part = await post('/api/v1/parts', {
    kind: 'task',
    name: 'Headline',
    content: 'Write one headline for the post "{{ post.title }}".',
  });
  await post(`/api/v1/parts/${part.id}/publish`, { message: 'bench' });
  const template = await post('/api/v1/templates', {
    name: 'Headline',
    default_model_id: modelId,
    variables: [{ name: 'post', type: 'object' }],
    messages: [
      { role: 'system', entries: [{ type: 'text', text: 'You write headlines for an editorial team. Be brief.' }] },
      {
        role: 'user',
        entries: [
          { type: 'part', part_id: part.id },
          { type: 'text', text: '{{ post.summary }}' },
        ],
      },
    ],
  });
  await post(`/api/v1/templates/${template.id}/publish`, { message: 'bench' });
  return template;
}

/** What an editor would set up first: a provider on the emulator's OpenAI protocol and one model of it. */
export async function emulatedModel(stack: Stack, emulator: Emulator): Promise<{ id: string }> {
  const provider = await create(stack, 'registry', '/api/v1/providers', {
    name: 'Emulated OpenAI',
    kind: 'openai',
    base_url: emulator.baseUrl('openai'),
    api_key: 'sk-bench-key-0123456789',
  });
  return create(stack, 'registry', '/api/v1/models', {
    provider_id: provider.id,
    provider_model_id: 'emu-gpt-small',
    price: { input_per_mtok: '0.15', output_per_mtok: '0.6' },
  });
}

/** An account of `role` made the operator's way, and an API token of it with every scope of the role. */
export async function apiToken(adminUrl: string, role: 'viewer' | 'editor', name: string): Promise<string> {
  const account = await createAccountAsOperator(adminUrl, {
    email: `${name.replaceAll(' ', '-')}@example.com`,
    name: 'Bench',
    role,
    password: 'bench password 123',
  });
  return (await createTokenAsOperator(adminUrl, { role, name, account: account.email })).secret;
}

/** Bus logs go to stderr (warnings and errors only, unless LOG_LEVEL says otherwise), never into the report. */
export function benchLogger(service = 'bench'): Logger {
  return createLogger({ service, level: process.env.LOG_LEVEL ?? 'warn', destination: process.stderr });
}

export interface BenchServer {
  adminUrl: string;
  embedded: boolean;
  /** A fresh database cloned from the template built from sql/ (for the bus). */
  busDatabase(): Promise<TestDatabase>;
  /**
   * A fresh database for graphile-worker: its admin URL. Its schema is graphile-worker's own, migrated once per run
   * into a template that each one is cloned from (as the bus's databases are from sql/), so no anchor pays for it.
   */
  emptyDatabase(): Promise<{ url: string; name: string }>;
  stop(): Promise<void>;
}

/**
 * One PostgreSQL server for the whole run: BENCH_DATABASE_URL or TEST_DATABASE_URL (an admin URL of an
 * existing server), else a throwaway embedded PostgreSQL 18, with the template database built from sql/
 * and the service login roles. Every database it made is dropped on stop, and the embedded server with its folder.
 */
export async function startBenchServer(): Promise<BenchServer> {
  const given = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
  // The embedded server is started here rather than by startTestCluster, so its folder goes on stop.
  let embedded: { server: EmbeddedServer; parent: string } | undefined;
  if (!given) {
    const parent = mkdtempSync(join(tmpdir(), 'llmops-bench-pg-'));
    chmodSync(parent, 0o755); // the postgres system user must be able to enter it
    const server = await startEmbeddedPostgres({
      dataDir: join(parent, 'data'),
      port: await freePort(),
      password: randomBytes(12).toString('hex'),
      persistent: false,
    });
    embedded = { server, parent };
  }
  let cluster: TestCluster;
  try {
    cluster = await startTestCluster(given ?? embedded?.server.url);
  } catch (error) {
    await embedded?.server.stop();
    if (embedded) rmSync(embedded.parent, { recursive: true, force: true });
    throw error;
  }
  const drops: Array<() => Promise<void>> = [];
  const newDatabase = async (template?: string) => {
    const name = `llmops_bench_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
    await withClient(cluster.adminUrl, (client) =>
      client.query(`CREATE DATABASE ${quoteIdent(name)}${template ? ` TEMPLATE ${quoteIdent(template)}` : ''}`),
    );
    drops.push(async () => {
      await withClient(cluster.adminUrl, (client) => client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`));
    });
    return { url: withDatabase(cluster.adminUrl, name), name };
  };
  let graphileTemplate: Promise<string> | undefined;
  return {
    adminUrl: cluster.adminUrl,
    embedded: embedded !== undefined,
    async busDatabase() {
      const db = await createTestDatabase(cluster);
      drops.push(() => db.drop());
      return db;
    },
    async emptyDatabase() {
      graphileTemplate ??= newDatabase().then(async ({ url, name }) => {
        await (await graphileUtils(url)).release(); // migrated, and its connections closed for cloning
        return name;
      });
      return newDatabase(await graphileTemplate);
    },
    async stop() {
      for (const drop of drops.reverse()) await drop().catch(() => undefined);
      await cluster.stop();
      if (embedded) {
        await embedded.server.stop();
        rmSync(embedded.parent, { recursive: true, force: true });
      }
    },
  };
}

export function servicePool(db: TestDatabase, applicationName: string, max = 10): Pool {
  return createPool({ connectionString: db.urlFor(SERVICE), applicationName, max });
}

/** Runs statements as the admin of one database (bench-only tables, grants). */
export async function asAdmin(url: string, statements: string[]): Promise<void> {
  await withClient(url, async (client) => {
    for (const statement of statements) await client.query(statement);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Rejects after `ms` with a message that says what did not happen: every wait of the bench is bounded. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A promise with its resolve outside, for "the handler started" signals. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Nearest-rank percentile of unsorted samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export function mean(samples: readonly number[]): number {
  return samples.reduce((sum, x) => sum + x, 0) / samples.length;
}

export * from './rows.ts';

/** What one benchmark hands back to the report. */
export interface BenchResult {
  title: string;
  /** How it was measured, one line each. */
  method: string[];
  /** Header row, then rows: the part's own detail. */
  table: string[][];
  /** Its figures for the final table. */
  figures: ResultRow[];
  /** Observations that explain the figures (query counts, CPU, doorbell rings). */
  notes: string[];
}

/**
 * The size of a run: `npm run bench -- --quick` (a first look) measures the same figures
 * beside the same anchors with smaller counts and shorter durations. Set once by the entry point before any
 * part starts; parts read it through `sized` when they run, never at import.
 */
let quickRun = false;
export function setQuick(quick: boolean): void {
  quickRun = quick;
}
/** `full`, or `quick` in a quick run. */
export function sized<T>(full: T, quick: T): T {
  return quickRun ? quick : full;
}

/** A plain-text table: first column left-aligned, the others right-aligned. */
export function table(rows: readonly string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  const line = (row: readonly string[]) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
  const [head, ...body] = rows;
  if (!head) return '';
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(head), rule, ...body.map(line)].join('\n');
}

export function printResult(result: BenchResult): void {
  console.log(`\n## ${result.title}\n`);
  for (const line of result.method) console.log(`  ${line}`);
  console.log('');
  console.log(indent(table(result.table)));
  if (result.notes.length > 0) {
    console.log('');
    for (const note of result.notes) console.log(`  • ${note}`);
  }
  console.log('');
  for (const row of result.figures) {
    const anchor = row.anchor ? ` beside ${row.anchor.name} ${fmtFigure(row.anchor.value)} ${row.unit}` : '';
    console.log(
      `  ${row.pass ? 'PASS' : 'MISS'}  ${row.figure}: ${fmtFigure(row.ours)} ${row.unit}${anchor} (target ${row.target})`,
    );
  }
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}

function machineTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of cpus()) {
    const all = times.user + times.nice + times.sys + times.idle + times.irq;
    total += all;
    busy += all - times.idle;
  }
  return { busy, total };
}

/**
 * Runs `fn` and says how busy the CPUs were meanwhile: this process (in cores) and the whole machine
 * (share of all cores, PostgreSQL and anything else running included).
 */
export async function withCpu<T>(fn: () => Promise<T>): Promise<{ result: T; wallMs: number; cpu: number; machine: number }> {
  const cpu = process.cpuUsage();
  const machine = machineTimes();
  const started = performance.now();
  const result = await fn();
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  const after = machineTimes();
  return {
    result,
    wallMs,
    cpu: (used.user + used.system) / 1_000 / wallMs,
    machine: (after.busy - machine.busy) / (after.total - machine.total),
  };
}

/**
 * Counts the queries sent through a pool (the bus's round trips), by wrapping its query method. The bus
 * also checks out clients for the rare transaction (parking failed events), which this does not see.
 */
export function countQueries(pool: Pool): { readonly count: number } {
  let count = 0;
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    count++;
    return query(...args);
  };
  return {
    get count() {
      return count;
    },
  };
}

/** An answer to `send`: its status and body. */
export interface Sent {
  status: number;
  text: string;
}

/** One request on a keep-alive agent (node:http, lighter than fetch on the bench's side of the machine). */
export function send(agent: Agent, url: string, method: string, headers: Record<string, string>, body?: string): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        agent,
        headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
