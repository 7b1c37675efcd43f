import { Context } from 'liquidjs';
import { PROMPT_LIMITS } from '@llmops/kit/contracts/prompt-limits';
import { summarize, variableUses, type DiscoveredVariable, type VariableUse } from './analyze.ts';
import { CHECKING, OverBudget, timeLimit, type RenderBudget } from './budget.ts';
import { ENGINE_LIMITS, problemOf, TemplateParser } from './engine.ts';
import { checkDeclarations, checkInputs, type VariableDecl } from './inputs.ts';
import { charCount, counterFor, countTokens, type TokenEstimate } from './tokens.ts';

export type Role = 'system' | 'user' | 'assistant';

/** Where an entry comes from, so every problem names its part (or inline text) and position. */
export interface EntrySource {
  message_index: number;
  entry_index: number;
  part_id: string | null;
  part_name: string | null;
  part_version: number | 'draft' | null;
}

export interface ResolvedEntry {
  source: EntrySource;
  /** The part's content at that version, or the inline text. */
  content: string;
}

export interface ResolvedMessage {
  role: Role;
  entries: ResolvedEntry[];
}

export type ProblemCode =
  | 'syntax'
  | 'missing_variable'
  | 'wrong_type'
  | 'missing_property'
  | 'render_error'
  | 'limit'
  | 'unknown_part'
  | 'unpublished_part'
  | 'deleted_part'
  | 'bad_default';

export interface RenderProblem {
  code: ProblemCode;
  message: string;
  variable: string | null;
  source: EntrySource | null;
  line: number | null;
  column: number | null;
}

export interface RenderedMessage {
  role: Role;
  text: string;
  chars: number;
  tokens: number;
}

export interface RenderRequest {
  messages: readonly ResolvedMessage[];
  declared: readonly VariableDecl[];
  mergeAdjacent: boolean;
  inputs: Record<string, unknown>;
  model?: string | undefined;
  /** Problems found while resolving the entries (an unpublished part...). */
  problems?: readonly RenderProblem[];
}

export interface RenderOutcome {
  ok: boolean;
  /** Empty unless ok: a partial rendering is never mistaken for what would be sent. */
  messages: RenderedMessage[];
  variables: DiscoveredVariable[];
  problems: RenderProblem[];
  warnings: string[];
  chars: number;
  token_estimate: TokenEstimate;
}

/** How a source is named in problems and in the variable list. */
export function sourceName(source: EntrySource): string {
  if (source.part_id === null) return `inline text (message ${source.message_index + 1}, entry ${source.entry_index + 1})`;
  const version = source.part_version === 'draft' ? 'draft' : `v${source.part_version}`;
  return `part "${source.part_name ?? source.part_id}" ${version}`;
}

/**
 * Whitespace rule (docs/prompts.md): each entry's output loses its leading blank lines and trailing
 * whitespace (indentation of its first line stays); an entry that renders empty is dropped; entries of
 * a message are joined by one blank line; so are adjacent messages of one role when merging.
 */
export function tidy(text: string): string {
  return text.replace(/^(?:[ \t]*\r?\n)+/, '').trimEnd();
}

const MEMORY_LIMIT = `the memory budget of ${ENGINE_LIMITS.memoryLimit.toLocaleString('en')} allocation units per request`;

/**
 * Renders resolved messages: parse every entry on its own (so errors carry the part, line and
 * column), analyze the variables they use, check the inputs against them and the declared schema
 * before rendering (every problem at once), then render strictly within one budget for the whole
 * request; going over it throws `OverBudget` naming the entry.
 */
export class Renderer {
  readonly parser: TemplateParser;

  constructor(parser: TemplateParser = new TemplateParser()) {
    this.parser = parser;
  }

  /** The variables a set of entries uses, and their syntax problems; nothing is rendered. */
  analyze(messages: readonly ResolvedMessage[]): {
    uses: (VariableUse & { index: number; source: EntrySource })[];
    variables: DiscoveredVariable[];
    problems: RenderProblem[];
    parsed: Map<number, ReturnType<TemplateParser['parse']>>;
    entries: ResolvedEntry[];
  } {
    const entries = messages.flatMap((message) => message.entries);
    const problems: RenderProblem[] = [];
    const uses: (VariableUse & { index: number; source: EntrySource })[] = [];
    const parsed = new Map<number, ReturnType<TemplateParser['parse']>>();
    entries.forEach((entry, index) => {
      const result = this.parser.parse(entry.content);
      parsed.set(index, result);
      if (!result.ok) {
        problems.push({
          code: 'syntax',
          message: `syntax error in ${sourceName(entry.source)} at line ${result.problem.line}, column ${result.problem.column}: ${result.problem.message}`,
          variable: null,
          source: entry.source,
          line: result.problem.line,
          column: result.problem.column,
        });
        return;
      }
      for (const use of variableUses(this.parser.engine, result.templates)) uses.push({ ...use, index, source: entry.source });
    });
    const variables = summarize(uses.map((use) => ({ use, source: sourceName(use.source) })));
    return { uses, variables, problems, parsed, entries };
  }

