import type { components } from '#lib/api/schema.d.ts';

type Create = components['schemas']['ParameterPresetCreate'];
type Parameters = NonNullable<Create['parameters']>;

/** The numeric parameters a preset's editor may show, by their normalized names (docs/providers.md). */
export const NUMERIC = [
  'temperature',
  'top_p',
  'top_k',
  'max_output_tokens',
  'seed',
  'presence_penalty',
  'frequency_penalty',
  'first_byte_timeout_ms',
  'idle_timeout_ms',
] as const;

export const RETRY = ['max_attempts', 'initial_backoff_ms', 'max_backoff_ms', 'backoff_multiplier'] as const;

/** A number, or the text as it is (the API then says beside the field what is wrong), or nothing when empty. */
const number = (text: string): number | string | undefined =>
  text.trim() === '' ? undefined : Number.isFinite(Number(text.trim())) ? Number(text.trim()) : text;

interface FormText {
  get(name: string): string;
  all(name: string): string[];
}

/**
 * The body of a preset create or update from the editor's form. Only what the form sends is in it: the
 * editor sends the controls of the parameters the chosen model takes, and of an exclusive group only the
 * chosen one (`exclusive-N` names it; without JavaScript both inputs are sent, so the others are left out
 * here). What the model refuses anyway is the API's 422, shown beside its field.
 */
export function presetBody(form: FormText): { body: Create; values: Record<string, string> } {
  const values: Record<string, string> = {
    name: form.get('name'),
    description: form.get('description'),
    model_id: form.get('model_id'),
    stop: form.get('stop'),
    reasoning_effort: form.get('reasoning_effort'),
    response_format: form.get('response_format'),
    fallback_model_ids: form.all('fallback_model_ids').join(','),
  };
  for (const name of [...NUMERIC, ...RETRY]) values[name] = form.get(name);
  const excluded = new Set(
    Array.from({ length: 10 }, (_, index) => form.get(`exclusive-${index}`))
      .filter(Boolean)
      .flatMap((choice) => {
        const [group = '', chosen = ''] = choice.split(':');
        values[`exclusive:${group}`] = chosen;
        return group.split(',').filter((name) => name !== chosen);
      })
      .filter(Boolean),
  );

  const parameters: Record<string, unknown> = {};
  for (const name of NUMERIC) {
    const value = number(values[name] ?? '');
    if (value !== undefined && !excluded.has(name)) parameters[name] = value;
  }
  const stop = values.stop
    ?.split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  if (stop?.length) parameters.stop = stop;
  if (values.reasoning_effort) parameters.reasoning_effort = values.reasoning_effort;
  if (values.response_format) parameters.response_format = { type: values.response_format };

  const retry: Record<string, unknown> = {};
  for (const name of RETRY) {
    const value = number(values[name] ?? '');
    if (value !== undefined) retry[name] = value;
  }

  const body = {
    name: form.get('name'),
    description: form.get('description'),
    model_id: values.model_id || null,
    parameters: parameters as Parameters,
    retry_policy: retry as Create['retry_policy'],
    fallback_model_ids: form.all('fallback_model_ids').filter(Boolean),
  } satisfies Create;
  return { body, values };
}
