import { eventsRoute, GATEWAY_ROUTES } from '@llmops/kit/contracts/gateway';
import { liveTopicsFor, topicsMatching } from '@llmops/kit/events/live';
import type { ServiceApp } from '@llmops/kit/http/app';
import { Forbidden } from '@llmops/kit/problem';
import { scopesOf } from '../auth/access.ts';
import { callerOf } from '../auth/guard.ts';
import type { EventStreams } from '../ports.ts';
import { withAccess } from './access.ts';

/** GET /api/v1/events: the live event stream (see EventHub). */
export function mountEvents(app: ServiceApp, hub: EventStreams): void {
  app.openapi(withAccess(eventsRoute, GATEWAY_ROUTES), async (c) => {
    const { correlation, topic, last_event_id, ...query } = c.req.valid('query');
    // Only public topics, and of those the ones this caller's scopes cover (events/live.ts).
    const allowed = liveTopicsFor(scopesOf(callerOf(c)));
    const topics = topic === undefined ? allowed : [...new Set(topic.flatMap((prefix) => topicsMatching(prefix, allowed)))];
    if (topics.length === 0) {
      throw new Forbidden(`Your scopes cover none of the topics you asked for (${(topic ?? []).join(', ')}).`);
    }
    const filter = {
      ...query,
      topics,
      // The schema let only a JSON object through.
      correlation: correlation === undefined ? undefined : (JSON.parse(correlation) as Record<string, unknown>),
    };
    // Under node, the response's socket: a client too slow to keep up is cut off there.
    const outgoing = (c.env as { outgoing?: { destroy(): void } } | undefined)?.outgoing;
    // The header is what a browser sends on its own reconnects: it is newer than the query the page opened with.
    const lastEventId = c.req.valid('header')['last-event-id'] ?? last_event_id;
    const stream = await hub.open(filter, lastEventId, outgoing && (() => outgoing.destroy()));
    return new Response(stream, {
      status: 200,
      headers: {
        'Content-Type': 'text/event-stream; charset=utf-8',
        'Cache-Control': 'no-cache, no-transform',
        'X-Accel-Buffering': 'no',
      },
    }) as never;
  });
}
