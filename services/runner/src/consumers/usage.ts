import type { Bus, Consumer } from '@llmops/kit/bus/index';
import type { Pool } from '@llmops/kit/db';
import { rollUpLazily, TERMINAL_TASK_EVENTS, USAGE_GROUP } from '../tasks/usage.ts';

/**
 * Feeds the usage rollup's buckets from the runner's own terminal task events, off the finish path (issue 20:
 * no hot row where tasks end). Idempotent by the tasks' pending rows, so a redelivery adds nothing; until an
 * ended task's event is handled the rollup reads the task itself.
 *
 * The group's batches (one per partition, up to the bus's concurrency at once, often a task or two each) are
 * gathered for `gatherMs` and added in one statement, one at a time per process: the buckets of a busy hour
 * are the same four rows for every task, so batches added side by side only wait on each other's row locks
 * (issue 14's bench: 30 ms per call, most of it waiting). A batch's cursor moves once its gathering is added.
 */
export function consumeTaskUsage(bus: Bus, db: Pool, { gatherMs = 0 }: { gatherMs?: number } = {}): Consumer {
  const gathering = new Gathering((taskIds) => rollUpLazily(db, taskIds), gatherMs);
  const consumer = bus.consume({
    group: USAGE_GROUP,
    events: [...TERMINAL_TASK_EVENTS],
    batchHandler: (events) => gathering.add(events.map((event) => event.payload.task_id)),
  });
  return {
    ...consumer,
    // A stopping runner does not wait out a gathering: what was gathered is added at once.
    stop: () => {
      gathering.hurry();
      return consumer.stop();
    },
  };
}

/** How long rounds go without waiting after one failed. */
const HASTE_AFTER_FAILURE_MS = 60_000;

interface Round {
  ids: string[];
  done: Promise<void>;
  settle: (error?: unknown) => void;
}

function newRound(): Round {
  const { promise: done, resolve, reject } = Promise.withResolvers<void>();
  // A round nobody awaited any more must not surface as an unhandled rejection.
  done.catch(() => undefined);
  return { ids: [], done, settle: (error) => (error === undefined ? resolve() : reject(error as Error)) };
}

/**
 * Task ids from concurrent callers, added together: a round opens with its first id and is added `delayMs`
 * later (or as soon as the round before it is done, if that takes longer), in one call; every caller of the
 * round hears its outcome. One call runs at a time. For a while after a round failed, rounds do not wait:
 * the bus re-runs a failed batch one event at a time, and each of those must not wait out a gathering.
 */
export class Gathering {
  readonly #add: (ids: string[]) => Promise<unknown>;
  readonly #delayMs: number;
  #open: Round | undefined;
  #running: Promise<void> = Promise.resolve();
  #hurried = false;
  /** Rounds do not wait until then (performance.now()): a round failed shortly before. */
  #hasteUntil = Number.NEGATIVE_INFINITY;
  /** Ends the open round's wait. */
  #wake: (() => void) | undefined;

  constructor(add: (ids: string[]) => Promise<unknown>, delayMs: number) {
    this.#add = add;
    this.#delayMs = delayMs;
  }

  add(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return Promise.resolve();
    let round = this.#open;
    if (!round) {
      const opened = newRound();
      round = opened;
      this.#open = opened;
      const previous = this.#running;
      this.#running = (async () => {
        if (this.#delayMs > 0 && !this.#hurried && performance.now() >= this.#hasteUntil) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, this.#delayMs);
            this.#wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          this.#wake = undefined;
        }
        await previous;
        this.#open = undefined;
        try {
          await this.#add(opened.ids);
          opened.settle();
        } catch (error) {
          this.#hasteUntil = performance.now() + HASTE_AFTER_FAILURE_MS;
          opened.settle(error);
        }
      })();
    }
    round.ids.push(...ids);
    return round.done;
  }

  /** From now on, adds without waiting (the open round too): the consumer is stopping. */
  hurry(): void {
    this.#hurried = true;
    this.#wake?.();
  }
}
