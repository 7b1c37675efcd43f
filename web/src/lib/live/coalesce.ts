/**
 * At most one run per key per window: the first request runs at once, requests within the window after
 * a run make one more run when the window ends, never more. So a page open while 200 tasks finish
 * reloads its list a few times, not 200 (the account's rate limit), and never misses the last change:
 * a request always has a run that starts after it.
 */
export class Coalescer<Key> {
  readonly #run: (key: Key) => unknown;
  readonly #windowMs: number;
  /** When each key last ran. */
  readonly #lastRun = new Map<Key, number>();
  /** Keys with a run waiting for their window to end. */
  readonly #pending = new Map<Key, ReturnType<typeof setTimeout>>();

  constructor(run: (key: Key) => unknown, windowMs = 500) {
    this.#run = run;
    this.#windowMs = windowMs;
  }

  request(key: Key): void {
    if (this.#pending.has(key)) return;
    const wait = (this.#lastRun.get(key) ?? -Infinity) + this.#windowMs - Date.now();
    if (wait <= 0) {
      this.#fire(key);
      return;
    }
    this.#pending.set(
      key,
      setTimeout(() => {
        this.#pending.delete(key);
        this.#fire(key);
      }, wait),
    );
  }

  /** Drops waiting runs (the page that asked for them is gone). */
  cancel(key?: Key): void {
    for (const [pending, timer] of this.#pending) {
      if (key !== undefined && pending !== key) continue;
      clearTimeout(timer);
      this.#pending.delete(pending);
    }
  }

  #fire(key: Key): void {
    this.#lastRun.set(key, Date.now());
    this.#run(key);
  }
}
