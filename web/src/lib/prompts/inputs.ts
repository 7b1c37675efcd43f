import type { Schemas } from '../api/client.ts';

/**
 * The inputs form of a template (its live preview and the runner): one control per variable, typed by
 * the declaration, and what the reader typed turned into the inputs the renderer takes.
 */
export type VariableType = Schemas['VariableDeclaration']['type'];

export interface InputVariable {
  name: string;
  type: VariableType;
  required: boolean;
  description: string;
  /** The declared default as JSON text (shown as a hint), or null when there is none. */
  fallback: string | null;
}

/**
 * The declared variables first, in their order, then those the text reads that are not declared: one used
 * with properties (`post.title`) is an object, any other a string.
 */
export function inputVariables(
  declared: readonly Schemas['VariableDeclaration'][],
  discovered: readonly Schemas['DiscoveredVariable'][],
): InputVariable[] {
  const list: InputVariable[] = declared.map((variable) => ({
    name: variable.name,
    type: variable.type,
    required: variable.required ?? true,
    description: variable.description ?? '',
    fallback: variable.default === undefined ? null : JSON.stringify(variable.default),
  }));
  const known = new Set(list.map((variable) => variable.name));
  for (const variable of discovered) {
    if (known.has(variable.name)) continue;
    known.add(variable.name);
    const structured = variable.paths.some((path) => path.includes('.'));
    list.push({
      name: variable.name,
      type: structured ? 'object' : 'string',
      required: true,
      description: structured ? `Used as ${variable.paths.join(', ')}.` : '',
      fallback: null,
    });
  }
  return list;
}

/** The hint under a field: the variable's description as a sentence, then its default. */
export function hintText(variable: Pick<InputVariable, 'description' | 'fallback'>): string {
  const description = variable.description.trim();
  const sentence = description === '' || /[.!?:]$/.test(description) ? description : `${description}.`;
  return [sentence, variable.fallback === null ? '' : `If not given: ${variable.fallback}.`].filter(Boolean).join(' ');
}

/**
 * A list's items when it can be edited item by item (a JSON array of strings, or nothing yet); null when
 * it holds something else (numbers, objects, or text that is not JSON), which is edited as JSON.
 */
export function listItems(raw: string): string[] | null {
  if (raw.trim() === '') return [];
  try {
    const value: unknown = JSON.parse(raw);
    return Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : null;
  } catch {
    return null;
  }
}

/** Items back into what the form keeps: no item is no input (so a required list shows as missing). */
export function fromItems(items: readonly string[]): string {
  return items.length === 0 ? '' : JSON.stringify(items);
}

/**
 * The inputs as the render wants them, from what the reader typed: declared types decide (a number, a
 * boolean, a JSON array for lists, a JSON object for objects); an undeclared variable used with properties
 * (`post.title`) is an object, else text. An empty field is left out, so a missing input shows as the
 * renderer's problem (or its default applies). `errors` says, per field, what to fix.
 */
export function parseInputs(
  typed: Record<string, string>,
  declared: readonly Schemas['VariableDeclaration'][],
  discovered: readonly Schemas['DiscoveredVariable'][],
): { inputs: Record<string, unknown>; errors: Record<string, string> } {
  const types = new Map(inputVariables(declared, discovered).map((variable) => [variable.name, variable.type]));
  const inputs: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const [name, raw] of Object.entries(typed)) {
    const type = types.get(name) ?? 'string';
    if (type === 'boolean') {
      if (raw !== '') inputs[name] = raw === 'true';
      continue;
    }
    if (raw.trim() === '') continue;
    if (type === 'number') {
      const number = Number(raw);
      if (Number.isFinite(number)) inputs[name] = number;
      else errors[name] = 'Expected a number, e.g. 3 or 2.5.';
    } else if (type === 'list' || type === 'object') {
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch {
        errors[name] =
          type === 'list' ? 'Expected a JSON array, e.g. ["bread", "rye"].' : 'Expected a JSON object, e.g. {"title": "Rye"}.';
        continue;
      }
      if (type === 'list' && !Array.isArray(value)) errors[name] = 'Expected a JSON array in [ ], e.g. ["bread", "rye"].';
      else if (type === 'object' && (typeof value !== 'object' || value === null || Array.isArray(value)))
        errors[name] = 'Expected a JSON object in { }, e.g. {"title": "Rye"}.';
      else inputs[name] = value;
    } else inputs[name] = raw;
  }
  return { inputs, errors };
}
