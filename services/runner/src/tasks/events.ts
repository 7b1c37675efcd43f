import { envelope, type Envelope, type PayloadInputOf } from '@llmops/kit/bus/index';
import type { TASK_EVENTS } from '@llmops/kit/events/runner';
import type { TaskRow } from './task.ts';

type TaskEvent = (typeof TASK_EVENTS)[number];

/** The fields every task event takes from the task row (docs/events.md). */
type Common = 'task_id' | 'group_id' | 'correlation' | 'requester' | 'model_id' | 'provider_id' | 'attempt' | 'at';

/**
 * The one builder of `runner.task.*` envelopes: the task's own fields come from its row as the
 * transition left it (its requester, model, provider and attempts so far), so no event can name a
 * different requester, model or attempt than the task it reports; `extra` is what the topic adds.
 */
export function taskEvent<C extends TaskEvent>(event: C, row: TaskRow, extra: Omit<PayloadInputOf<C>, Common>): Envelope {
  const common = {
    task_id: row.id,
    group_id: row.group_id,
    correlation: row.correlation,
    requester: row.requester,
    model_id: row.model_id,
    provider_id: row.provider_id,
    attempt: row.attempts,
    at: new Date().toISOString(),
  };
  return envelope(event, { ...common, ...extra } as PayloadInputOf<C>);
}
