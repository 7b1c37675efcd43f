/** A problem+json answer of the API as the dashboard shows it: a sentence, and a message per field. */
export interface ShownProblem {
  detail: string;
  fields: Record<string, string>;
}

/** `expected at least 12 characters` → `Expected at least 12 characters.`: a message reads as a sentence. */
export function sentence(message: string): string {
  const text = message.trim();
  if (!text) return text;
  const capital = text[0]?.toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/**
 * The form field a problem's field path names: `body.email` → `email`, `body.scopes.0` → `scopes`,
 * `body.price.input_per_mtok` → `input_per_mtok`, `body.fallback_model_ids[1]` → `fallback_model_ids`,
 * `query.cursor` → `cursor`. Forms name their inputs after
 * the API's fields (the last name of the path), so the message lands beside the input it is about.
 */
export function fieldOf(path: string): string {
  const parts = path
    .replace(/\[\d+\]/g, '')
    .split('.')
    .filter((part) => part !== '' && !/^\d+$/.test(part));
  const rest = ['body', 'query', 'param', 'params', 'header'].includes(parts[0] ?? '') ? parts.slice(1) : parts;
  return rest.at(-1) ?? path;
}

export function showProblem(problem: unknown, fallback: string): ShownProblem {
  const body = (typeof problem === 'object' && problem !== null ? problem : {}) as {
    detail?: unknown;
    title?: unknown;
    errors?: { field?: unknown; message?: unknown }[];
  };
  const fields: Record<string, string> = {};
  for (const error of Array.isArray(body.errors) ? body.errors : []) {
    if (typeof error.field === 'string' && typeof error.message === 'string') {
      fields[fieldOf(error.field)] ??= sentence(error.message);
    }
  }
  const detail = typeof body.detail === 'string' ? body.detail : typeof body.title === 'string' ? body.title : fallback;
  return { detail, fields };
}
