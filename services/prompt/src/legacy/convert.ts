import { variableUses } from '../render/analyze.ts';
import { TemplateParser } from '../render/engine.ts';
import type { VariableDecl, VariableType } from '../render/inputs.ts';
import type { Role } from '../render/render.ts';

/**
 * The legacy converter (docs/legacy-converter.md; reference: blogforge-legacy.md §4.3 and §8). The legacy
 * system mixed `{var}` (Python format), `{{var}}` (Jinja2, with filters such as `join` and `tojson`),
 * `[data:FIELD]`, `[key]`, Handlebars `{{#each}}`, planning codes like `[EXPANDED_IDEA]`, answer codes
 * like `{IDEA01}` and `[system]` / `[user]` role tags, and kept roles in columns (`system_prompt`) and
 * part types. This turns a legacy prompt into this model: parts (Liquid content), the messages that use
 * them with their roles, and the variables they need, typed. It never guesses silently: every
 * conversion that could change the meaning is reported as a warning that names the legacy row.
 */
export interface ConvertedPart {
  name: string;
  kind: string;
  default_role: Role;
  content: string;
  /** The legacy part's tags (`tags` of a `prompt_json` part or an `llm_prompt_part` row). */
  tags: string[];
}

export interface LegacyConversion {
  /** The legacy row, as the caller named it (`llm_prompt 12`); every warning starts with it. */
  row: string;
  parts: ConvertedPart[];
  /** Messages in order; each entry names a part by its index in `parts`. */
  messages: { role: Role; entries: { type: 'part'; part_index: number }[] }[];
  variables: VariableDecl[];
  warnings: string[];
  /** Why there is nothing to import (an empty prompt), or null. */
  skip: string | null;
  /** False when skipped or when a converted part still does not parse (the warnings say where). */
  ok: boolean;
}

export interface ConvertOptions {
  /** Names the legacy row in every warning, e.g. `llm_prompt 12` or `llm_action 3`. */
  row: string;
  /** The template's name; parts are named after it. */
  name?: string;
  /**
   * `llm_prompt.parameters`: a map such as `{"facts": "array"}` gives variable types (lists are then
   * accepted at render time); sampling settings (`{"temperature": 0.7}`) are ignored.
   */
  parameters?: unknown;
  /**
   * Inputs the legacy runtime filled for this prompt (a step's input fields): `[key]`, `{KEY}` and
   * `[KEY]` forms of these names are variables, whatever their case.
   */
  inputs?: readonly string[];
  /**
   * The step's inputs that the runtime supplied around the prompt ("the inputs above"): when the prompt
   * uses none of them by name, they are added as a data part before the task (reported).
   */
  contextInputs?: readonly string[];
}

const IDENT = '[A-Za-z_][A-Za-z0-9_]*';
const ROLES: readonly Role[] = ['system', 'user', 'assistant'];
/** An upper-case code such as IDEA01, S03, IDEAXX or EXPANDED_IDEA. */
const CODE = /^[A-Z][A-Z0-9_]*$/;

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

// Filters whose Liquid counterpart does not write exactly the same text: converted, and reported.
const FILTER_DIFFERENCES: Record<string, string> = {
  tojson: `Jinja2's tojson wrote ", " and ": " separators with sorted keys; Liquid's json writes compact JSON in the input's key order`,
  title: "Jinja2's title capitalised every word; Liquid's capitalize only the first letter",
  truncate: "Jinja2's truncate cut at a word and defaulted to 255 characters; Liquid's cuts anywhere and defaults to 50",
  default: "Jinja2's default applied only to an undefined value; Liquid's also to empty and false values",
  round: "Jinja2's round wrote a float (3.0); Liquid's writes 3",
  reverse: "Jinja2's reverse also reversed text; Liquid's reverses only lists",
};

// How `parameters` names types (JSON Schema and Python words both occur).
const TYPE_NAMES: Record<string, VariableType> = {
  array: 'list',
  list: 'list',
  string: 'string',
  str: 'string',
  text: 'string',
  number: 'number',
  integer: 'number',
  int: 'number',
  float: 'number',
  boolean: 'boolean',
  bool: 'boolean',
  object: 'object',
  dict: 'object',
};

