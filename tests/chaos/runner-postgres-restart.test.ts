/**
 * PostgreSQL restarted in the middle of a run of 100 tasks: the runner (its own process, never
 * restarted) loses its connections, attempts that ended meanwhile could not be recorded, and yet every
 * task ends, once: one terminal event each, never two succeeded attempts for one task.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmulator } from '@llmops/emulator/server';
import { startRunnerHarness } from '../runner-support.ts';
import { until } from './cluster.ts';
import { attemptStatuses, createTasks, startOwnDatabase, terminalEvents, TERMINAL, waitAllTerminal } from './runner-chaos.ts';

const TASKS = 100;

const own = await startOwnDatabase();
const emulator = await startEmulator();
afterAll(async () => {
  await emulator.stop();
  await own.cluster.destroy();
});

describe('PostgreSQL restarted during a run of tasks', () => {
  it('ends every task exactly once', async () => {
    const h = await startRunnerHarness(own, emulator, { mode: 'process', env: { RUNNER_CONCURRENCY: '8' } });
    try {
      // Every service process must live through the restart. What they write to stderr (a crash's stack
      // trace) goes in the message of a failure.
      const processes = [...h.stack.services.values()].map((s) => [s.service, s.process as ChildProcess] as const);
      let stderr = '';
      for (const [service, child] of processes)
        child.stderr?.on('data', (chunk: Buffer) => (stderr = `${stderr}[${service}] ${chunk.toString()}`.slice(-4_000)));
      const exited = () => processes.filter(([, child]) => child.exitCode !== null || child.signalCode !== null).map(([s]) => s);
      const { model } = await h.provider();
      // Each answer streams for most of a second, so some are in flight when PostgreSQL goes away.
      emulator.fault({ protocol: 'openai', path: '/v1/chat/completions', chunkDelayMs: 100 });
      const ids = await createTasks(h, TASKS, (i) => ({ model_id: model, messages: [{ role: 'user', content: `task ${i}` }] }));

      const count = async (status: string) =>
        Number(
          (await h.admin.query(`SELECT count(*) FROM runner.tasks WHERE id = ANY ($1::uuid[]) AND status = $2`, [ids, status]))
            .rows[0].count,
        );
      await until(async () => (await count('succeeded')) >= 10, 30_000, 'ten tasks to succeed');
      const before = { running: await count('running'), queued: await count('queued') };
      expect(before.running, 'tasks in flight when PostgreSQL stops').toBeGreaterThan(0);
      expect(before.queued, 'tasks still waiting when PostgreSQL stops').toBeGreaterThan(0);

      // Down until the streams that were in flight have ended: their attempts could not be recorded.
      const inFlight = emulator.requestsOf('openai', '/v1/chat/completions').filter((r) => r.endedAt === undefined);
      expect(inFlight.length).toBeGreaterThan(0);
      await own.cluster.stop();
      await until(async () => inFlight.every((r) => r.endedAt !== undefined), 10_000, 'the streams in flight to end');
      await own.cluster.start();
      expect(exited(), `service processes that died when PostgreSQL stopped; stderr:\n${stderr}`).toEqual([]);

      const done = await waitAllTerminal(h.admin, ids, 60_000);
      expect(exited(), `service processes that died; stderr:\n${stderr}`).toEqual([]);
      const statuses: Record<string, number> = {};
      for (const task of done) statuses[task.status] = (statuses[task.status] ?? 0) + 1;
      expect(statuses).toEqual({ succeeded: TASKS });
      expect(done.every((task) => TERMINAL.includes(task.status))).toBe(true);

      for (const [id, topics] of await terminalEvents(h.admin, ids)) expect(topics, id).toEqual(['runner.task.succeeded']);
      const attempts = await attemptStatuses(h.admin, ids);
      for (const [id, list] of attempts) {
        expect(
          list.filter((s) => s === 'succeeded'),
          id,
        ).toHaveLength(1);
        expect(list.at(-1), id).toBe('succeeded');
        expect(list, id).not.toContain('running');
      }
      // The restart did strike attempts in flight: theirs were abandoned and their tasks run again.
      const abandoned = [...attempts.values()].filter((list) => list.includes('abandoned')).length;
      expect(abandoned).toBeGreaterThan(0);
    } finally {
      await h.stop();
    }
  });
});
