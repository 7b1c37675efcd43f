/**
 * A storm of 429s with Retry-After: once a provider has said when to come back, no request of any task
 * reaches it before then (the runner pauses the provider, not only the task that got the 429), and
 * every task succeeds once the storm has passed. Read from the emulator's own request log.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { startEmulator } from '@llmops/emulator/server';
import { startRunnerHarness } from '../runner-support.ts';
import { attemptStatuses, createTasks, startOwnDatabase, terminalEvents, waitAllTerminal } from './runner-chaos.ts';

const WORKERS = 10;
const TASKS = 30;
const RETRY_AFTER_S = 1;
/** Two full batches get a 429: the provider is paused twice. */
const STORM = 2 * WORKERS;

const own = await startOwnDatabase();
const emulator = await startEmulator();
const h = await startRunnerHarness(own, emulator, {
  env: { RUNNER_CONCURRENCY: String(WORKERS), RUNNER_CLAIM_BATCH: String(WORKERS) },
});
afterAll(async () => {
  await h.stop();
  await emulator.stop();
  await own.cluster.destroy();
});

describe('a 429 storm with Retry-After', () => {
  it('asks the provider nothing before Retry-After has passed, then gets every task done', async () => {
    const { provider, model } = await h.provider();
    // Hold the work back until every task exists, so the first claim takes a full batch.
    await h.pauseProvider(provider);
    const ids = await createTasks(h, TASKS, (i) => ({ model_id: model, messages: [{ role: 'user', content: `storm ${i}` }] }));

    // The 429s come a moment after the request, as from a loaded provider, so that each batch has wholly
    // arrived before its first 429: a request already on its way when a 429 was sent is not one the
    // runner could have held back. Every request after that must wait.
    emulator.fault({
      protocol: 'openai',
      path: '/v1/chat/completions',
      status: 429,
      retryAfter: RETRY_AFTER_S,
      delayFirstByteMs: 600,
      times: STORM,
    });
    await h.resumeProvider(provider);
    const done = await waitAllTerminal(h.admin, ids, 45_000);
    expect(done.filter((task) => task.status !== 'succeeded').map((task) => [task.status, task.error])).toEqual([]);

    const sent = emulator.requestsOf('openai', '/v1/chat/completions');
    const limited = sent.filter((r) => r.status === 429);
    expect(limited).toHaveLength(STORM);
    expect(sent.filter((r) => r.status === 200)).toHaveLength(TASKS);
    // After each 429 answered at T with Retry-After R, no request before T + R. T is when the response
    // ended, the latest the runner could have known; a request counts from when it arrived, the earliest
    // it can be seen. The 2 ms only absorb the millisecond rounding of the two timestamps.
    const early: string[] = [];
    for (const answer of limited) {
      const T = Date.parse(answer.endedAt as string);
      for (const request of sent) {
        const at = Date.parse(request.at);
        if (at > T && at < T + RETRY_AFTER_S * 1_000 - 2)
          early.push(`#${request.seq} at ${request.at}, ${at - T} ms after the 429 of #${answer.seq} at ${answer.endedAt}`);
      }
    }
    expect(early).toEqual([]);

    // Each task that got a 429 failed that attempt as a rate limit that said when, then succeeded.
    const attempts = await attemptStatuses(h.admin, ids);
    const shapes = [...attempts.values()].map((statuses) => statuses.join(','));
    expect(shapes.filter((s) => s === 'failed,succeeded')).toHaveLength(STORM);
    expect(shapes.filter((s) => s === 'succeeded')).toHaveLength(TASKS - STORM);
    const { rows: failed } = await h.admin.query(
      `SELECT error FROM runner.attempts WHERE task_id = ANY ($1::uuid[]) AND status = 'failed'`,
      [ids],
    );
    for (const row of failed) expect(row.error).toMatchObject({ kind: 'rate_limit', retry_after_ms: RETRY_AFTER_S * 1_000 });
    for (const [id, topics] of await terminalEvents(h.admin, ids)) expect(topics, id).toEqual(['runner.task.succeeded']);
  });
});
