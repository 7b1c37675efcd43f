/**
 * The runner end to end against real PostgreSQL and the provider emulator (through the official SDKs):
 * create → claim → stream → attempt recorded → succeeded, with cost, timing and events.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import { startEmulator } from '@llmops/emulator/server';
import { startRunnerHarness, type Json } from './runner-support.ts';

const db = await useTestDatabase();
const emulator = await startEmulator();
const h = await startRunnerHarness(db, emulator);
afterAll(async () => {
  await h.stop();
  await emulator.stop();
});

describe('a task, end to end', () => {
  it('runs an ad-hoc task on the emulator and records the attempt, cost and events', async () => {
    const { model } = await h.provider({ price: { input_per_mtok: '2.5', output_per_mtok: '10' } });
    const created = await h.createTask({ model_id: model, messages: [{ role: 'user', content: 'Hello there' }] });
    expect(created.group_id).toBeNull();
    const task = created.tasks[0];
    // Its runner's worker had a free slot and nothing was queued: the create started it (no claim).
    expect(task.status).toBe('running');
    const done = await h.waitFor(task.id);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.output_text).toContain('Hello there');
    const attempts = await h.attempts(task.id);
    expect(attempts).toHaveLength(1);
    expect(attempts[0]).toMatchObject({ status: 'succeeded', number: 1 });
    expect(JSON.parse(attempts[0].wire.body).messages).toEqual([{ role: 'user', content: 'Hello there' }]);
    expect(JSON.stringify(attempts[0].wire)).not.toContain('sk-test-key');
    expect(Number(attempts[0].cost_usd)).toBeGreaterThan(0);
    expect(Number(done.cost_usd)).toBe(Number(attempts[0].cost_usd));
    const { rows: events } = await h.admin.query(`SELECT topic FROM bus.outbox WHERE payload->>'task_id' = $1 ORDER BY id`, [
      task.id,
    ]);
    expect(events.map((e: Json) => e.topic)).toEqual([
      'runner.task.queued',
      'runner.task.started',
      'runner.model.used',
      'runner.task.succeeded',
    ]);
  });
});
