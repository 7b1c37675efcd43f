/**
 * kill -9 of the runner process that is streaming a task: another runner instance takes the task back
 * once the lease has expired and runs it to success exactly once. The dead process's attempt is kept
 * as `abandoned`; one attempt succeeds; one `runner.task.succeeded` is published. The same holds for a
 * process frozen (SIGSTOP, as a long GC pause or a suspended VM) past its lease that then wakes up and
 * finishes its stream: what it got back is recorded, but as an abandoned attempt, never a second success.
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import type { Stack } from '@llmops/kit/testing/stack';
import { startEmulator } from '@llmops/emulator/server';
import { startRunnerHarness } from '../runner-support.ts';
import { until } from './cluster.ts';
import { pidOfOwner, startAnotherRunner, startOwnDatabase, TERMINAL, terminalEvents } from './runner-chaos.ts';

const own = await startOwnDatabase();
const emulator = await startEmulator();
afterAll(async () => {
  await emulator.stop();
  await own.cluster.destroy();
});

describe('a runner process killed mid-stream', () => {
  it('loses the task to the other instance after the lease expires; the task succeeds exactly once', async () => {
    const h = await startRunnerHarness(own, emulator, { mode: 'process' });
    let other: Stack | undefined;
    try {
      other = await startAnotherRunner(h, own, { mode: 'process' });
      const runners = [h.stack, other].map((stack) => stack.services.get('runner')?.process as ChildProcess);
      const { model } = await h.provider();
      // The first answer streams a word a second, so the task is surely mid-stream when its runner dies;
      // the retry streams at full speed.
      emulator.fault({ protocol: 'openai', path: '/v1/chat/completions', chunkDelayMs: 1_000, times: 1 });

      const created = await h.createTask({ model_id: model, messages: [{ role: 'user', content: 'outlive the crash' }] });
      const id = created.tasks[0].id as string;
      let owner = '';
      await until(
        async () => {
          const { rows } = await h.admin.query(`SELECT status, lease_owner FROM runner.tasks WHERE id = $1`, [id]);
          owner = rows[0]?.lease_owner ?? '';
          const streaming = emulator
            .requestsOf('openai', '/v1/chat/completions')
            .some((r) => r.status === 200 && r.endedAt === undefined);
          return rows[0]?.status === 'running' && streaming;
        },
        15_000,
        'the task to be running and its answer streaming',
      );

      const victim = runners.find((child) => child.pid === pidOfOwner(owner));
      const survivor = runners.find((child) => child !== victim);
      expect(victim, `the lease owner ${owner} is one of the two runners`).toBeDefined();
      const exited = new Promise<NodeJS.Signals | null>((resolve) => victim?.once('exit', (_code, signal) => resolve(signal)));
      victim?.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      // What the dead process last wrote: its lease, which nobody extends any more.
      const { rows: leased } = await h.admin.query(
        `SELECT status, lease_owner, lease_expires_at FROM runner.tasks WHERE id = $1`,
        [id],
      );
      expect(leased[0]).toMatchObject({ status: 'running', lease_owner: owner });
      const leaseEnd = new Date(leased[0].lease_expires_at).getTime();

      const done = await h.waitFor(id, TERMINAL, 30_000);
      expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
      expect(done.output_text).toBe('You said: outlive the crash');
      expect(survivor?.exitCode).toBeNull();

      const attempts = await h.attempts(id);
      expect(attempts.map((a) => a.status)).toEqual(['abandoned', 'succeeded']);
      const [dead, rerun] = attempts;
      expect(dead.worker).toBe(owner);
      expect(dead.error).toMatchObject({ kind: 'lease_expired' });
      expect(pidOfOwner(rerun.worker)).toBe(survivor?.pid);
      // Taken back only after the lease had expired, and run again only after that.
      expect(new Date(dead.ended_at).getTime()).toBeGreaterThanOrEqual(leaseEnd);
      expect(new Date(rerun.started_at).getTime()).toBeGreaterThanOrEqual(leaseEnd);

      const { rows } = await h.admin.query(`SELECT topic FROM bus.outbox WHERE payload->>'task_id' = $1 ORDER BY id`, [id]);
      expect(rows.map((row) => row.topic)).toEqual([
        'runner.task.queued',
        'runner.task.started',
        'runner.task.retrying',
        'runner.task.started',
        'runner.model.used',
        'runner.task.succeeded',
      ]);
      expect((await terminalEvents(h.admin, [id])).get(id)).toEqual(['runner.task.succeeded']);
      // The provider was asked twice: the stream the kill cut off, and the rerun.
      const sent = emulator.requestsOf('openai', '/v1/chat/completions');
      expect(sent).toHaveLength(2);
      expect(sent[0]?.endedAt).toBeDefined();
    } finally {
      await other?.stop();
      await h.stop();
    }
  });
});

describe('a runner process frozen past its lease', () => {
  it('wakes to find the task done by the other instance; its late answer is kept as abandoned', async () => {
    const h = await startRunnerHarness(own, emulator, { mode: 'process' });
    let other: Stack | undefined;
    let frozen: ChildProcess | undefined;
    try {
      other = await startAnotherRunner(h, own, { mode: 'process' });
      const runners = [h.stack, other].map((stack) => stack.services.get('runner')?.process as ChildProcess);
      const { model } = await h.provider();
      emulator.clearRequests();
      // The first answer takes a few seconds to stream; the rerun streams at full speed.
      emulator.fault({ protocol: 'openai', path: '/v1/chat/completions', chunkDelayMs: 400, times: 1 });

      const created = await h.createTask({ model_id: model, messages: [{ role: 'user', content: 'freeze and thaw' }] });
      const id = created.tasks[0].id as string;
      let owner = '';
      await until(
        async () => {
          const { rows } = await h.admin.query(`SELECT status, lease_owner FROM runner.tasks WHERE id = $1`, [id]);
          owner = rows[0]?.lease_owner ?? '';
          const streaming = emulator
            .requestsOf('openai', '/v1/chat/completions')
            .some((r) => r.status === 200 && r.endedAt === undefined);
          return rows[0]?.status === 'running' && streaming;
        },
        15_000,
        'the task to be running and its answer streaming',
      );
      frozen = runners.find((child) => child.pid === pidOfOwner(owner));
      const survivor = runners.find((child) => child !== frozen);
      expect(frozen, `the lease owner ${owner} is one of the two runners`).toBeDefined();
      frozen?.kill('SIGSTOP');

      // Meanwhile the other instance takes the task back and finishes it.
      const done = await h.waitFor(id, TERMINAL, 30_000);
      expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
      const [first] = emulator.requestsOf('openai', '/v1/chat/completions');
      await until(async () => first?.endedAt !== undefined, 15_000, 'the frozen process’s stream to be fully sent');

      frozen?.kill('SIGCONT');
      // The thawed process records its attempt (the reaper never sets its latency).
      await until(async () => (await h.attempts(id))[0]?.latency_ms != null, 15_000, 'the thawed process to record its attempt');
      const attempts = await h.attempts(id);
      expect(attempts.map((a) => a.status)).toEqual(['abandoned', 'succeeded']);
      expect(attempts[0]).toMatchObject({ worker: owner, error: { kind: 'lease_expired' } });
      expect(pidOfOwner(attempts[1].worker)).toBe(survivor?.pid);
      expect((await terminalEvents(h.admin, [id])).get(id)).toEqual(['runner.task.succeeded']);
      const after = await h.waitFor(id, TERMINAL);
      expect(after).toMatchObject({ status: 'succeeded', output_text: 'You said: freeze and thaw' });
      expect(new Date(after.finished_at).getTime()).toBe(new Date(done.finished_at).getTime());
      expect(frozen?.exitCode, 'the thawed process runs on').toBeNull();
    } finally {
      // A stopped process cannot take the SIGTERM that stops the stack.
      frozen?.kill('SIGCONT');
      await other?.stop();
      await h.stop();
    }
  });
});
