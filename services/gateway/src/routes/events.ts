import { eventsRoute, GATEWAY_ROUTES } from '@llmops/kit/contracts/gateway';
import type { ServiceApp } from '@llmops/kit/http/app';
import type { EventStreams } from '../ports.ts';
import { withAccess } from './access.ts';

/** GET /api/v1/events: the live event stream (see EventHub). */
export function mountEvents(app: ServiceApp, hub: EventStreams): void {
  app.openapi(withAccess(eventsRoute, GATEWAY_ROUTES), async (c) => {
    const { correlation, ...query } = c.req.valid('query');
    // The schema let only a JSON object through.
    const filter = {
      ...query,
      correlation: correlation === undefined ? undefined : (JSON.parse(correlation) as Record<string, unknown>),
    };
    // Under node, the response's socket: a client too slow to keep up is cut off there.
    const outgoing = (c.env as { outgoing?: { destroy(): void } } | undefined)?.outgoing;
    const stream = await hub.open(filter, c.req.valid('header')['last-event-id'], outgoing && (() => outgoing.destroy()));
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
