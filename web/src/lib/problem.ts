/** A problem+json answer of the API as the dashboard shows it: a sentence, and a message per field. */
export interface ShownProblem {
  detail: string;
  fields: Record<string, string>;
}

/** `body.email` → `email`: the form field a problem names. */
export function showProblem(problem: unknown, fallback: string): ShownProblem {
  const body = (typeof problem === 'object' && problem !== null ? problem : {}) as {
    detail?: unknown;
    title?: unknown;
    errors?: { field?: unknown; message?: unknown }[];
  };
  const fields: Record<string, string> = {};
  for (const error of Array.isArray(body.errors) ? body.errors : []) {
    if (typeof error.field === 'string' && typeof error.message === 'string') {
      fields[error.field.replace(/^body\./, '')] ??= error.message;
    }
  }
  const detail = typeof body.detail === 'string' ? body.detail : typeof body.title === 'string' ? body.title : fallback;
  return { detail, fields };
}
