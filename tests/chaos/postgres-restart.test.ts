import { afterAll, describe, expect, it } from 'vitest';
import { SERVICES } from '@llmops/kit/services';
import { startStack } from '@llmops/kit/testing/stack';
import { until } from './cluster.ts';
import { startOwnDatabase } from './runner-chaos.ts';

const db = await startOwnDatabase();
const { cluster } = db;
afterAll(() => cluster.destroy());

async function readiness(
  url: string,
): Promise<{ status: number; body: { status: string; checks: Record<string, { ok: boolean }> } }> {
  const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5_000) });
  return { status: response.status, body: (await response.json()) as never };
}

describe('PostgreSQL restarted while the services run', () => {
  it('makes every service not ready meanwhile, then ready again without a restart of the service', async () => {
    const stack = await startStack({ db, services: SERVICES, mode: 'process' });
    try {
      const pids = Object.fromEntries([...stack.services].map(([name, s]) => [name, s.process?.pid]));
      for (const service of SERVICES) expect((await readiness(stack.urls[service] as string)).status).toBe(200);

      await cluster.stop();
      for (const service of SERVICES) {
        const { status, body } = await readiness(stack.urls[service] as string);
        expect(status, service).toBe(503);
        expect(body.checks.database?.ok).toBe(false);
        expect((await fetch(`${stack.urls[service]}/healthz`)).status, `${service} stays alive`).toBe(200);
      }

      await cluster.start();
      for (const service of SERVICES) {
        await until(
          async () => (await readiness(stack.urls[service] as string)).status === 200,
          30_000,
          `${service} ready again`,
        );
      }
      for (const [name, s] of stack.services) {
        expect(s.process?.pid, `${name} was not restarted`).toBe(pids[name]);
        expect(s.process?.exitCode, `${name} still running`).toBeNull();
      }
    } finally {
      await stack.stop();
    }
  });
});