/** What one conversion learns while it rewrites texts; `finish` turns it into variables and warnings. */
class Context {
  readonly row: string;
  readonly warnings: string[] = [];
  /** Types inferred from how each variable is used. */
  readonly uses = new Map<string, VariableType>();
  /** Types `parameters` declares. */
  readonly declared = new Map<string, VariableType>();
  /** Names the runtime filled (inputs and declared parameters). */
  readonly known = new Set<string>();
  /** Variables printed whole (`{{ x }}`, `{x}`, no filter): a list prints differently than in Python. */
  readonly bare = new Set<string>();
  readonly literalCodes = new Set<string>();
  /** Why an empty result is skipped, in the words of what was converted. */
  empty = 'the text is empty or missing';

  constructor(options: ConvertOptions) {
    this.row = options.row;
    for (const [name, type] of Object.entries(parameterTypes(options.parameters))) {
      this.declared.set(name, type);
      this.known.add(name);
    }
    for (const name of [...(options.inputs ?? []), ...(options.contextInputs ?? [])]) this.known.add(name);
  }

  warn(message: string) {
    this.warnings.push(`${this.row}: ${message}`);
  }

  note(name: string, type: VariableType) {
    const current = this.uses.get(name);
    if (!current || current === 'string') this.uses.set(name, type);
  }

  /** An upper-case `{CODE}` the model copies into its answer, unless the runtime filled that name. */
  isAnswerCode(name: string): boolean {
    return CODE.test(name) && !this.known.has(name);
  }
}

/** The variable types of `llm_prompt.parameters` (a JSON object or its text); anything else gives none. */
export function parameterTypes(parameters: unknown): Record<string, VariableType> {
  let value = parameters;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      return {};
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return {};
  const types: Record<string, VariableType> = {};
  for (const [name, type] of Object.entries(value)) {
    const mapped = typeof type === 'string' ? TYPE_NAMES[type.trim().toLowerCase()] : undefined;
    if (mapped && new RegExp(`^${IDENT}$`).test(name)) types[name] = mapped;
  }
  return types;
}

function convertFilters(expression: string, context: Context): string {
  const [head, ...filters] = expression.split('|');
  const converted = filters.map((filter) => {
    const match = new RegExp(`^\\s*(${IDENT})\\s*(?:\\((.*)\\))?\\s*$`).exec(filter);
    if (!match) return filter;
    const name = match[1] as string;
    const liquid = FILTERS[name];
    if (!liquid) {
      context.warn(`the Jinja2 filter "${name}" has no Liquid equivalent here; it was kept and will fail to parse`);
      return ` ${name}`;
    }
    const difference = FILTER_DIFFERENCES[name];
    if (difference) context.warn(`converted the Jinja2 filter "${name}" to "${liquid}", which differs: ${difference}`);
    const args = match[2]?.trim();
    return args ? ` ${liquid}: ${args}` : ` ${liquid}`;
  });
  return [head?.trim() ?? '', ...converted].join(' |');
}

/**
 * Text-level fixes before any placeholder: CRLF line ends become LF (the same text to a model), and
 * literal `\n` escapes, left by a double JSON encoding, become the line breaks they were meant to be.
 */
function normalizeText(text: string, context: Context): string {
  const lf = text.replace(/\r\n?/g, '\n');
  const escapes = lf.match(/\\r\\n|\\n/g)?.length ?? 0;
  if (escapes === 0) return lf;
  context.warn(`decoded ${escapes} literal "\\n" escape${escapes === 1 ? '' : 's'} into line breaks`);
  return lf.replace(/\\r\\n|\\n/g, '\n');
}

/**
 * Positional slots: an upper-case bracket code used more than once in one text, such as
 * `[PLACEHOLDER]` twice, was filled occurrence by occurrence; each occurrence becomes its own variable
 * (`PLACEHOLDER_1`, `PLACEHOLDER_2`), in text order. A name the runtime filled by key stays one variable.
 */
function numberPositionalSlots(text: string, context: Context): string {
  const slot = /(?<![\w\]])\[([A-Z][A-Z0-9_]{2,})\]/g;
  const counts = new Map<string, number>();
  for (const match of text.matchAll(slot)) {
    const name = match[1] as string;
    if (!context.known.has(name)) counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const next = new Map<string, number>();
  const out = text.replace(slot, (all, name: string) => {
    const total = counts.get(name) ?? 0;
    if (total < 2) return all;
    const n = (next.get(name) ?? 0) + 1;
    next.set(name, n);
    return `[${name}_${n}]`;
  });
  for (const [name, total] of counts) {
    if (total < 2) continue;
    const names = Array.from({ length: total }, (_, i) => `${name}_${i + 1}`);
    context.warn(
      `[${name}] occurs ${total} times; the legacy app filled the occurrences in order, so they became the variables ${names.join(', ')}`,
    );
  }
  return out;
}

