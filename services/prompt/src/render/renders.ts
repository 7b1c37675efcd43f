import type { Identity } from '@llmops/kit/http/identity';
import { Unprocessable } from '@llmops/kit/problem';
import { CHECKING, OverBudget } from './budget.ts';
import { ENGINE_LIMITS } from './engine.ts';
import { sourceName, type EntrySource, type Renderer, type RenderOutcome, type RenderRequest } from './render.ts';

/** How the routes ask for a render. */
export interface RenderCall {
  /** Who asks (`callerOf`): renders are bounded per caller. */
  caller: string;
  /** Where the request's entries are, for the field of a 422: `body.` for /assemble, empty for a template's. */
  fieldPrefix: string;
}

/** Renders a request; in the service, a pool of worker threads (./pool.ts). */
export interface Renders {
  render(request: RenderRequest, call: RenderCall): Promise<RenderOutcome>;
}

/**
 * The caller a render counts against: the account; for a service calling on someone's behalf (the runner
 * rendering a task's prompt, `X-LLMOps-On-Behalf-Of`), that someone, so one account's tasks cannot take
 * every other account's turn; else the calling service.
 */
export function callerOf(identity: Identity, onBehalfOf?: string): string {
  const caller = `${identity.kind}:${identity.subject}`;
  return identity.kind === 'service' && onBehalfOf ? `${caller} for ${onBehalfOf.slice(0, 200)}` : caller;
}

function where(source: EntrySource): string {
  return source.part_id === null
    ? sourceName(source)
    : `${sourceName(source)} (message ${source.message_index + 1}, entry ${source.entry_index + 1})`;
}

/** The 422 of a render stopped over its budget, naming the entry it was rendering (or the step after). */
export function overBudgetProblem(request: RenderRequest, over: { step: number; limit: string }, fieldPrefix: string) {
  const entries = request.messages.flatMap((message) => message.entries);
  const source = entries[over.step]?.source;
  if (source) {
    const field = `${fieldPrefix}messages[${source.message_index}].entries[${source.entry_index}]`;
    return new Unprocessable(
      `The render went over ${over.limit} in ${where(source)} and was stopped: make its loops smaller or its inputs shorter.`,
      [{ field, message: `went over ${over.limit}` }],
    );
  }
  if (over.step === CHECKING) {
    return new Unprocessable(`The render went over ${over.limit} while checking its entries and inputs and was stopped.`, [
      { field: `${fieldPrefix}messages`, message: `went over ${over.limit}` },
    ]);
  }
  const model = request.model ? ` for ${request.model}` : '';
  return new Unprocessable(
    `The render went over ${over.limit} while counting the rendered prompt's tokens${model} and was stopped: ` +
      'shorten the prompt, or leave out the model for an approximate count.',
    [{ field: `${fieldPrefix}model`, message: `went over ${over.limit}` }],
  );
}

/** Renders on the calling thread: for an app built without a pool (a test of the app alone). */
export function inlineRenders(renderer: Renderer, budgetMs: number = ENGINE_LIMITS.renderBudgetMs): Renders {
  return {
    async render(request, { fieldPrefix }) {
      try {
        return await renderer.render(request, { ms: budgetMs });
      } catch (error) {
        if (error instanceof OverBudget) throw overBudgetProblem(request, error, fieldPrefix);
        throw error;
      }
    },
  };
}
