/**
 * Named parts of one request's time, logged with its `request` line as `spans` (milliseconds): where a
 * slow request spent its time (the render call, a read, the insert and its commit) without a tracer.
 * A handler times what it awaits with `time`; `mark` notes how long after the request's start a point
 * was reached (the handler's start: what the guard, the body and its validation took, event-loop waits
 * included). Spans of the same name add up.
 */
export class Spans {
  readonly #start: number;
  #recorded: Record<string, number> | undefined;

  constructor(start = performance.now()) {
    this.#start = start;
  }

  async time<T>(name: string, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.add(name, performance.now() - started);
    }
  }

  /** Records how long after the request's start this point was reached. */
  mark(name: string): void {
    this.add(name, performance.now() - this.#start);
  }

  add(name: string, ms: number): void {
    this.#recorded ??= {};
    this.#recorded[name] = (this.#recorded[name] ?? 0) + ms;
  }

  /** The spans rounded to 0.1 ms, or undefined when none was recorded (most requests). */
  recorded(): Record<string, number> | undefined {
    if (!this.#recorded) return undefined;
    const rounded: Record<string, number> = {};
    for (const [name, ms] of Object.entries(this.#recorded)) rounded[name] = Math.round(ms * 10) / 10;
    return rounded;
  }
}
