// The whole system for the dashboard's and the workflow's benchmarks: the services as processes (as `npm start`
// runs them), the provider emulator in the bench process, the built dashboard when asked, an editor account
// and API token, and an emulated model with a published template that echoes its one variable.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createPool, type Pool } from '@llmops/kit/db';
import type { ServiceName } from '@llmops/kit/services';
import { freePort, type TestDatabase } from '@llmops/kit/testing/database';
import { startStack, type Stack } from '@llmops/kit/testing/stack';
import { startEmulator, type Emulator } from '@llmops/emulator/server';
import { createAccountAsOperator, createTokenAsOperator } from '@llmops/gateway/operator';
import { WEB_PROXY_SECRET, webEnv } from '../browser/environment.ts';
import { create, emulatedModel, expectJson, sleep, type BenchServer } from './lib.ts';
import { CHROMIUM, requireChromium, WEB_ENTRY } from './web-build.ts';

export { CHROMIUM };

export const EDITOR = { email: 'bench-editor@example.com', name: 'Bench Editor', password: 'bench password 123' };

export interface System {
  db: TestDatabase;
  /** The bench database as its admin (SQL seeding, EXPLAIN). */
  admin: Pool;
  emulator: Emulator;
  stack: Stack;
  gatewayUrl: string;
  /** The built dashboard, when asked for. */
  webUrl: string | undefined;
  token: string;
  modelId: string;
  /** A published template whose one user message is `{{ text }}` (the emulator answers "You said: " and the text). */
  templateId: string;
  /** Creates a task through the gateway with the API token; its id. */
  createTask(text: string, correlation?: Record<string, unknown>): Promise<string>;
  /** The pids of the service processes (and the dashboard's), by name. */
  pids: Map<string, number>;
  stop(): Promise<void>;
}

/** Fails with what to do when the dashboard has not been built (`npm run bench` builds it before any part runs). */
export function requireWebBuild(): void {
  if (!existsSync(WEB_ENTRY)) throw new Error(`${WEB_ENTRY} is missing: build the dashboard first (npm run build -w web)`);
  requireChromium();
}

export async function startSystem(
  server: BenchServer,
  options: { services: readonly ServiceName[]; web: boolean; env?: Record<string, string> },
): Promise<System> {
  const db = await server.busDatabase();
  const admin = createPool({ connectionString: db.adminUrl, applicationName: 'bench-system-admin', max: 4 });
  const emulator = await startEmulator();
  let stack: Stack | undefined;
  let web: ChildProcess | undefined;
  const stop = async () => {
    if (web && web.exitCode === null) {
      const exited = new Promise((resolve) => web?.once('exit', resolve));
      web.kill('SIGTERM');
      await exited;
    }
    await stack?.stop().catch(() => undefined);
    await emulator.stop();
    await admin.end();
  };
  try {
    stack = await startStack({
      db,
      services: options.services,
      mode: 'process',
      env: {
        LLMOPS_WEB_PROXY_SECRET: WEB_PROXY_SECRET,
        GATEWAY_RATE_LIMIT_TOKEN: '0',
        GATEWAY_RATE_LIMIT_ACCOUNT: '0',
        ...options.env,
      },
    });
    const gatewayUrl = stack.urls.gateway as string;
    const pids = new Map<string, number>();
    for (const [name, service] of stack.services) if (service.process?.pid) pids.set(name, service.process.pid);
    let webUrl: string | undefined;
    if (options.web) {
      webUrl = `http://127.0.0.1:${await freePort()}`;
      web = spawn(process.execPath, [WEB_ENTRY], { env: { ...webEnv(webUrl, gatewayUrl), LOG_LEVEL: 'warn' }, stdio: 'ignore' });
      if (web.pid) pids.set('web', web.pid);
      await waitHealthy(`${webUrl}/healthz`, web);
    }

    const model = await emulatedModel(stack, emulator);
    const template = await create(stack, 'prompt', '/api/v1/templates', {
      name: 'Echo',
      default_model_id: model.id,
      variables: [{ name: 'text', type: 'string' }],
      messages: [{ role: 'user', entries: [{ type: 'text', text: '{{ text }}' }] }],
    });
    await create(stack, 'prompt', `/api/v1/templates/${template.id}/publish`, { message: 'bench' });
    const account = await createAccountAsOperator(db.adminUrl, { ...EDITOR, role: 'editor' });
    const token = (await createTokenAsOperator(db.adminUrl, { role: 'editor', name: 'bench', account: account.email })).secret;
    const system: System = {
      db,
      admin,
      emulator,
      stack,
      gatewayUrl,
      webUrl,
      token,
      modelId: model.id,
      templateId: template.id,
      pids,
      async createTask(text, correlation) {
        const response = await fetch(`${gatewayUrl}/api/v1/tasks`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ template_id: template.id, inputs: { text }, ...(correlation ? { correlation } : {}) }),
        });
        const body = await expectJson<{ tasks: Array<{ id: string }> }>(response, 201, 'POST /api/v1/tasks');
        const id = body.tasks[0]?.id;
        if (!id) throw new Error('POST /api/v1/tasks answered no task');
        return id;
      },
      stop,
    };
    return system;
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitHealthy(url: string, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 150; attempt++) {
    if (child.exitCode !== null) throw new Error(`the dashboard exited (${child.exitCode}) before answering ${url}`);
    const ok = await fetch(url).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`the dashboard did not answer ${url} within 15 s`);
}

/** Waits (polling the runner's table every 100 ms, bounded) until every task of `ids` has finished. */
export async function waitFinished(admin: Pool, ids: readonly string[], timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const { rows } = await admin.query<{ open: number; failed: number }>(
      `SELECT count(*) FILTER (WHERE finished_at IS NULL)::int AS open,
              count(*) FILTER (WHERE status <> 'succeeded' AND finished_at IS NOT NULL)::int AS failed
         FROM runner.tasks WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    const { open = 0, failed = 0 } = rows[0] ?? {};
    if (failed > 0) throw new Error(`${failed} of the bench's tasks did not succeed`);
    if (open === 0) return;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${open} tasks not finished`);
    await sleep(100);
  }
}

/** The wall clock in milliseconds with sub-millisecond steps (what a page's `timeOrigin + now()` gives). */
export const wallClock = (): number => performance.timeOrigin + performance.now();

/** The load average (1 / 5 / 15 minutes) for the notes: the machine is shared. */
export function loadNote(): string {
  return `load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ')} (1 / 5 / 15 min) on ${cpus().length} cores`;
}
