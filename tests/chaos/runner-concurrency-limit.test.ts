/**
 * A provider's max_concurrency holds across runner instances: two runners (one in this process, one a
 * process of its own) share 500 tasks of a provider limited to 3 at once, and the provider (the emulator, counting requests from arrival to the
 * end of their response) never has more than 3 in flight. Every task succeeds, once.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Stack } from '@llmops/kit/testing/stack';
import { startEmulator } from '@llmops/emulator/server';
import { startRunnerHarness } from '../runner-support.ts';
import {
  attemptStatuses,
  createTasks,
  pidOfOwner,
  startAnotherRunner,
  startOwnDatabase,
  terminalEvents,
  waitAllTerminal,
} from './runner-chaos.ts';

const TASKS = 500;
const MAX_CONCURRENCY = 3;
/** Each runner would take far more at once than the provider allows. */
const RUNNER_ENV = { RUNNER_CONCURRENCY: '16', RUNNER_CLAIM_BATCH: '16' };

const own = await startOwnDatabase();
const emulator = await startEmulator();
afterAll(async () => {
  await emulator.stop();
  await own.cluster.destroy();
});

describe('max_concurrency across runner instances', () => {
  it('never has more requests in flight at the provider than its limit', async () => {
    const h = await startRunnerHarness(own, emulator, { env: RUNNER_ENV });
    let other: Stack | undefined;
    try {
      other = await startAnotherRunner(h, own, { mode: 'process', env: RUNNER_ENV });
      const { provider, model } = await h.provider({ max_concurrency: MAX_CONCURRENCY });
      // Hold the work until all tasks exist, so both instances compete for a full queue from the start.
      await h.pauseProvider(provider);
      const ids = await createTasks(h, TASKS, (i) => ({ model_id: model, messages: [{ role: 'user', content: `limit ${i}` }] }));
      // Streams long enough to overlap: a few chunks a few milliseconds apart.
      emulator.fault({ protocol: 'openai', path: '/v1/chat/completions', chunkDelayMs: 5 });
      emulator.resetMaxInFlight();
      await h.resumeProvider(provider);

      const done = await waitAllTerminal(h.admin, ids, 50_000);
      expect(done.filter((task) => task.status !== 'succeeded').map((task) => [task.status, task.error])).toEqual([]);
      expect(emulator.stats().byProtocol.openai.maxInFlight, 'requests in flight at the provider at once').toBeLessThanOrEqual(
        MAX_CONCURRENCY,
      );
      // The limit was reached (the test could have caught a fourth), and both instances did the work.
      expect(emulator.maxInFlight).toBe(MAX_CONCURRENCY);
      const { rows: workers } = await h.admin.query<{ worker: string; attempts: string }>(
        `SELECT worker, count(*) AS attempts FROM runner.attempts WHERE task_id = ANY ($1::uuid[]) GROUP BY worker`,
        [ids],
      );
      expect(new Set(workers.map((w) => pidOfOwner(w.worker)))).toEqual(
        new Set([process.pid, other.services.get('runner')?.process?.pid]),
      );

      // The runner's own record agrees: never more than the limit of attempts open at once.
      const { rows: overlap } = await h.admin.query<{ most: number }>(
        `SELECT max(open)::int AS most FROM (
           SELECT sum(delta) OVER (ORDER BY at, delta) AS open FROM (
             SELECT started_at AS at, 1 AS delta FROM runner.attempts WHERE task_id = ANY ($1::uuid[])
             UNION ALL SELECT ended_at, -1 FROM runner.attempts WHERE task_id = ANY ($1::uuid[])) edges) running`,
        [ids],
      );
      expect(overlap[0]?.most).toBeLessThanOrEqual(MAX_CONCURRENCY);

      for (const [id, statuses] of await attemptStatuses(h.admin, ids)) expect(statuses, id).toEqual(['succeeded']);
      for (const [id, topics] of await terminalEvents(h.admin, ids)) expect(topics, id).toEqual(['runner.task.succeeded']);
      expect(emulator.requestsOf('openai', '/v1/chat/completions')).toHaveLength(TASKS);
    } finally {
      await other?.stop();
      await h.stop();
    }
  });
});
