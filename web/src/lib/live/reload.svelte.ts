import { afterNavigate, invalidate } from '$app/navigation';
import { navigating } from '$app/state';
import { Coalescer } from './coalesce.ts';
import type { LiveEvent, LiveFilter } from './filter.ts';
import { onLive } from './live.svelte.ts';

/** One coalescer per tab: however many components ask, a dependency reloads at most once per 500 ms. */
const reloads = new Coalescer<`app:${string}`>((dependency) => void invalidate(dependency), 500);

type DurableEvent = Exclude<LiveEvent, { event: 'delta' | 'ready' | 'resync' }>;

export interface ReloadOptions {
  /** Only these durable events reload (default: every one the filter wants). */
  when?: (event: DurableEvent) => boolean;
}

/**
 * Reloads the loads that `depends(dependency)` when a durable event the filter wants arrives, after a
 * `resync` (what was missed is gone), and once when a fresh stream starts (what happened between the
 * server's load and the stream's start), coalesced: a page open while 200 tasks finish reloads a few
 * times, not 200.
 *
 * `when` reads the page's data, which is the old page's while a navigation loads the next: an event that
 * arrives then may belong to the page being loaded, after its load read the database. Such events wait
 * for the navigation to end and are judged against the new data (a batch's last run finishing while its
 * page loads is not lost).
 */
export function reloadOnLive(dependency: `app:${string}`, filter: () => LiveFilter, { when }: ReloadOptions = {}): void {
  let held: DurableEvent[] = [];
  afterNavigate(() => {
    const events = held;
    held = [];
    if (when && events.some((event) => when(event))) reloads.request(dependency);
  });
  onLive(filter, (event) => {
    if (event.event === 'delta') return;
    if (event.event === 'ready' && event.data.resumed) return;
    if (event.event !== 'ready' && event.event !== 'resync' && when) {
      if (navigating.to) {
        held.push(event);
        return;
      }
      if (!when(event)) return;
    }
    reloads.request(dependency);
  });
}
