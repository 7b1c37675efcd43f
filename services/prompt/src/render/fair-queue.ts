/**
 * Who renders next (docs/prompts.md, Limits). Each caller has at most `perCaller` jobs running and at
 * most `perCaller + queuePerCaller` in flight; callers with work waiting take turns, one job each, so
 * a long backlog of one caller does not hold up the others.
 */
export class FairQueue<T> {
  readonly #perCaller: number;
  readonly #inFlightPerCaller: number;
  readonly #callers = new Map<string, { running: number; waiting: T[] }>();
  /** Callers with jobs waiting, in turn order. */
  #turns: string[] = [];

  constructor({ perCaller, queuePerCaller }: { perCaller: number; queuePerCaller: number }) {
    this.#perCaller = perCaller;
    this.#inFlightPerCaller = perCaller + queuePerCaller;
  }

  /** Adds a caller's job; false (nothing added) when the caller already has its most in flight. */
  offer(caller: string, job: T): boolean {
    const state = this.#callers.get(caller) ?? { running: 0, waiting: [] };
    if (state.running + state.waiting.length >= this.#inFlightPerCaller) return false;
    this.#callers.set(caller, state);
    state.waiting.push(job);
    if (state.waiting.length === 1) this.#turns.push(caller);
    return true;
  }

  /** The next job to run, counted as running until `done`: the first caller in turn that may run one more. */
  take(): { caller: string; job: T } | undefined {
    for (let i = 0; i < this.#turns.length; i += 1) {
      const caller = this.#turns[i] as string;
      const state = this.#callers.get(caller);
      if (!state || state.running >= this.#perCaller) continue;
      const job = state.waiting.shift() as T;
      state.running += 1;
      this.#turns.splice(i, 1);
      if (state.waiting.length > 0) this.#turns.push(caller);
      return { caller, job };
    }
    return undefined;
  }

  /** A caller's running job ended. */
  done(caller: string): void {
    const state = this.#callers.get(caller);
    if (!state) return;
    state.running -= 1;
    if (state.running <= 0 && state.waiting.length === 0) this.#callers.delete(caller);
  }

  /** Takes every waiting job out (when stopping). */
  drain(): T[] {
    const jobs = [...this.#callers.values()].flatMap((state) => state.waiting.splice(0));
    this.#turns = [];
    return jobs;
  }

  get waiting(): number {
    let n = 0;
    for (const state of this.#callers.values()) n += state.waiting.length;
    return n;
  }
}