/** Converts the placeholders of one (normalized) text to Liquid and notes the variables and their uses. */
function convertPlaceholders(text: string, context: Context): string {
  let out = text;
  // Handlebars each blocks (a couple of legacy prompts): a Liquid for loop over the list.
  out = out.replace(
    new RegExp(`\\{\\{#each\\s+(${IDENT})\\s*\\}\\}([\\s\\S]*?)\\{\\{/each\\}\\}`, 'g'),
    (_all, list: string, body: string) => {
      context.note(list, 'list');
      context.warn(`converted the Handlebars {{#each ${list}}} block to a Liquid for loop`);
      return `{% for item in ${list} %}${body.replace(/\{\{\s*this\s*\}\}/g, '{{ item }}')}{% endfor %}`;
    },
  );
  // Jinja2 comments were never sent; Liquid would send `{# ... #}` as text.
  out = out.replace(/\{#[\s\S]*?#\}/g, (comment) => `{% comment %}${comment.slice(2, -2)}{% endcomment %}`);
  // Inside Jinja2 tags: `elif` is Liquid's `elsif`, the loop's `loop.index` is `forloop.index`.
  out = out.replace(/\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/g, (tag) =>
    tag
      .replace(/^\{%(-?\s*)elif\b/, '{%$1elsif')
      .replace(/(?<![\w.])loop\.(index0|index|first|last|length|revindex0|revindex)\b/g, 'forloop.$1'),
  );
  out = out.replace(new RegExp(`\\[data:\\s*(${IDENT})\\s*\\]`, 'g'), (_all, name: string) => {
    context.note(name, 'string');
    return `{{ ${name} }}`;
  });
  // Jinja2 output tags: already Liquid's syntax, but filters are written differently. A bare upper-case
  // code is the Python-escaped form of an answer code (`{{IDEA01}}` printed `{IDEA01}`).
  out = out.replace(
    /\{\{(?!\s*item\s*\}\})(-?)([^{}]+?)(-?)\}\}/g,
    (_all, trimLeft: string, expression: string, trimRight: string) => {
      const bare = expression.trim();
      if (context.isAnswerCode(bare)) {
        context.literalCodes.add(bare);
        context.warn(`{{${bare}}} is the Python-escaped form of the answer code {${bare}}; it became that literal text`);
        return `{${bare}}`;
      }
      const converted = convertFilters(expression, context);
      const root = new RegExp(`^(${IDENT})(\\.${IDENT})*`).exec(converted);
      if (root?.[1]) {
        const filters = converted.slice(root[0].length);
        if (root[0] === converted) context.bare.add(root[1]);
        context.note(
          root[1],
          /\|\s*(join|size|first|last|sort|reverse)\b/.test(filters) ? 'list' : root[2] ? 'object' : 'string',
        );
      }
      return `{{${trimLeft} ${converted} ${trimRight}}}`;
    },
  );
  // Jinja2 loops and conditions: Liquid has the same tags; note the loop variables as lists.
  out = out.replace(new RegExp(`\\{%-?\\s*for\\s+${IDENT}\\s+in\\s+(${IDENT})`, 'g'), (all, list: string) => {
    context.note(list, 'list');
    return all;
  });
  // Python format `{name}` (not part of `{{ }}` or `{% %}`); upper-case answer codes stay literal.
  out = out.replace(new RegExp(`(?<![{%])\\{(${IDENT})\\}(?![}%])`, 'g'), (all, name: string) => {
    if (context.isAnswerCode(name)) {
      context.literalCodes.add(name);
      return all;
    }
    context.note(name, 'string');
    context.bare.add(name);
    return `{{ ${name} }}`;
  });
  // Python format fields this cannot name (`{}`, `{0}`, `{count:d}`, `{name!r}`) stay text, reported.
  for (const match of out.matchAll(new RegExp(`(?<![{%])\\{(\\d*|${IDENT}[:!][^{}\\s]*)\\}(?![}%])`, 'g'))) {
    context.warn(`${match[0]} was kept as text: a Python format field with no name to convert; check what filled it`);
  }
  // Upper-case bracket codes such as [EXPANDED_IDEA]: filled by planning logic in the legacy system.
  out = out.replace(/(?<![\w\]])\[([A-Z][A-Z0-9_]{2,})\]/g, (_all, name: string) => {
    context.note(name, 'string');
    if (!context.known.has(name)) context.warn(`the planning code [${name}] became the variable ${name}; check what fills it`);
    return `{{ ${name} }}`;
  });
  // Lower-case bracket placeholders (E4): the runtime replaced `[key]` for every input key. A snake_case
  // name or a known input is converted; a plain word may be prose (`[optional]`) and stays, reported.
  out = out.replace(/(?<![\w\]])\[([a-z][a-z0-9_]*)\](?![(:])/g, (all, name: string) => {
    if (context.known.has(name) || name.includes('_')) {
      context.note(name, 'string');
      if (!context.known.has(name))
        context.warn(
          `the bracket placeholder [${name}] became the variable ${name} (the E4 runtime filled [key] for every input)`,
        );
      return `{{ ${name} }}`;
    }
    context.warn(`[${name}] was kept as text: it is not a known input; if the runtime filled it, make it {{ ${name} }}`);
    return all;
  });
  return out;
}

