import type { Bus } from '@llmops/kit/bus/index';
import { taskRequested } from '@llmops/kit/events/runner';
import type { TaskService } from '../create/service.ts';

/** The consumer group that turns `runner.task.requested` events into tasks. */
export const REQUESTS_GROUP = 'runner.task-requests';

/**
 * Tasks other services ask for over the bus (ADR 0010): a valid request becomes queued tasks, an
 * invalid one a `rejected` task with its problems. Handled at least once: the requester's key, checked
 * by kit's idempotency core (services/kit/src/idempotency.ts) as an HTTP create's is, makes a redelivered
 * event the same task, and the same key with another request no task but a `runner.task.rejected`. A
 * prompt service or registry that does not answer fails the handler, so the bus retries the event later
 * instead of rejecting a valid request.
 */
export function consumeTaskRequests(bus: Bus, tasks: TaskService) {
  return bus.consume({
    group: REQUESTS_GROUP,
    events: [taskRequested],
    handler: async (event) => {
      await tasks.fromEvent(event, event.id);
    },
  });
}
