import { Drop, filters, Liquid, type Context, type Template } from 'liquidjs';

/**
 * The template engine: LiquidJS in strict mode, with limits so that a hostile or careless template
 * (a loop over a billion items, a string doubled thirty times) fails fast instead of hanging the
 * service. Parts cannot include files or other templates: `include`, `render` and `layout` are
 * refused at parse time, which also makes cycles between parts impossible by construction.
 */
export const ENGINE_LIMITS = {
  /** Characters one parse may take (a part is at most 65,536; this is the engine's own guard). */
  parseLimit: 200_000,
  /** Milliseconds for a whole render request, every entry and the token count: PROMPT_RENDER_DEADLINE_MS's default. */
  renderBudgetMs: 2_000,
  /** Allocation units (array items, string characters of filters like `append`/`join`) per render request. */
  memoryLimit: 10_000_000,
} as const;

/**
 * What `{{ value }}` writes for an object or a list: its JSON, as `| json` would (docs/prompts.md), where
 * Liquid itself would write `[object Object]` or run a list's items together. Strings, numbers and the
 * engine's own drops (`forloop`, `empty`) are left to the engine.
 */
function structuredAsJson(this: { context: Context }, value: unknown): string {
  // Anything else goes back untouched (typed as the hook wants): the engine writes it as it always does.
  if (value === null || typeof value !== 'object' || value instanceof Drop) return value as string;
  // The engine's json filter charges the text to the render's memory budget.
  return (filters.json as (this: unknown, value: unknown) => string).call(this, value);
}

const REFUSED_TAGS = ['include', 'render', 'layout'] as const;

export function createEngine(): Liquid {
  const engine = new Liquid({
    strictVariables: true,
    strictFilters: true,
    ownPropertyOnly: true,
    // No file system: an in-memory map with nothing in it, so no tag can ever read a file.
    templates: {},
    relativeReference: false,
    dynamicPartials: false,
    parseLimit: ENGINE_LIMITS.parseLimit,
    renderLimit: ENGINE_LIMITS.renderBudgetMs,
    memoryLimit: ENGINE_LIMITS.memoryLimit,
    cache: false,
    outputEscape: structuredAsJson,
  });
  // `| raw` (last) skips the output step above; here it means "as is", so it writes JSON too.
  engine.registerFilter('raw', { raw: true, handler: structuredAsJson });
  for (const name of REFUSED_TAGS) {
    engine.registerTag(name, {
      parse() {
        throw new Error(`the "${name}" tag is not available: compose prompts from parts in a template instead`);
      },
      render() {
        return '';
      },
    });
  }
  return engine;
}

/** A problem at a place in a piece of template source (1-based line and column). */
export interface SourceProblem {
  message: string;
  line: number | null;
  column: number | null;
}

export type ParseResult = { ok: true; templates: Template[] } | { ok: false; problem: SourceProblem };

/** LiquidJS errors carry the token; its position is where the problem is. */
export function problemOf(error: unknown): SourceProblem {
  const e = error as { message?: string; token?: { getPosition?: () => [number, number] }; originalError?: Error };
  const position = e.token?.getPosition?.();
  const raw = e.originalError?.message ?? e.message ?? String(error);
  const message = raw.replace(/, line:\d+, col:\d+$/, '');
  return { message, line: position?.[0] ?? null, column: position?.[1] ?? null };
}

/** Parses template source, caching by content (parsed templates are reusable across renders). */
export class TemplateParser {
  readonly engine: Liquid;
  readonly #cache = new Map<string, ParseResult>();
  readonly #cacheSize: number;

  constructor(engine: Liquid = createEngine(), cacheSize = 500) {
    this.engine = engine;
    this.#cacheSize = cacheSize;
  }

  parse(source: string): ParseResult {
    const cached = this.#cache.get(source);
    if (cached) {
      this.#cache.delete(source);
      this.#cache.set(source, cached);
      return cached;
    }
    let result: ParseResult;
    try {
      result = { ok: true, templates: this.engine.parse(source) };
    } catch (error) {
      result = { ok: false, problem: problemOf(error) };
    }
    this.#cache.set(source, result);
    if (this.#cache.size > this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value as string);
    return result;
  }
}
