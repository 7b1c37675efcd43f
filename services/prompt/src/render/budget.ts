/**
 * A render request's budget (docs/prompts.md, Limits): one time limit and one memory limit for the whole
 * request — every entry and the token count together — so a template of many heavy entries cannot
 * take many times the limit.
 */
export interface RenderBudget {
  /** Milliseconds for the whole request, from `onStart`. */
  ms: number;
  /** Called once the clock starts: after the model's tokenizer is loaded, which is not the request's cost. */
  onStart?: () => void;
  /**
   * Called as each step starts — a flat entry index, `CHECKING` before the entries, the entry count for
   * the token count — so a watchdog outside can name where it stopped a render.
   */
  onStep?: (step: number) => void;
}

/** The step before any entry renders: parsing and checking the inputs. */
export const CHECKING = -1;

/** A render stopped because it went over its budget at `step` (see `RenderBudget.onStep`). */
export class OverBudget extends Error {
  override name = 'OverBudget';
  readonly step: number;
  /** What was exhausted, for the message: `the time budget of 2,000 ms per request`. */
  readonly limit: string;
  constructor(step: number, limit: string) {
    super(`over ${limit} at step ${step}`);
    this.step = step;
    this.limit = limit;
  }
}

export const timeLimit = (ms: number) => `the time budget of ${ms.toLocaleString('en')} ms per request`;
