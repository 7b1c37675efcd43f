import { z } from '@hono/zod-openapi';
import type { EventContract } from '../bus/contract.ts';
import { LIVE_EVENTS } from '../events/live.ts';
import { TaskDeltaSchema } from '../events/runner.ts';

/**
 * The messages of the public event stream (`GET /api/v1/events`) as one `LiveEvent` component of the
 * public document, generated from the event contracts the stream shows (events/live.ts): nothing here is
 * written twice, so the dashboard's generated client types every message. A message is what an
 * `EventSource` hands over: its `event` name, its `id` when it has one, and its `data` parsed as JSON
 * (the shape OpenAPI 3.2 gives server-sent events as `itemSchema`).
 */

/** `runner.task.queued` → `RunnerTaskQueued`. */
function componentName(topic: string): string {
  return topic
    .split(/[._]/)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join('');
}

const position = z.string().openapi({
  description: 'A commit-safe bus position, `<txid>-<id>`: resume after it with `Last-Event-ID` or `last_event_id`',
  example: '48230-1911',
});

/** The envelope of one durable event of the contract, as the stream sends it in `data`. */
function envelopeOf(contract: EventContract) {
  return z
    .object({
      id: z.uuid().openapi({ description: 'The event id (UUIDv7)' }),
      topic: z.literal(contract.topic),
      key: z.string().openapi({ description: 'Its ordering key (the task id for task events)' }),
      position,
      payload: contract.payload,
      created_at: z.iso.datetime({ offset: true }).openapi({ description: 'When its transaction started' }),
    })
    .openapi(componentName(contract.topic), { description: `A \`${contract.topic}\` event` });
}

export const TaskDeltaEventSchema = z.object(TaskDeltaSchema.shape).openapi('TaskDelta', {
  description:
    'Streamed output of a running task (`event: delta`), live only and without an id: a client that missed some ' +
    're-reads the task. `seq` counts from 0 within each attempt.',
});

export const ReadySchema = z
  .object({
    position,
    resumed: z.boolean().openapi({ description: 'True when the stream resumed from the id you gave, after what you missed' }),
  })
  .openapi('Ready', { description: 'The stream is live (`event: ready`), after any replay of what you missed' });

export const ResyncSchema = z
  .object({
    reason: z.string().openapi({ description: 'Why what you missed cannot be replayed' }),
    position,
  })
  .openapi('Resync', {
    description:
      'Your position is older than the retained events, ahead of every event, or not a position (`event: resync`): ' +
      'reload what you show, then carry on with the stream.',
  });

const durable = LIVE_EVENTS.map((contract) =>
  z.object({ event: z.literal(contract.topic), id: position, data: envelopeOf(contract) }),
);

export const LiveEventSchema = z
  .discriminatedUnion('event', [
    z.object({ event: z.literal('ready'), id: position.optional(), data: ReadySchema }),
    z.object({ event: z.literal('resync'), id: position, data: ResyncSchema }),
    z.object({ event: z.literal('delta'), data: TaskDeltaEventSchema }),
    ...durable,
  ])
  .openapi('LiveEvent', {
    description:
      'One message of the event stream: `event` is the topic of a durable event (with `id` = its bus position) or ' +
      '`delta`, `ready`, `resync`; `data` is the message data parsed as JSON.',
  });