const ROLE_TAG = /\[(system|user|assistant)(?:\s*:\s*([^\]]*))?\]/gi;
const HAS_ROLE_TAG = new RegExp(ROLE_TAG.source, 'i');

/** A piece of a legacy prompt before its placeholders are converted. */
interface Piece {
  role: Role;
  kind: string;
  name: string;
  /** Legacy text, or null for a data part that names a field (its content is then `{{ field }}`). */
  text: string | null;
  field?: string;
  tags?: string[];
}

/**
 * Splits a text by its role tags, as the legacy parser did: the segments of each role are joined into
 * one piece (system, then user, then assistant); text before any tag has `role`; the label of
 * `[system: ROLE]` / `[user: FORMAT]` is dropped, as the parser dropped it (reported).
 */
function splitRoleTags(text: string, role: Role, name: string, context: Context): Piece[] {
  const segments: { role: Role; text: string }[] = [];
  let last = 0;
  let current = role;
  const push = (end: number) => {
    const body = text.slice(last, end).trim();
    if (body) segments.push({ role: current, text: body });
  };
  for (const match of text.matchAll(ROLE_TAG)) {
    push(match.index);
    current = (match[1] as string).toLowerCase() as Role;
    const label = match[2]?.trim();
    if (label) context.warn(`dropped the label "${label}" of the role tag [${match[1]}: ${label}], as the legacy parser did`);
    last = match.index + match[0].length;
  }
  push(text.length);
  const pieces: Piece[] = [];
  for (const r of ROLES) {
    const joined = segments
      .filter((segment) => segment.role === r)
      .map((segment) => segment.text)
      .join('\n\n');
    if (joined) pieces.push({ role: r, kind: r === 'system' ? 'system' : 'task', name: `${name} — ${r}`, text: joined });
  }
  return pieces;
}

/** Prepares one legacy text of a given role: normalized, positional slots numbered, role tags split. */
function textPieces(text: string, role: Role, name: string, context: Context): Piece[] {
  return splitRoleTags(numberPositionalSlots(normalizeText(text, context), context), role, name, context);
}

/**
 * Converts one legacy prompt text: an `llm_action.prompt_template`, a `prompt_text` or a step's prompt.
 * `role` is the role of text before any role tag (`system` for a `system_prompt` column).
 */
export function convertLegacyPrompt(text: unknown, options: ConvertOptions & { role?: Role }): LegacyConversion {
  const context = new Context(options);
  const name = options.name ?? 'Legacy prompt';
  const pieces = typeof text === 'string' ? textPieces(text, options.role ?? 'user', name, context) : [];
  if (typeof text !== 'string' && text != null) context.warn(`the prompt is ${describe(text)}, not text; nothing was converted`);
  return build(pieces, context, options, name, null);
}

