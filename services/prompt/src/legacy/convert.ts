import { variableUses } from '../render/analyze.ts';
import { TemplateParser } from '../render/engine.ts';
import type { VariableDecl, VariableType } from '../render/inputs.ts';
import type { Role } from '../render/render.ts';

/**
 * The legacy converter (docs/prompts.md, reference: blogforge-legacy.md §4.3). The legacy system mixed
 * `{var}` (Python format), `{{var}}` (Jinja2, with filters such as `join` and `tojson`),
 * `[data:FIELD]`, Handlebars `{{#each}}`, planning codes like `[EXPANDED_IDEA]`, and `[system]` /
 * `[user]` role tags in one text. This turns such a text into this model: parts (Liquid content), the
 * messages that use them, and the variables they need, with a warning for everything a person should
 * look at. It never guesses silently: what it cannot convert stays as literal text and is reported.
 */
export interface ConvertedPart {
  name: string;
  kind: string;
  default_role: Role;
  content: string;
}

export interface LegacyConversion {
  parts: ConvertedPart[];
  /** Messages in order; each entry names a part by its index in `parts`. */
  messages: { role: Role; entries: { type: 'part'; part_index: number }[] }[];
  variables: VariableDecl[];
  warnings: string[];
  /** False when a converted part still does not parse (the warnings say where). */
  ok: boolean;
}

const IDENT = '[A-Za-z_][A-Za-z0-9_]*';

// Jinja2 filters and their Liquid names; arguments move from `f(a, b)` to `f: a, b`.
const FILTERS: Record<string, string> = {
  tojson: 'json',
  upper: 'upcase',
  lower: 'downcase',
  title: 'capitalize',
  capitalize: 'capitalize',
  length: 'size',
  count: 'size',
  trim: 'strip',
  join: 'join',
  default: 'default',
  first: 'first',
  last: 'last',
  replace: 'replace',
  truncate: 'truncate',
  round: 'round',
  sort: 'sort',
  reverse: 'reverse',
};

function convertFilters(expression: string, warnings: string[]): string {
  const [head, ...filters] = expression.split('|');
  const converted = filters.map((filter) => {
    const match = new RegExp(`^\\s*(${IDENT})\\s*(?:\\((.*)\\))?\\s*$`).exec(filter);
    if (!match) return filter;
    const name = match[1] as string;
    const liquid = FILTERS[name];
    if (!liquid) {
      warnings.push(`the Jinja2 filter "${name}" has no Liquid equivalent here; it was kept and will fail to parse`);
      return ` ${name}`;
    }
    const args = match[2]?.trim();
    return args ? ` ${liquid}: ${args}` : ` ${liquid}`;
  });
  return [head?.trim() ?? '', ...converted].join(' |');
}

/** Converts the placeholders of one text to Liquid and notes the variables and how they are used. */
export function convertPlaceholders(text: string, uses: Map<string, VariableType>, warnings: string[]): string {
  const note = (name: string, type: VariableType) => {
    const current = uses.get(name);
    if (!current || current === 'string') uses.set(name, type);
  };
  let out = text;
  // Handlebars each blocks (a couple of legacy prompts): a Liquid for loop over the list.
  out = out.replace(
    new RegExp(`\\{\\{#each\\s+(${IDENT})\\s*\\}\\}([\\s\\S]*?)\\{\\{/each\\}\\}`, 'g'),
    (_all, list: string, body: string) => {
      note(list, 'list');
      warnings.push(`converted the Handlebars {{#each ${list}}} block to a Liquid for loop`);
      return `{% for item in ${list} %}${body.replace(/\{\{\s*this\s*\}\}/g, '{{ item }}')}{% endfor %}`;
    },
  );
  out = out.replace(new RegExp(`\\[data:\\s*(${IDENT})\\s*\\]`, 'g'), (_all, name: string) => {
    note(name, 'string');
    return `{{ ${name} }}`;
  });
  // Jinja2 output tags: already Liquid's syntax, but filters are written differently.
  out = out.replace(/\{\{(?!\s*item\s*\}\})([^{}]+?)\}\}/g, (_all, expression: string) => {
    const converted = convertFilters(expression, warnings);
    const root = new RegExp(`^(${IDENT})(\\.${IDENT})*`).exec(converted);
    if (root?.[1]) {
      const filters = converted.slice(root[0].length);
      note(root[1], /\|\s*(join|size|first|last|sort|reverse)\b/.test(filters) ? 'list' : root[2] ? 'object' : 'string');
    }
    return `{{ ${converted} }}`;
  });
  // Jinja2 loops and conditions: Liquid has the same tags; note the loop variables as lists.
  out = out.replace(new RegExp(`\\{%-?\\s*for\\s+${IDENT}\\s+in\\s+(${IDENT})`, 'g'), (all, list: string) => {
    note(list, 'list');
    return all;
  });
  // Python format `{name}` (not part of `{{ }}` or `{% %}`).
  out = out.replace(new RegExp(`(?<![{%])\\{(${IDENT})\\}(?![}%])`, 'g'), (_all, name: string) => {
    note(name, 'string');
    return `{{ ${name} }}`;
  });
  // Planning codes such as [EXPANDED_IDEA]: filled by planning logic in the legacy system.
  out = out.replace(/\[([A-Z][A-Z0-9_]{2,})\]/g, (_all, name: string) => {
    note(name, 'string');
    warnings.push(`the planning code [${name}] became the variable ${name}; check what fills it`);
    return `{{ ${name} }}`;
  });
  return out;
}

