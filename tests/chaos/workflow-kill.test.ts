/**
 * kill -9 of the workflow process between a task finishing and its event being handled: the runner
 * finishes the task while no workflow instance runs; another instance started afterwards catches up from
 * the outbox and writes the result back exactly once (one suggestion for the task, the run finished).
 */
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { createIdentitySigner, IDENTITY_HEADER } from '@llmops/kit/http/identity';
import { urlVariable, type ServiceName } from '@llmops/kit/services';
import { startStack, type Stack } from '@llmops/kit/testing/stack';
import { startEmulator } from '@llmops/emulator/server';
import { startRunnerHarness } from '../runner-support.ts';
import { admin, editor, type Json } from '../workflow-support.ts';
import { until } from './cluster.ts';
import { startOwnDatabase, TERMINAL } from './runner-chaos.ts';

const own = await startOwnDatabase();
const emulator = await startEmulator();
afterAll(async () => {
  await emulator.stop();
  await own.cluster.destroy();
});

describe('a workflow process killed before it handles its task’s end', () => {
  it('leaves the result to the next instance, which writes it back exactly once', async () => {
    const env = { LLMOPS_BUS_LEASE_MS: '2000', LLMOPS_BUS_SWEEP_MS: '500' };
    // Only the workflow, the process killed, runs as a process of its own; the rest run in this one.
    const h = await startRunnerHarness(own, emulator, { services: ['registry', 'prompt', 'runner'], env });
    const workflowEnv = {
      ...env,
      LLMOPS_INTERNAL_SECRET: h.stack.secret,
      ...Object.fromEntries(Object.entries(h.stack.urls).map(([name, url]) => [urlVariable(name as ServiceName), url as string])),
    };
    const signer = createIdentitySigner(h.stack.secret);
    let first: Stack | undefined;
    let next: Stack | undefined;
    try {
      first = await startStack({ db: own, services: ['workflow'], mode: 'process', env: workflowEnv });
      const workflowUrl = first.urls.workflow as string;
      const wf = async (method: string, path: string, body: unknown, as = editor): Promise<Json> => {
        const response = await fetch(`${workflowUrl}/api/v1/workflow${path}`, {
          method,
          headers: { [IDENTITY_HEADER]: await signer.sign(as, 'workflow'), 'content-type': 'application/json' },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const text = await response.text();
        expect(response.status, text).toBeLessThan(300);
        return JSON.parse(text);
      };
      const { model } = await h.provider();
      const template = await h.call('prompt', 'POST', '/api/v1/templates', {
        name: 'echo',
        variables: [{ name: 'text', type: 'string' }],
        messages: [{ role: 'user', entries: [{ type: 'text', text: '{{ text }}' }] }],
      });
      await h.call('prompt', 'POST', `/api/v1/templates/${template.body.id}/publish`, {});
      const stages = await wf('GET', '/stages', undefined);
      const action = await wf(
        'POST',
        '/actions',
        {
          substage_id: stages.items[0].substages[0].id,
          label: 'Title',
          template_id: template.body.id,
          model_id: model,
          target_field: 'working_title',
          inputs: { text: { from: 'literal', value: 'survive the crash' } },
        },
        admin,
      );
      const post = await wf('POST', '/posts', { title: 'Crash' });
      // The answer waits 3 s: time to kill the workflow before the task ends.
      emulator.fault({ match: 'survive the crash', delayFirstByteMs: 3_000 });
      const { runs } = await wf('POST', `/posts/${post.id}/actions/${action.id}/runs`, undefined);
      const runId = runs[0].id as string;

      const victim = first.services.get('workflow')?.process as ChildProcess;
      const exited = new Promise<NodeJS.Signals | null>((resolve) => victim.once('exit', (_code, signal) => resolve(signal)));
      victim.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');

      let taskId = '';
      await until(
        async () => {
          const { rows } = await h.admin.query(`SELECT id, status FROM runner.tasks WHERE correlation->>'action_run_id' = $1`, [
            runId,
          ]);
          taskId = rows[0]?.id ?? '';
          return TERMINAL.includes(rows[0]?.status);
        },
        20_000,
        'the run’s task to end',
      );
      const { rows: before } = await h.admin.query('SELECT status FROM workflow.action_runs WHERE id = $1', [runId]);
      expect(before[0].status).toBe('requested');

      next = await startStack({ db: own, services: ['workflow'], mode: 'process', env: workflowEnv });
      let run: Json;
      await until(
        async () => {
          ({
            rows: [run],
          } = await h.admin.query('SELECT status, task_id FROM workflow.action_runs WHERE id = $1', [runId]));
          return run.status !== 'requested';
        },
        20_000,
        'the next instance to write the result back',
      );
      expect(run).toEqual({ status: 'suggested', task_id: taskId });
      const { rows: made } = await h.admin.query('SELECT value, status FROM workflow.suggestions WHERE task_id = $1', [taskId]);
      expect(made).toEqual([{ value: 'You said: survive the crash', status: 'open' }]);
    } finally {
      await next?.stop();
      await first?.stop();
      await h.stop();
    }
  });
});
