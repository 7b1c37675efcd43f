/**
 * What the runner's chaos tests share: a PostgreSQL server of the test file's own (so it may be
 * restarted) with the schema and the services' login roles, a second runner instance beside a
 * harness's stack, and readings of tasks, attempts and events across many tasks at once.
 */
import type pg from 'pg';
import { withDatabase } from '@llmops/kit/db';
import { serviceDatabaseUrl } from '@llmops/kit/roles';
import type { ServiceName } from '@llmops/kit/services';
import { TEST_DEPLOYMENT, TEST_PASSWORDS } from '@llmops/kit/testing/database';
import { startStack, type Stack } from '@llmops/kit/testing/stack';
import { FAST_RUNNER_ENV, type Json, type RunnerHarness } from '../runner-support.ts';
import { startOwnCluster, until, type OwnCluster } from './cluster.ts';

export interface OwnDatabase {
  cluster: OwnCluster;
  adminUrl: string;
  urlFor(service: ServiceName): string;
}

/** A cluster of this test file's own, with database `llmops` built from sql/ and every service's login. */
export async function startOwnDatabase(): Promise<OwnDatabase> {
  const cluster = await startOwnCluster();
  const adminUrl = withDatabase(cluster.adminUrl, 'llmops');
  return {
    cluster,
    adminUrl,
    urlFor: (service) => serviceDatabaseUrl(adminUrl, service, TEST_DEPLOYMENT, TEST_PASSWORDS),
  };
}

/**
 * Another runner instance against the same database, calling the harness stack's registry and prompt
 * with its internal secret: what a second runner process of a scaled-out install is.
 */
export function startAnotherRunner(
  h: RunnerHarness,
  db: Pick<OwnDatabase, 'urlFor'>,
  options: { mode: 'in-process' | 'process'; env?: Record<string, string> },
): Promise<Stack> {
  return startStack({
    db,
    services: ['runner'],
    mode: options.mode,
    env: {
      ...FAST_RUNNER_ENV,
      ...options.env,
      LLMOPS_INTERNAL_SECRET: h.stack.secret,
      REGISTRY_URL: h.stack.urls.registry as string,
      PROMPT_URL: h.stack.urls.prompt as string,
    },
  });
}

/** The pid in a lease owner, `runner@<host>:<pid>:<random>`. */
export function pidOfOwner(owner: string): number {
  const match = /^runner@.*:(\d+):[0-9a-f]+$/.exec(owner);
  if (!match) throw new Error(`not a runner lease owner: ${owner}`);
  return Number(match[1]);
}

export const TERMINAL = ['succeeded', 'failed', 'cancelled', 'rejected'];
export const TERMINAL_TOPICS = ['runner.task.succeeded', 'runner.task.failed', 'runner.task.cancelled', 'runner.task.rejected'];

/** Creates `count` ad-hoc tasks on `model`, a few requests at a time; answers their ids in order. */
export async function createTasks(
  h: RunnerHarness,
  count: number,
  body: (index: number) => Record<string, unknown>,
  parallel = 8,
): Promise<string[]> {
  const ids: string[] = new Array<string>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const index = next++;
        const created = await h.createTask(body(index));
        ids[index] = created.tasks[0].id as string;
      }
    }),
  );
  return ids;
}

/** Waits (bounded) until every task is terminal, polling through the admin pool (PostgreSQL may be away meanwhile). */
export async function waitAllTerminal(admin: pg.Pool, ids: readonly string[], ms: number): Promise<Json[]> {
  let rows: Json[] = [];
  await until(
    async () => {
      ({ rows } = await admin.query('SELECT * FROM runner.tasks WHERE id = ANY ($1::uuid[])', [ids]));
      return rows.length === ids.length && rows.every((row) => TERMINAL.includes(row.status));
    },
    ms,
    () => {
      const counts: Record<string, number> = {};
      for (const row of rows) counts[row.status] = (counts[row.status] ?? 0) + 1;
      return `${ids.length} tasks to end (now ${JSON.stringify(counts)})`;
    },
  );
  return rows;
}

/** Terminal events in bus.outbox per task id. */
export async function terminalEvents(admin: pg.Pool, ids: readonly string[]): Promise<Map<string, string[]>> {
  const { rows } = await admin.query<{ task_id: string; topic: string }>(
    `SELECT payload->>'task_id' AS task_id, topic FROM bus.outbox
     WHERE topic = ANY ($2::text[]) AND payload->>'task_id' = ANY ($1::text[]) ORDER BY id`,
    [ids, TERMINAL_TOPICS],
  );
  const byTask = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const row of rows) byTask.get(row.task_id)?.push(row.topic);
  return byTask;
}

/** Attempt statuses per task id, in attempt order. */
export async function attemptStatuses(admin: pg.Pool, ids: readonly string[]): Promise<Map<string, string[]>> {
  const { rows } = await admin.query<{ task_id: string; status: string }>(
    'SELECT task_id, status FROM runner.attempts WHERE task_id = ANY ($1::uuid[]) ORDER BY task_id, number',
    [ids],
  );
  const byTask = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const row of rows) byTask.get(row.task_id)?.push(row.status);
  return byTask;
}
