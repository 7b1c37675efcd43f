import type { Bus } from '@llmops/kit/bus/index';
import type { Queryable } from '@llmops/kit/db';
import { rollUp, TERMINAL_TASK_EVENTS, USAGE_GROUP } from '../tasks/usage.ts';

/**
 * Feeds the usage rollup's buckets from the runner's own terminal task events, off the finish path (issue 20:
 * no hot row where tasks end). Idempotent by the tasks' pending rows, so a redelivery adds nothing; until an
 * ended task's event is handled the rollup reads the task itself.
 */
export function consumeTaskUsage(bus: Bus, db: Queryable) {
  return bus.consume({
    group: USAGE_GROUP,
    events: [...TERMINAL_TASK_EVENTS],
    batchHandler: async (events) => {
      await rollUp(
        db,
        events.map((event) => event.payload.task_id),
      );
    },
  });
}