  async render(request: RenderRequest, budget: RenderBudget = { ms: ENGINE_LIMITS.renderBudgetMs }): Promise<RenderOutcome> {
    const counter = await counterFor(request.model);
    budget.onStart?.();
    const deadline = performance.now() + budget.ms;
    budget.onStep?.(CHECKING);
    const { uses, variables, problems: syntax, parsed, entries } = this.analyze(request.messages);
    const problems: RenderProblem[] = [...(request.problems ?? []), ...syntax];
    const warnings: string[] = [];

    for (const problem of checkDeclarations(request.declared)) {
      problems.push({
        code: 'bad_default',
        message: problem.message,
        variable: request.declared[problem.index]?.name ?? null,
        source: null,
        line: null,
        column: null,
      });
    }
    const checked = checkInputs(request.declared, uses, request.inputs);
    for (const problem of checked.problems) {
      const source = problem.use ? (entries[problem.use.index]?.source ?? null) : null;
      problems.push({
        code: problem.code,
        message:
          source && problem.use
            ? `${problem.message} (${sourceName(source)}, line ${problem.use.line}, column ${problem.use.column})`
            : problem.message,
        variable: problem.variable,
        source,
        line: problem.use?.line ?? null,
        column: problem.use?.column ?? null,
      });
    }

    // Render every entry that parsed and whose inputs checked out, to list render-time problems too.
    const outputs = new Map<number, string>();
    let total = 0;
    const usesByEntry = new Map<number, Set<string>>();
    for (const use of uses) {
      let roots = usesByEntry.get(use.index);
      if (!roots) usesByEntry.set(use.index, (roots = new Set()));
      roots.add(use.root);
    }
    const engine = this.parser.engine;
    // One time and one memory limiter for the whole request: every entry draws on the same budget.
    let shared: { renderLimit: Context['renderLimit']; memoryLimit: Context['memoryLimit'] } | undefined;
    const contextFor = () => {
      const options = { sync: true, renderLimit: deadline - performance.now(), memoryLimit: ENGINE_LIMITS.memoryLimit };
      const context = new Context(checked.scope, engine.options, options, { liquid: engine, ...shared });
      shared ??= { renderLimit: context.renderLimit, memoryLimit: context.memoryLimit };
      return context;
    };
    for (const [index, result] of parsed) {
      if (!result.ok) continue;
      const roots = usesByEntry.get(index);
      if (roots && [...roots].some((root) => checked.failedRoots.has(root))) continue;
      const entry = entries[index] as ResolvedEntry;
      budget.onStep?.(index);
      try {
        const text = engine.renderSync(result.templates, contextFor()) as string;
        total += text.length;
        outputs.set(index, text);
        if (total > PROMPT_LIMITS.renderOutputChars) {
          problems.push({
            code: 'limit',
            message: `the rendered prompt is longer than ${PROMPT_LIMITS.renderOutputChars.toLocaleString('en')} characters (at ${sourceName(entry.source)})`,
            variable: null,
            source: entry.source,
            line: null,
            column: null,
          });
          break;
        }
      } catch (error) {
        const where = problemOf(error);
        if (/template render limit exceeded/.test(where.message)) throw new OverBudget(index, timeLimit(budget.ms));
        if (/memory alloc limit exceeded/.test(where.message)) throw new OverBudget(index, MEMORY_LIMIT);
        problems.push({
          code: 'render_error',
          message: `${where.message} in ${sourceName(entry.source)} at line ${where.line}, column ${where.column}`,
          variable: null,
          source: entry.source,
          line: where.line,
          column: where.column,
        });
      }
    }

    const messages: { role: Role; text: string }[] = [];
    if (problems.length === 0) {
      let index = 0;
      request.messages.forEach((message, messageIndex) => {
        const texts: string[] = [];
        for (let i = 0; i < message.entries.length; i += 1, index += 1) {
          const text = tidy(outputs.get(index) ?? '');
          if (text !== '') texts.push(text);
        }
        if (texts.length === 0) {
          warnings.push(`message ${messageIndex + 1} (${message.role}) rendered empty and is left out`);
          return;
        }
        const text = texts.join('\n\n');
        const previous = messages.at(-1);
        if (request.mergeAdjacent && previous?.role === message.role) previous.text = `${previous.text}\n\n${text}`;
        else messages.push({ role: message.role, text });
      });
    }
    budget.onStep?.(entries.length);
    const { perMessage, estimate } = countTokens(
      messages.map((message) => message.text),
      counter,
    );
    const rendered = messages.map((message, i) => ({
      role: message.role,
      text: message.text,
      chars: charCount(message.text),
      tokens: perMessage[i] ?? 0,
    }));
    return {
      ok: problems.length === 0,
      messages: rendered,
      variables,
      problems,
      warnings,
      chars: rendered.reduce((sum, message) => sum + message.chars, 0),
      token_estimate: estimate,
    };
  }
}