/** Legacy part kinds (`tags[0]`, or an old `type`) and the kinds they become. */
const KINDS: Record<string, string> = {
  role: 'system',
  system: 'system',
  style: 'style',
  voice: 'style',
  operation: 'task',
  task: 'task',
  instructions: 'task',
  data: 'data',
  format: 'format',
  context: 'context',
  example: 'example',
  specimen: 'example',
  constraint: 'constraint',
};
const KIND_ROLES: Record<string, Role> = { system: 'system', style: 'system', constraint: 'system' };

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** One element of a `prompt_json` list as a piece, or null (reported) when it holds nothing usable. */
function modularPiece(
  part: unknown,
  index: number,
  name: string,
  context: Context,
  where = `prompt_json part ${index + 1}`,
): Piece | null {
  if (part === null || typeof part !== 'object' || Array.isArray(part)) {
    if (typeof part === 'string' && part.trim()) {
      context.warn(`prompt_json element ${index + 1} is text, not a part; it became a user "context" part`);
      return { role: 'user', kind: 'context', name: `${name} — ${index + 1}`, text: part };
    }
    context.warn(`prompt_json element ${index + 1} is ${describe(part)}, not a part; it was left out`);
    return null;
  }
  const record = part as Record<string, unknown>;
  const type = typeof record.type === 'string' ? record.type.trim().toLowerCase() : '';
  const tag = Array.isArray(record.tags) && typeof record.tags[0] === 'string' ? record.tags[0].trim().toLowerCase() : '';
  const partName = typeof record.name === 'string' && record.name.trim() ? record.name.trim() : undefined;
  const tags = legacyTags(record.tags, where, context);
  // A part's type is its role (system/user/assistant) and its kind is tags[0]; older parts put the kind
  // in the type (role/style/operation...), data parts are user data.
  let role: Role;
  let kind: string | undefined;
  if ((ROLES as readonly string[]).includes(type)) {
    role = type as Role;
    kind = KINDS[tag] ?? (role === 'system' ? 'system' : 'task');
    if (tag && !KINDS[tag]) context.warn(`the tag "${tag}" of ${where} is not a known kind; it became a "${kind}" part`);
  } else {
    kind = KINDS[type] ?? KINDS[tag];
    if (!kind) {
      kind = 'context';
      const what = type ? `the type "${type}"` : record.type === undefined ? 'no type' : `${describe(record.type)} as type`;
      context.warn(`${where} has ${what}, not a known role or kind; it became a user "context" part`);
    }
    role = KIND_ROLES[kind] ?? 'user';
  }
  const pieceName = partName ?? `${name} — ${index + 1} (${kind})`;
  const content = record.content;
  if (typeof content === 'string' && content.trim()) return { role, kind, name: pieceName, text: content, tags };
  if (typeof record.field === 'string' && record.field.trim()) {
    let field = record.field.trim();
    if (!new RegExp(`^${IDENT}$`).test(field)) {
      const safe = field.replace(/\W+/g, '_').replace(/^(\d)/, '_$1');
      context.warn(`the data field "${field}" of ${where} is not a variable name; it became ${safe}`);
      field = safe;
    }
    context.warn(`the data part of ${where} names the field "${field}": it became the variable ${field}`);
    return { role: 'user', kind: 'data', name: pieceName, text: null, field, tags };
  }
  if (content !== undefined && content !== null && typeof content !== 'string') {
    context.warn(`${where} has ${describe(content)} as content, not text; it was left out`);
  }
  return null;
}

/**
 * Converts a legacy `prompt_json` value. A list of parts: each part keeps its role (its `type`) and kind
 * (`tags[0]`); system parts make the first message; a data part with a `field` is where the input goes,
 * otherwise the input follows as the last user message ("Data for this operation as follows: …", the
 * composition of 2025-06-12) and becomes the variable `inputVariable`. Any other value (NULL, metadata
 * objects such as `{"role":"system"}`) holds no prompt text: the result is skipped, with the reason.
 */
export function convertModularPrompt(
  promptJson: unknown,
  options: ConvertOptions & { inputVariable?: string },
): LegacyConversion {
  const context = new Context(options);
  context.empty = 'prompt_json holds no part with text';
  const name = options.name ?? 'Legacy prompt';
  const pieces = modularPieces(promptJson, name, context);
  const input = pieces && !pieces.some((piece) => piece.field) ? (options.inputVariable ?? 'input') : null;
  return build(pieces ?? [], context, options, name, input);
}

