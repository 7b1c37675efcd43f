import { invalidate } from '$app/navigation';
import { Coalescer } from './coalesce.ts';
import type { LiveEvent, LiveFilter } from './filter.ts';
import { onLive } from './live.svelte.ts';

/** One coalescer per tab: however many components ask, a dependency reloads at most once per 500 ms. */
const reloads = new Coalescer<`app:${string}`>((dependency) => void invalidate(dependency), 500);

export interface ReloadOptions {
  /** Only these durable events reload (default: every one the filter wants). */
  when?: (event: Exclude<LiveEvent, { event: 'delta' | 'ready' | 'resync' }>) => boolean;
}

/**
 * Reloads the loads that `depends(dependency)` when a durable event the filter wants arrives, after a
 * `resync` (what was missed is gone), and once when a fresh stream starts (what happened between the
 * server's load and the stream's start), coalesced: a page open while 200 tasks finish reloads a few
 * times, not 200.
 */
export function reloadOnLive(dependency: `app:${string}`, filter: () => LiveFilter, { when }: ReloadOptions = {}): void {
  onLive(filter, (event) => {
    if (event.event === 'delta') return;
    if (event.event === 'ready' && event.data.resumed) return;
    if (event.event !== 'ready' && event.event !== 'resync' && when && !when(event)) return;
    reloads.request(dependency);
  });
}
