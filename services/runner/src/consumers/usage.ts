import type { Bus } from '@llmops/kit/bus/index';
import { withTransaction, type Pool } from '@llmops/kit/db';
import { rollUp, TERMINAL_TASK_EVENTS, USAGE_GROUP } from '../tasks/usage.ts';

/**
 * Feeds the usage rollup's buckets from the runner's own terminal task events, off the finish path (issue 20:
 * no hot row where tasks end). Idempotent by the tasks' pending rows, so a redelivery adds nothing; until an
 * ended task's event is handled the rollup reads the task itself.
 */
export function consumeTaskUsage(bus: Bus, pool: Pool) {
  return bus.consume({
    group: USAGE_GROUP,
    events: [...TERMINAL_TASK_EVENTS],
    batchHandler: async (events) => {
      await withTransaction(pool, (tx) =>
        rollUp(
          tx,
          events.map((event) => event.payload.task_id),
        ),
      );
    },
  });
}