function modularPieces(promptJson: unknown, name: string, context: Context): Piece[] | null {
  if (!Array.isArray(promptJson)) {
    if (promptJson != null) context.warn(`prompt_json is ${describe(promptJson)} (${short(promptJson)}), not a list of parts`);
    return null;
  }
  const pieces: Piece[] = [];
  promptJson.forEach((part, index) => {
    const piece = modularPiece(part, index, name, context);
    if (!piece) return;
    if (piece.text === null) {
      pieces.push(piece);
      return;
    }
    const text = numberPositionalSlots(normalizeText(piece.text, context), context);
    if (HAS_ROLE_TAG.test(text)) {
      // A part that itself holds role tags is split like a flat prompt.
      pieces.push(
        ...splitRoleTags(text, piece.role, piece.name, context).map((p) => ({
          ...p,
          kind: p.role === piece.role ? piece.kind : p.kind,
          tags: piece.tags,
        })),
      );
    } else {
      pieces.push({ ...piece, text: text.trim() });
    }
  });
  return pieces;
}

const TAG = /^[\p{L}\p{N}][\p{L}\p{N} ._-]{0,39}$/u;

/** A legacy tags value as this system's tags (text of 1–40 letters, digits...); others are reported. */
function legacyTags(value: unknown, where: string, context: Context): string[] {
  if (value == null) return [];
  const list: unknown[] = Array.isArray(value) ? value : [value];
  const tags = list.filter((tag): tag is string => typeof tag === 'string' && TAG.test(tag.trim())).map((tag) => tag.trim());
  if (tags.length !== list.length)
    context.warn(`${where} has tags that are not short text (${short(value)}); only ${short(tags)} were kept`);
  return [...new Set(tags)].slice(0, 20);
}

