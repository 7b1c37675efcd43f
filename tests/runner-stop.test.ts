/**
 * A runner that stops (a deploy, Ctrl-C) hands its running tasks back at once instead of leaving them
 * until their leases expire, and a task whose cancel was asked for ends cancelled, never back in the queue.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { startEmulator } from '@llmops/emulator/server';
import { startRunnerHarness } from './runner-support.ts';

const db = await useTestDatabase();
const emulator = await startEmulator();
// Heartbeats far apart, so the process cannot notice the cancel on its own before it stops; no drain.
const h = await startRunnerHarness(db, emulator, {
  env: { RUNNER_LEASE_MS: '60000', RUNNER_HEARTBEAT_MS: '20000', RUNNER_STOP_DRAIN_MS: '0' },
});
afterAll(() => emulator.stop());

describe('a runner that stops', () => {
  it('gives its running tasks back, and ends a task with a pending cancel as cancelled', async () => {
    const { model } = await h.provider();
    emulator.fault({ protocol: 'openai', delayFirstByteMs: 20_000, times: 2 });
    const created = await Promise.all(
      ['keep me', 'cancel me'].map((content) => h.createTask({ model_id: model, messages: [{ role: 'user', content }] })),
    );
    const [kept, cancelled] = created.map((body) => body.tasks[0].id as string) as [string, string];
    await Promise.all([kept, cancelled].map((id) => h.waitFor(id, ['running'])));
    // The cancel is asked for, but its notice has not reached the process running it yet.
    await h.admin.query('UPDATE runner.tasks SET cancel_requested_at = now() WHERE id = $1', [cancelled]);

    await h.stack.stop();

    const { rows } = await h.admin.query<{ id: string; status: string; lease_owner: string | null }>(
      'SELECT id, status, lease_owner FROM runner.tasks WHERE id = ANY($1::uuid[])',
      [[kept, cancelled]],
    );
    await h.admin.end();
    const status = Object.fromEntries(rows.map((row) => [row.id, row]));
    expect(status[kept]).toMatchObject({ status: 'queued', lease_owner: null });
    expect(status[cancelled]).toMatchObject({ status: 'cancelled' });
  });
});
