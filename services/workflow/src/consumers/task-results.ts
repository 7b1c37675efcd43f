import { randomUUID } from 'node:crypto';
import type { Bus } from '@llmops/kit/bus/index';
import type { Pool } from '@llmops/kit/db';
import { taskCancelled, taskFailed, taskQueued, taskRejected, taskSucceeded } from '@llmops/kit/events/runner';
import type { ServiceClient } from '@llmops/kit/http/service-client';
import * as runs from '../db/runs.ts';
import { runIdOf, writeBack } from '../runs/write-back.ts';

/** The consumer group that writes our runs' task results back into posts. */
export const TASK_RESULTS_GROUP = 'workflow.task-results';

/**
 * The runner's task events, for our own runs only (runs/write-back.ts): `queued` records which task is
 * the run's (so the dashboard can stream it); a terminal event writes the result back once. Every
 * instance of the service shares the group, and the write-back is keyed by task id, so two instances make
 * one suggestion per task.
 */
export function consumeTaskResults(bus: Bus, deps: { pool: Pool; runner: ServiceClient }) {
  return bus.consume({
    group: TASK_RESULTS_GROUP,
    events: [taskQueued, taskSucceeded, taskFailed, taskCancelled, taskRejected],
    handler: async (event, { log }) => {
      if (event.topic === 'runner.task.queued') {
        const runId = runIdOf(event.payload);
        if (runId) await runs.setTask(deps.pool, runId, event.payload.task_id);
        return;
      }
      const status = await writeBack(deps, event, randomUUID());
      if (status) log.info({ taskId: event.payload.task_id, status }, 'task result written back');
    },
  });
}
