/**
 * Helpers for runner tests: a stack (registry, prompt, runner) against a test database, a provider and
 * model in the registry pointing at the provider emulator, and ways to create tasks and wait for them.
 */
import pg from 'pg';
import { expect } from 'vitest';
import type { Identity } from '@llmops/kit/http/identity';
import type { Logger } from '@llmops/kit/logger';
import { startStack, type Stack } from '@llmops/kit/testing/stack';
import type { TestDatabase } from '@llmops/kit/testing/database';
import type { ServiceName } from '@llmops/kit/services';
import type { Emulator, Protocol } from '@llmops/emulator/server';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export const editor: Identity = { kind: 'account', subject: 'editor-1', role: 'editor', scopes: [], requestId: 'test' };

/** Runner settings short enough for tests (ADR 0014). */
export const FAST_RUNNER_ENV: Record<string, string> = {
  RUNNER_LEASE_MS: '2000',
  RUNNER_HEARTBEAT_MS: '300',
  RUNNER_POLL_MS: '500',
  RUNNER_RATE_WINDOW_MS: '60000',
  LLMOPS_BUS_SWEEP_MS: '500',
};

export interface RunnerHarness {
  stack: Stack;
  admin: pg.Pool;
  call(
    service: ServiceName,
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: Json; headers: Headers }>;
  provider(options?: ProviderOptions): Promise<{ provider: string; model: string }>;
  createTask(body: Record<string, unknown>, headers?: Record<string, string>): Promise<Json>;
  /** Waits (polling the database) until the task is in one of `statuses`; answers the row. */
  waitFor(taskId: string, statuses?: readonly string[], timeoutMs?: number): Promise<Json>;
  attempts(taskId: string): Promise<Json[]>;
  /** Holds back every task of a provider (as a Retry-After would), once the runner's copy of it exists. */
  pauseProvider(providerId: string): Promise<void>;
  resumeProvider(providerId: string): Promise<void>;
  /** Waits until the runner's copy of a provider holds the registry's change of `updatedAt` (or later). */
  waitForCopy(providerId: string, updatedAt: string): Promise<void>;
  stop(): Promise<void>;
}

export interface ProviderOptions {
  protocol?: Protocol;
  model?: string;
  max_concurrency?: number;
  rpm_limit?: number;
  monthly_spend_cap_usd?: string;
  timeout_ms?: number;
  price?: { input_per_mtok: string; output_per_mtok: string; per_image?: string };
  modality?: 'chat' | 'image';
  max_output_tokens?: number;
  /** The model's capabilities (the registry's defaults otherwise), e.g. `{ json_output: true }`. */
  capabilities?: Record<string, boolean>;
}

let counter = 0;

export async function startRunnerHarness(
  db: Pick<TestDatabase, 'adminUrl' | 'urlFor'>,
  emulator: Emulator,
  options: { services?: ServiceName[]; env?: Record<string, string>; mode?: 'in-process' | 'process'; log?: Logger } = {},
): Promise<RunnerHarness> {
  const stack = await startStack({
    db,
    services: options.services ?? ['registry', 'prompt', 'runner'],
    env: { ...FAST_RUNNER_ENV, ...options.env },
    mode: options.mode ?? 'in-process',
    ...(options.log ? { log: options.log } : {}),
  });
  const admin = new pg.Pool({ connectionString: db.adminUrl, max: 3 });
  // An idle connection lost to a PostgreSQL restart (chaos tests) is dropped, not an uncaught error.
  admin.on('error', () => {});

  const call: RunnerHarness['call'] = async (service, method, path, body, headers = {}) => {
    const response = await stack.call(
      service,
      path.startsWith('/') ? path : `/api/v1/${path}`,
      { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) },
      service === 'registry' ? undefined : editor,
    );
    const text = await response.text();
    let parsed: Json;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    return { status: response.status, body: parsed, headers: response.headers };
  };

  return {
    stack,
    admin,
    call,
    async provider(p = {}) {
      const protocol = p.protocol ?? 'openai';
      const created = await call('registry', 'POST', '/api/v1/providers', {
        name: `emulated ${protocol} ${++counter}`,
        kind: protocol,
        base_url: emulator.baseUrl(protocol),
        api_key: protocol === 'ollama' ? undefined : 'sk-test-key-0123456789',
        ...(p.max_concurrency ? { max_concurrency: p.max_concurrency } : {}),
        ...(p.rpm_limit ? { rpm_limit: p.rpm_limit } : {}),
        ...(p.monthly_spend_cap_usd ? { monthly_spend_cap_usd: p.monthly_spend_cap_usd } : {}),
        ...(p.timeout_ms ? { timeout_ms: p.timeout_ms } : {}),
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const model = await call('registry', 'POST', '/api/v1/models', {
        provider_id: created.body.id,
        provider_model_id:
          p.model ??
          (protocol === 'anthropic'
            ? 'emu-claude-fast'
            : protocol === 'ollama'
              ? 'emu-llama:latest'
              : p.modality === 'image'
                ? 'emu-image'
                : 'emu-gpt-small'),
        ...(p.modality ? { modality: p.modality } : {}),
        ...(p.max_output_tokens ? { max_output_tokens: p.max_output_tokens } : {}),
        ...(p.price ? { price: p.price } : {}),
        ...(p.capabilities ? { capabilities: p.capabilities } : {}),
      });
      expect(model.status, JSON.stringify(model.body)).toBe(201);
      return { provider: created.body.id as string, model: model.body.id as string };
    },
    async createTask(body, headers) {
      const created = await call('runner', 'POST', '/api/v1/tasks', body, headers);
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      return created.body;
    },
    async waitFor(taskId, statuses = ['succeeded', 'failed', 'cancelled', 'rejected'], timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const { rows } = await admin.query('SELECT * FROM runner.tasks WHERE id = $1', [taskId]);
        if (rows[0] && statuses.includes(rows[0].status)) return rows[0];
        if (Date.now() > deadline)
          throw new Error(`task ${taskId} is ${rows[0]?.status ?? 'missing'}, not ${statuses.join('/')}, after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async attempts(taskId) {
      const { rows } = await admin.query('SELECT * FROM runner.attempts WHERE task_id = $1 ORDER BY number', [taskId]);
      return rows;
    },
    async pauseProvider(providerId) {
      for (let i = 0; ; i++) {
        const paused = await admin.query(`UPDATE runner.providers SET paused_until = now() + interval '1 hour' WHERE id = $1`, [
          providerId,
        ]);
        if (paused.rowCount === 1) return;
        if (i > 200) throw new Error(`the runner has no copy of provider ${providerId}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    async resumeProvider(providerId) {
      await admin.query(`UPDATE runner.providers SET paused_until = NULL WHERE id = $1`, [providerId]);
    },
    async waitForCopy(providerId, updatedAt) {
      for (let i = 0; ; i++) {
        const { rowCount } = await admin.query(`SELECT 1 FROM runner.providers WHERE id = $1 AND updated_at >= $2`, [
          providerId,
          updatedAt,
        ]);
        if (rowCount === 1) return;
        if (i > 400) throw new Error(`the runner's copy of provider ${providerId} never reached ${updatedAt}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    async stop() {
      await stack.stop();
      await admin.end();
    },
  };
}
