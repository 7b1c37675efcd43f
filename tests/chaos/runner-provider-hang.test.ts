/**
 * A provider that takes a request and never answers: the attempt ends at the preset's first-byte
 * timeout as a `timeout`, and the task is retried and succeeds (through the official SDK, against the
 * emulator, on a PostgreSQL of this file's own).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startEmulator } from '@llmops/emulator/server';
import { startRunnerHarness } from '../runner-support.ts';
import { startOwnDatabase, TERMINAL, terminalEvents } from './runner-chaos.ts';

const own = await startOwnDatabase();
const emulator = await startEmulator();
const h = await startRunnerHarness(own, emulator);
afterAll(async () => {
  await h.stop();
  await emulator.stop();
  await own.cluster.destroy();
});

describe('a provider that hangs', () => {
  it('times the attempt out at the first-byte timeout, then retries the task to success', async () => {
    const { model } = await h.provider();
    const preset = await h.call('registry', 'POST', '/api/v1/presets', {
      name: 'one second to first byte',
      model_id: model,
      parameters: { first_byte_timeout_ms: 1_000 },
      retry_policy: { max_attempts: 3, initial_backoff_ms: 200, max_backoff_ms: 1_000 },
    });
    expect(preset.status, JSON.stringify(preset.body)).toBe(201);
    // The first request hangs for a minute, far past the preset's one second; later ones answer at once.
    emulator.fault({ protocol: 'openai', path: '/v1/chat/completions', delayFirstByteMs: 60_000, times: 1 });

    const created = await h.createTask({ preset_id: preset.body.id, messages: [{ role: 'user', content: 'are you there' }] });
    const id = created.tasks[0].id as string;
    const done = await h.waitFor(id, TERMINAL, 30_000);
    expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
    expect(done.output_text).toBe('You said: are you there');

    const attempts = await h.attempts(id);
    expect(attempts.map((a) => a.status)).toEqual(['failed', 'succeeded']);
    const [timedOut, retried] = attempts;
    expect(timedOut.error).toMatchObject({ kind: 'timeout', retryable: true });
    expect(timedOut.error.message).toMatch(/1000 ms/);
    // Ended by the timeout (about a second), not by the provider's minute.
    expect(timedOut.latency_ms).toBeGreaterThanOrEqual(900);
    expect(timedOut.latency_ms).toBeLessThan(20_000);
    expect(new Date(retried.started_at).getTime()).toBeGreaterThanOrEqual(new Date(timedOut.ended_at).getTime());

    // The provider saw two requests; the first was dropped by the runner before it was ever answered.
    const sent = emulator.requestsOf('openai', '/v1/chat/completions');
    expect(sent).toHaveLength(2);
    expect(sent[0]?.status).toBeUndefined();
    expect(sent[0]?.endedAt).toBeDefined();
    expect(sent[1]?.status).toBe(200);

    const { rows } = await h.admin.query(`SELECT topic FROM bus.outbox WHERE payload->>'task_id' = $1 ORDER BY id`, [id]);
    expect(rows.map((row) => row.topic)).toEqual([
      'runner.task.queued',
      'runner.task.started',
      'runner.model.used',
      'runner.task.retrying',
      'runner.task.started',
      // The same process announced this model's use a moment ago: once a minute is enough.
      'runner.task.succeeded',
    ]);
    expect((await terminalEvents(h.admin, [id])).get(id)).toEqual(['runner.task.succeeded']);
  });
});