function short(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** A legacy `llm_prompt_part` row (`type` is the role, `tags[0]` the kind). */
export interface LegacyPartRow {
  id: number | string;
  name?: unknown;
  type?: unknown;
  content?: unknown;
  tags?: unknown;
}

/**
 * Converts an `llm_prompt_part` row into one part (`parts[0]`; none when skipped): its role from `type`,
 * its kind from `tags[0]`, its tags kept, its placeholders converted. Warnings start with `options.row`,
 * by default `llm_prompt_part <id>`.
 */
export function convertLegacyPart(row: LegacyPartRow, options: Partial<ConvertOptions> = {}): LegacyConversion {
  const name = options.name ?? (typeof row.name === 'string' && row.name.trim() ? row.name.trim() : `Legacy part ${row.id}`);
  const settings: ConvertOptions = { ...options, row: options.row ?? `llm_prompt_part ${row.id}`, name };
  const context = new Context(settings);
  context.empty = "the part's content is empty or missing";
  const piece = modularPiece({ ...row, name }, 0, name, context, 'the part');
  const pieces: Piece[] = [];
  if (piece?.text != null) {
    pieces.push({ ...piece, text: numberPositionalSlots(normalizeText(piece.text, context), context).trim() });
  } else if (piece) {
    pieces.push(piece);
  }
  return build(pieces, context, settings, name, null);
}

/** A legacy `llm_prompt` row, as read from any epoch (columns an epoch lacks are absent). */
export interface LegacyPromptRow {
  id: number | string;
  name?: unknown;
  prompt_text?: unknown;
  system_prompt?: unknown;
  prompt_json?: unknown;
  parameters?: unknown;
}

/**
 * Converts an `llm_prompt` row the way the legacy app ran it: when `prompt_json` is a list of
 * parts, the parts (it is what the app sent; `prompt_text` is then an older flat copy, reported when it
 * differs); otherwise `system_prompt` as the system message (`''` is none; equal to `prompt_text`, one
 * system message) and `prompt_text` as the task. A metadata object in `prompt_json` contributes its
 * `role` (the role of a lone `prompt_text`) and `input_fields` (context inputs). Warnings start with
 * `options.row`, by default `llm_prompt <id>`.
 */
export function convertLegacyRow(
  row: LegacyPromptRow,
  options: Partial<ConvertOptions> & { inputVariable?: string } = {},
): LegacyConversion {
  const name = options.name ?? (typeof row.name === 'string' && row.name.trim() ? row.name.trim() : `Legacy prompt ${row.id}`);
  const settings: ConvertOptions = {
    ...options,
    row: options.row ?? `llm_prompt ${row.id}`,
    name,
    parameters: options.parameters ?? row.parameters,
  };
  const context = new Context(settings);
  context.empty = 'prompt_json, system_prompt and prompt_text are all empty or missing';
  const text = (value: unknown, column: string): string => {
    if (typeof value === 'string') return value;
    if (value != null) context.warn(`${column} is ${describe(value)}, not text; it was left out`);
    return '';
  };
  const system = text(row.system_prompt, 'system_prompt');
  const task = text(row.prompt_text, 'prompt_text');
  const metadata = isRecord(row.prompt_json) ? row.prompt_json : {};
  const inputFields = Array.isArray(metadata.input_fields)
    ? metadata.input_fields.filter((f): f is string => typeof f === 'string')
    : [];
  for (const field of inputFields) context.known.add(field);

  const pieces: Piece[] = [];
  const modular = modularPieces(row.prompt_json, name, context);
  if (modular && modular.length > 0) {
    if (system.trim()) {
      context.warn('system_prompt and prompt_json are both set; system_prompt became the first system message');
      pieces.push(...textPieces(system, 'system', name, context));
    }
    pieces.push(...modular);
    const flat = modular.map((piece) => piece.text ?? '').join(' ');
    if (task.trim() && squash(task) !== squash(flat)) {
      context.warn(
        'prompt_text differs from prompt_json; prompt_json, which the app ran, was converted and prompt_text left out',
      );
    }
    return build(
      pieces,
      context,
      settings,
      name,
      modular.some((piece) => piece.field) ? null : (options.inputVariable ?? 'input'),
    );
  }

  const metaRole =
    typeof metadata.role === 'string' && (ROLES as readonly string[]).includes(metadata.role) ? (metadata.role as Role) : null;
  if (metadata.output_format !== undefined) {
    context.warn(
      `prompt_json's output_format ${short(metadata.output_format)} is not part of a template; set the action's output handling`,
    );
  }
  if (system.trim()) pieces.push(...textPieces(system, 'system', name, context));
  if (task.trim() && squash(task) === squash(system)) {
    context.warn('prompt_text equals system_prompt; the row became one system message');
  } else if (task.trim()) {
    const role = !system.trim() && metaRole ? metaRole : 'user';
    if (role !== 'user') context.warn(`prompt_json says role "${role}": prompt_text became a ${role} message`);
    pieces.push(...textPieces(task, role, name, context));
  }
  const contextInputs = [...(options.contextInputs ?? []), ...inputFields];
  return build(pieces, context, { ...settings, contextInputs }, name, null);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function squash(text: string): string {
  return text.replace(/\\n/g, ' ').replace(/\s+/g, ' ').trim();
}

const parser = new TemplateParser();

/**
 * Assembles the pieces: every system piece in the first (system) message, as the legacy parser joined
 * them (a system piece found after others is moved there, reported), then the other pieces in order,
 * consecutive pieces of one role in one message; then the input message, if any; then the variables.
 */
function build(
  pieces: Piece[],
  context: Context,
  options: ConvertOptions,
  name: string,
  inputVariable: string | null,
): LegacyConversion {
  const parts: ConvertedPart[] = [];
  const messages: LegacyConversion['messages'] = [];
  const usable = pieces.filter((piece) => piece.field || piece.text?.trim());
  if (usable.length === 0) {
    const skip = context.empty;
    context.warn(`skipped: ${skip}`);
    return { row: context.row, parts, messages, variables: [], warnings: [...new Set(context.warnings)], skip, ok: false };
  }
  const firstOther = usable.findIndex((piece) => piece.role !== 'system');
  if (firstOther >= 0 && usable.slice(firstOther).some((piece) => piece.role === 'system')) {
    context.warn('a system part came after other parts; every system part was moved into the first (system) message');
  }
  const names = new Map<string, number>();
  const add = (role: Role, part: ConvertedPart) => {
    // Two pieces may share a name (two system texts, parts named alike): number the later ones.
    const seen = (names.get(part.name) ?? 0) + 1;
    names.set(part.name, seen);
    parts.push(seen > 1 ? { ...part, name: `${part.name} (${seen})` } : part);
    const last = messages.at(-1);
    const entry = { type: 'part' as const, part_index: parts.length - 1 };
    if (last?.role === role) last.entries.push(entry);
    else messages.push({ role, entries: [entry] });
  };
  const convert = (piece: Piece): ConvertedPart => {
    const content = piece.field ? `{{ ${piece.field} }}` : convertPlaceholders(piece.text ?? '', context);
    if (piece.field) context.note(piece.field, 'string');
    return { name: piece.name, kind: piece.kind, default_role: piece.role, content, tags: piece.tags ?? [] };
  };
  const ordered = [...usable.filter((piece) => piece.role === 'system'), ...usable.filter((piece) => piece.role !== 'system')];
  const converted = ordered.map((piece) => ({ piece, part: convert(piece) }));

  // "The inputs above": the runtime put the step's inputs around a prompt that names none of them.
  const contextInputs = [...new Set(options.contextInputs ?? [])].filter((input) => new RegExp(`^${IDENT}$`).test(input));
  const used = new Set(analyzeRoots(converted.map(({ part }) => part.content)).keys());
  const dataPart =
    contextInputs.length > 0 && !contextInputs.some((input) => used.has(input))
      ? {
          name: `${name} — inputs`,
          kind: 'data',
          default_role: 'user' as Role,
          tags: [],
          content: contextInputs.map((input) => `${input}:\n{{ ${input} }}`).join('\n\n'),
        }
      : null;
  if (dataPart) {
    context.warn(
      `the prompt names none of the step's inputs (${contextInputs.join(', ')}); they were added as a data part before the task, as the runtime supplied them`,
    );
  }
  let dataPlaced = false;
  for (const { piece, part } of converted) {
    if (dataPart && !dataPlaced && piece.role !== 'system') {
      add('user', dataPart);
      dataPlaced = true;
    }
    add(piece.role, part);
  }
  if (dataPart && !dataPlaced) add('user', dataPart);
  if (inputVariable) {
    parts.push({
      name: `${name} — input`,
      kind: 'data',
      default_role: 'user',
      tags: [],
      content: `Data for this operation as follows: {{ ${inputVariable} }}`,
    });
    messages.push({ role: 'user', entries: [{ type: 'part', part_index: parts.length - 1 }] });
    context.note(inputVariable, 'string');
  }
  return finish(parts, messages, context);
}

/** The roots the contents read (the engine's static analysis), and whether any use has a path. */
function analyzeRoots(contents: readonly string[], onProblem?: (index: number, message: string) => void): Map<string, boolean> {
  const roots = new Map<string, boolean>();
  contents.forEach((content, index) => {
    const parsed = parser.parse(content);
    if (!parsed.ok) {
      onProblem?.(index, `line ${parsed.problem.line}, column ${parsed.problem.column}: ${parsed.problem.message}`);
      return;
    }
    for (const use of variableUses(parser.engine, parsed.templates)) {
      roots.set(use.root, (roots.get(use.root) ?? false) || use.segments.length > 0);
    }
  });
  return roots;
}

function finish(parts: ConvertedPart[], messages: LegacyConversion['messages'], context: Context): LegacyConversion {
  let ok = true;
  // The variables are what the converted parts read (so loop variables are not inputs); `parameters`
  // gives their types where it declares them, the conversion's notes otherwise.
  const roots = analyzeRoots(
    parts.map((part) => part.content),
    (index, message) => {
      ok = false;
      context.warn(`"${parts[index]?.name}" does not parse after conversion (${message})`);
    },
  );
  const variables: VariableDecl[] = [...roots.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([variable, hasPath]) => {
      const inferred = context.uses.get(variable) ?? (hasPath ? 'object' : 'string');
      const declared = context.declared.get(variable);
      if (declared && declared !== inferred && inferred !== 'string') {
        context.warn(
          `parameters declares ${variable} as ${declared}, but the prompt uses it as ${inferred}; the declaration was kept`,
        );
      }
      const type = declared ?? inferred;
      if (type === 'list' && context.bare.has(variable)) {
        context.warn(
          `${variable} is a list printed whole: the legacy app wrote Python's ['a', 'b'], the converted prompt writes JSON ["a","b"]`,
        );
      }
      return { name: variable, type, required: true, description: 'converted from the legacy prompt' };
    });
  if (context.literalCodes.size > 0) {
    const codes = [...context.literalCodes].map((code) => `{${code}}`).join(', ');
    context.warn(`kept ${codes} as literal text: answer codes the model copies into its reply, not inputs`);
  }
  return { row: context.row, parts, messages, variables, warnings: [...new Set(context.warnings)], skip: null, ok };
}
