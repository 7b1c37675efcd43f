/** True when a ring for `topics` (undefined: any) concerns a reader of `wanted` (empty: every topic). */
export function concerns(topics: readonly string[] | undefined, wanted: ReadonlySet<string>): boolean {
  return topics === undefined || wanted.size === 0 || topics.some((topic) => wanted.has(topic));
}

/** Told of a ring: its topics (undefined: any), and true when it announced this process's own commit. */
export type Follower = (topics: readonly string[] | undefined, own: boolean) => void;

/**
 * An in-process wake-up signal with a counter, so a ring that arrives while a loop is busy querying is
 * not lost: the loop notes the count before its query and its wait returns at once if it moved.
 */
export class Bell {
  #count = 0;
  #sleepers = new Set<() => void>();
  #followers = new Set<Follower>();

  get count(): number {
    return this.#count;
  }

  /**
   * Wakes the sleepers, and tells the followers which topics the ring was for (undefined: any) and
   * whether it announced this process's own commit (heard in-process) rather than another's.
   */
  ring(topics?: readonly string[], own = false): void {
    this.#count++;
    const sleepers = [...this.#sleepers];
    this.#sleepers.clear();
    for (const wake of sleepers) wake();
    for (const follow of this.#followers) follow(topics, own);
  }

  /** Calls `fn` on every ring with its topics (another bell forwarding this one); returns the unsubscribe. */
  follow(fn: Follower): () => void {
    this.#followers.add(fn);
    return () => this.#followers.delete(fn);
  }

  /** Resolves after `ms`, on a ring after count `since` (at once if one happened already), or on abort. */
  wait(ms: number, since: number, signal?: AbortSignal): Promise<void> {
    if (this.#count !== since || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#sleepers.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#sleepers.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}

/** A plain delay that ends early on abort. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Bell().wait(ms, 0, signal);
}
