/**
 * A runner that stops (a deploy, Ctrl-C) hands its running tasks back at once instead of leaving them
 * until their leases expire, says so with `runner.task.queued` (so another instance's idle worker takes
 * them at once, not at its next poll), and a task whose cancel was asked for ends cancelled, never back
 * in the queue.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { startStack } from '@llmops/kit/testing/stack';
import { startEmulator } from '@llmops/emulator/server';
import { FAST_RUNNER_ENV, startRunnerHarness } from './runner-support.ts';

const db = await useTestDatabase();
const emulator = await startEmulator();
// Heartbeats far apart, so the process cannot notice the cancel on its own before it stops; no drain.
const slow = { RUNNER_LEASE_MS: '60000', RUNNER_HEARTBEAT_MS: '20000', RUNNER_STOP_DRAIN_MS: '0' };
const h = await startRunnerHarness(db, emulator, { env: slow });
afterAll(() => emulator.stop());

describe('a runner that stops', () => {
  it('gives its running tasks back, which another instance starts at once, and ends a task with a pending cancel as cancelled', async () => {
    const { model } = await h.provider();
    // A second instance that polls once a minute: only the give-back's event can make it look sooner.
    const other = await startStack({
      db,
      services: ['runner'],
      secret: h.stack.secret,
      env: {
        ...FAST_RUNNER_ENV,
        ...slow,
        RUNNER_POLL_MS: '60000',
        LLMOPS_BUS_SWEEP_MS: '60000',
        REGISTRY_URL: h.stack.urls.registry as string,
        PROMPT_URL: h.stack.urls.prompt as string,
      },
    });
    try {
      emulator.fault({ protocol: 'openai', delayFirstByteMs: 20_000, times: 2 });
      const created = await Promise.all(
        ['keep me', 'cancel me'].map((content) => h.createTask({ model_id: model, messages: [{ role: 'user', content }] })),
      );
      const [kept, cancelled] = created.map((body) => body.tasks[0].id as string) as [string, string];
      await Promise.all([kept, cancelled].map((id) => h.waitFor(id, ['running'])));
      // The cancel is asked for, but its notice has not reached the process running it yet.
      await h.admin.query('UPDATE runner.tasks SET cancel_requested_at = now() WHERE id = $1', [cancelled]);

      const stopped = Date.now();
      await h.stack.services.get('runner')?.stop();

      expect(await h.waitFor(cancelled, ['cancelled', 'succeeded', 'failed'], 5_000)).toMatchObject({ status: 'cancelled' });
      expect(await h.waitFor(kept, ['succeeded', 'failed', 'cancelled'], 15_000)).toMatchObject({ status: 'succeeded' });
      expect(Date.now() - stopped).toBeLessThan(15_000); // well before the other instance's poll or sweep
      const attempts = await h.attempts(kept);
      expect(attempts.map((a: { status: string }) => a.status)).toEqual(['abandoned', 'succeeded']);
      expect(attempts[0].worker).not.toBe(attempts[1].worker);
      const { rows } = await h.admin.query<{ topic: string; attempt: number }>(
        `SELECT topic, (payload->>'attempt')::int AS attempt FROM bus.outbox WHERE key = $1 ORDER BY txid, id`,
        [kept],
      );
      expect(rows).toEqual([
        { topic: 'runner.task.queued', attempt: 0 },
        { topic: 'runner.task.started', attempt: 1 },
        { topic: 'runner.task.queued', attempt: 1 }, // given back
        { topic: 'runner.task.started', attempt: 2 },
        { topic: 'runner.task.succeeded', attempt: 2 },
      ]);
    } finally {
      await other.stop();
      await h.stack.stop();
      await h.admin.end();
    }
  });
});
