import type { LiveEvent, LiveFilter } from './filter.ts';
import { LiveStream, type LiveHandler, type LiveStatus } from './stream.ts';

/** The tab's live events: the one stream, with its status as state (the indicator reads it). */
export class Live {
  status = $state<LiveStatus>('idle');
  readonly stream: LiveStream;

  constructor(stream?: (onStatus: (status: LiveStatus) => void) => LiveStream) {
    const onStatus = (status: LiveStatus) => (this.status = status);
    this.stream = stream ? stream(onStatus) : new LiveStream({ onStatus });
  }

  subscribe(filter: LiveFilter, handler: LiveHandler): () => void {
    return this.stream.subscribe(filter, handler);
  }
}

let tab: Live | undefined;

/** The tab's one live-events stream, made on first use (in the browser: nothing subscribes on the server). */
export function live(): Live {
  tab ??= new Live();
  return tab;
}

/**
 * Subscribes for as long as the calling component lives (call it during component set-up). `filter` is
 * read in an effect: when what it reads changes, the subscription follows, and the stream with it.
 * Patch rows from durable events in `handler`; `ready` and `resync` come too (reload on `resync`).
 */
export function onLive(filter: () => LiveFilter, handler: (event: LiveEvent) => void): void {
  $effect(() => live().subscribe(filter(), handler));
}