const ROLE_TAG = /\[(system|user|assistant)(?:\s*:\s*([^\]]*))?\]/gi;

/**
 * Converts one legacy prompt text (role tags optional). Like the legacy parser, the system segments
 * become one system message and the user segments one user message (assistant segments, which the
 * legacy parser never produced, one assistant message); text before any tag is user text. The label
 * of `[system: ROLE]` is kept as the first line of its segment.
 */
export function convertLegacyPrompt(text: string, { name = 'Legacy prompt' }: { name?: string } = {}): LegacyConversion {
  const warnings: string[] = [];
  const segments: { role: Role; text: string }[] = [];
  let last = 0;
  let role: Role = 'user';
  let label: string | undefined;
  const push = (end: number) => {
    const body = text.slice(last, end).trim();
    const withLabel = label ? `${label.trim()}\n${body}`.trim() : body;
    if (withLabel) segments.push({ role, text: withLabel });
  };
  for (const match of text.matchAll(ROLE_TAG)) {
    push(match.index);
    role = (match[1] as string).toLowerCase() as Role;
    label = match[2];
    last = match.index + match[0].length;
  }
  push(text.length);

  const uses = new Map<string, VariableType>();
  const order: Role[] = ['system', 'user', 'assistant'];
  const parts: ConvertedPart[] = [];
  const messages: LegacyConversion['messages'] = [];
  for (const r of order) {
    const joined = segments
      .filter((segment) => segment.role === r)
      .map((segment) => segment.text)
      .join('\n\n');
    if (!joined) continue;
    parts.push({
      name: `${name} — ${r}`,
      kind: r === 'system' ? 'system' : 'task',
      default_role: r,
      content: convertPlaceholders(joined, uses, warnings),
    });
    messages.push({ role: r, entries: [{ type: 'part', part_index: parts.length - 1 }] });
  }
  return finish(parts, messages, uses, warnings);
}

/** Legacy `prompt_json` part types and the kinds they become. */
const MODULAR_KINDS: Record<string, string> = {
  role: 'system',
  system: 'system',
  style: 'style',
  voice: 'style',
  operation: 'task',
  task: 'task',
  data: 'data',
  format: 'format',
  context: 'context',
  example: 'example',
  constraint: 'constraint',
};

/**
 * Converts a legacy modular prompt (`prompt_json`, the composition of 2025-06-12): every non-empty
 * part in order, the first as the system message, the rest as one user message, then the input as a
 * second user message ("Data for this operation as follows: …"), which becomes the variable `input`.
 */
export function convertModularPrompt(
  legacyParts: readonly { name?: string; type: string; content: string }[],
  { name = 'Legacy prompt', inputVariable = 'input' }: { name?: string; inputVariable?: string } = {},
): LegacyConversion {
  const warnings: string[] = [];
  const uses = new Map<string, VariableType>();
  const parts: ConvertedPart[] = [];
  const nonEmpty = legacyParts.filter((part) => part.content.trim() !== '');
  nonEmpty.forEach((part, index) => {
    const kind = MODULAR_KINDS[part.type.toLowerCase()];
    if (!kind) warnings.push(`legacy part type "${part.type}" is not a known kind; it became a "context" part`);
    parts.push({
      name: part.name ?? `${name} — ${index + 1} (${part.type})`,
      kind: kind ?? 'context',
      default_role: index === 0 ? 'system' : 'user',
      content: convertPlaceholders(part.content.trim(), uses, warnings),
    });
  });
  parts.push({
    name: `${name} — input`,
    kind: 'data',
    default_role: 'user',
    content: `Data for this operation as follows: {{ ${inputVariable} }}`,
  });
  uses.set(inputVariable, 'string');
  const messages: LegacyConversion['messages'] = [];
  if (nonEmpty.length > 0) messages.push({ role: 'system', entries: [{ type: 'part', part_index: 0 }] });
  if (nonEmpty.length > 1) {
    messages.push({ role: 'user', entries: nonEmpty.slice(1).map((_, i) => ({ type: 'part' as const, part_index: i + 1 })) });
  }
  messages.push({ role: 'user', entries: [{ type: 'part', part_index: parts.length - 1 }] });
  return finish(parts, messages, uses, warnings);
}

const parser = new TemplateParser();

function finish(
  parts: ConvertedPart[],
  messages: LegacyConversion['messages'],
  uses: Map<string, VariableType>,
  warnings: string[],
): LegacyConversion {
  let ok = true;
  // The variables are what the converted parts read (the engine's static analysis, so loop variables
  // are not inputs); the conversion's notes only give their types.
  const roots = new Map<string, boolean>();
  for (const part of parts) {
    const parsed = parser.parse(part.content);
    if (!parsed.ok) {
      ok = false;
      warnings.push(
        `"${part.name}" does not parse after conversion (line ${parsed.problem.line}, column ${parsed.problem.column}): ${parsed.problem.message}`,
      );
      continue;
    }
    for (const use of variableUses(parser.engine, parsed.templates)) {
      roots.set(use.root, (roots.get(use.root) ?? false) || use.segments.length > 0);
    }
  }
  const variables: VariableDecl[] = [...roots.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([variable, hasPath]) => ({
      name: variable,
      type: uses.get(variable) ?? (hasPath ? 'object' : 'string'),
      required: true,
      description: 'converted from the legacy prompt',
    }));
  return { parts, messages, variables, warnings: [...new Set(warnings)], ok };
}
