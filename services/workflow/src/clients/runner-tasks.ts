import { getTask } from '@llmops/kit/contracts/runner';
import type { ServiceClient, SuccessBody } from '@llmops/kit/http/service-client';

export type TaskRead = SuccessBody<typeof getTask>;

/**
 * Reads a task once through the runner's contract (its output, cost, requester and correlation): the
 * write-back never trusts an event's correlation alone. A task the runner does not know is undefined;
 * a runner that does not answer throws, so the bus delivers the event again later.
 */
export async function readTask(runner: ServiceClient, taskId: string, requestId: string): Promise<TaskRead | undefined> {
  const answer = await runner.call(getTask, { params: { id: taskId }, query: {}, requestId, onBehalfOf: 'service:workflow' });
  if (answer.ok) return answer.body;
  if (answer.status === 404) return undefined;
  throw new Error(
    `the runner answered ${answer.status} reading task ${taskId}: ${answer.problem.detail ?? answer.problem.title}`,
  );
}
