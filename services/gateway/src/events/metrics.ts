import type { Metrics } from '@llmops/kit/metrics';
import type { EventHub } from './hub.ts';

/** Event stream clients of this gateway, and the slow ones it dropped, read from the hub at scrape time. */
export function observeEventStreams(metrics: Metrics, hub: Pick<EventHub, 'clients' | 'dropped' | 'live'>): void {
  metrics.collected({ name: 'llmops_sse_clients', help: 'Event stream (SSE) clients connected to this gateway' }, async () => [
    { value: hub.clients },
  ]);
  metrics.collected(
    {
      name: 'llmops_sse_reading',
      help: 'Whether this gateway reads the bus for event streams: 1 while it has clients (and GATEWAY_SSE_IDLE_MS after the last)',
    },
    async () => [{ value: hub.live ? 1 : 0 }],
  );
  metrics.counter({
    name: 'llmops_sse_dropped_clients_total',
    help: 'Event stream clients dropped for reading too slowly (their unsent backlog passed GATEWAY_SSE_MAX_BACKLOG_BYTES)',
    collect() {
      this.reset();
      this.inc(hub.dropped);
    },
  });
}
