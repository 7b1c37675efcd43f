import type { Schemas } from '../api/client.ts';
import type { VariableType } from './inputs.ts';

/**
 * The template editor's declared variables as the editor types them: the default stays text until it is
 * read by the declared type (a number, true/false, JSON for lists and objects), so a half-typed default
 * is a problem shown beside its field rather than a value lost.
 */
export interface VariableDraft {
  /** Keeps a row's identity while its name is being typed. */
  key: number;
  name: string;
  type: VariableType;
  required: boolean;
  description: string;
  /** The default as typed; '' is no default, and for text `""` is the empty text. */
  fallback: string;
}

export const VARIABLE_TYPES: ReadonlyArray<{ type: VariableType; label: string }> = [
  { type: 'string', label: 'Text' },
  { type: 'number', label: 'Number' },
  { type: 'boolean', label: 'True or false' },
  { type: 'list', label: 'List' },
  { type: 'object', label: 'Object (JSON)' },
];

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
let keys = 0;

/**
 * How the editor writes an empty text default. An empty field is no default, which is not the same: an
 * absent optional variable is nil (`{% if x %}` is false), an empty text is not (Liquid's `""` is truthy).
 */
export const EMPTY_TEXT = '""';

/** Default text for a declared default: strings as they are (the empty one as `""`), anything else as JSON. */
function fallbackText(value: unknown): string {
  if (value === undefined) return '';
  if (value === '') return EMPTY_TEXT;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function toDrafts(declared: readonly Schemas['VariableDeclaration'][]): VariableDraft[] {
  return declared.map((variable) => ({
    key: ++keys,
    name: variable.name,
    type: variable.type,
    required: variable.required ?? true,
    description: variable.description ?? '',
    fallback: fallbackText(variable.default),
  }));
}

/** A new row: an undeclared variable the text reads (typed by how it is used), or an empty one. */
export function newDraft(name = '', paths: readonly string[] = []): VariableDraft {
  const structured = paths.some((path) => path.includes('.'));
  return { key: ++keys, name, type: structured ? 'object' : 'string', required: true, description: '', fallback: '' };
}

/** The default read by its type, or the sentence that says what to type instead. */
function parseDefault(type: VariableType, text: string): { value: unknown } | { error: string } {
  if (type === 'string') return { value: text === EMPTY_TEXT ? '' : text };
  if (type === 'number') {
    const number = Number(text);
    return text.trim() !== '' && Number.isFinite(number) ? { value: number } : { error: 'Expected a number, e.g. 3 or 2.5.' };
  }
  if (type === 'boolean') {
    return text === 'true' || text === 'false' ? { value: text === 'true' } : { error: 'Expected true or false.' };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {
      error: type === 'list' ? 'Expected a JSON array, e.g. ["rye", "spelt"].' : 'Expected a JSON object, e.g. {"title": "Rye"}.',
    };
  }
  if (type === 'list')
    return Array.isArray(value) ? { value } : { error: 'Expected a JSON array in [ ], e.g. ["rye", "spelt"].' };
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? { value }
    : { error: 'Expected a JSON object in { }, e.g. {"title": "Rye"}.' };
}

/**
 * The declarations the prompt service takes, and per row (by key) what is wrong with it. A row with a
 * problem is left out of `variables`, so the preview goes on with the others while it is being fixed.
 */
export function toDeclarations(drafts: readonly VariableDraft[]): {
  variables: Schemas['VariableDeclaration'][];
  errors: Record<number, { name?: string; fallback?: string }>;
} {
  const variables: Schemas['VariableDeclaration'][] = [];
  const errors: Record<number, { name?: string; fallback?: string }> = {};
  const seen = new Set<string>();
  for (const draft of drafts) {
    const name = draft.name.trim();
    const problem: { name?: string; fallback?: string } = {};
    if (!NAME.test(name)) problem.name = 'Letters, digits and underscores, not starting with a digit (up to 64).';
    else if (seen.has(name)) problem.name = `${name} is declared twice.`;
    seen.add(name);
    const parsed = draft.fallback === '' ? undefined : parseDefault(draft.type, draft.fallback);
    if (parsed && 'error' in parsed) problem.fallback = parsed.error;
    if (problem.name || problem.fallback) {
      errors[draft.key] = problem;
      continue;
    }
    variables.push({
      name,
      type: draft.type,
      required: draft.required,
      description: draft.description,
      ...(parsed && 'value' in parsed ? { default: parsed.value } : {}),
    });
  }
  return { variables, errors };
}
