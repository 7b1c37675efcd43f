import { fail } from '@sveltejs/kit';
import { localField } from '#lib/dates.ts';
import { sentence } from '#lib/problem.ts';
import { formText, load as read, submit, type Refusal } from '#lib/server/api.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  event.depends('app:models');
  const model = await read(event, (api) => api.GET('/api/v1/models/{id}', { params: { path: { id: event.params.id } } }));
  return { model };
};

/** A whole number, or null for an empty field, or the text as it is (the API then says what is wrong beside it). */
const count = (text: string) => (text.trim() === '' ? null : /^\d+$/.test(text.trim()) ? Number(text.trim()) : text);

export const actions: Actions = {
  details: async (event) => {
    const form = await formText(event);
    const values = {
      display_name: form.get('display_name'),
      context_window: form.get('context_window'),
      max_output_tokens: form.get('max_output_tokens'),
    };
    const result = await submit(
      event,
      (api) =>
        api.PATCH('/api/v1/models/{id}', {
          params: { path: { id: event.params.id } },
          body: {
            display_name: values.display_name,
            context_window: count(values.context_window),
            max_output_tokens: count(values.max_output_tokens),
          } as never,
        }),
      values,
    );
    if (!('ok' in result)) return result;
    return { saved: 'Saved.' };
  },
  toggle: async (event) => {
    const form = await formText(event);
    const enabled = form.get('enabled') === 'true';
    const result = await submit(event, (api) =>
      api.PATCH('/api/v1/models/{id}', { params: { path: { id: event.params.id } }, body: { enabled } }),
    );
    if (!('ok' in result)) return result;
    return { saved: enabled ? 'Enabled.' : 'Disabled: no new task uses it.' };
  },
  price: async (event) => {
    const form = await formText(event);
    const values = priceValues(form);
    const price = priceBody(values);
    if ('refused' in price) return price.refused;
    const result = await submit(
      event,
      (api) => api.PATCH('/api/v1/models/{id}', { params: { path: { id: event.params.id } }, body: { price } as never }),
      values,
    );
    if (!('ok' in result)) return result;
    return { saved: 'The new price is recorded; earlier prices stay in the history.' };
  },
  /** Correct a price that has not taken effect yet (figures, or its start): the registry audits it. */
  correct: async (event) => {
    const form = await formText(event);
    const values = { ...priceValues(form), correcting: form.get('correcting') };
    const price = priceBody(values, localField(values.correcting));
    if ('refused' in price) return price.refused;
    const result = await submit(
      event,
      (api) =>
        api.PUT('/api/v1/models/{id}/prices/{effective_from}', {
          params: { path: { id: event.params.id, effective_from: values.correcting } },
          body: price as never,
        }),
      values,
    );
    if (!('ok' in result)) return result;
    return { saved: 'The scheduled price is corrected.', corrected: true };
  },
  /** Replace the model's rules as a whole (docs/model-rules.md); the registry checks them against the kind. */
  rules: async (event) => {
    const form = await formText(event);
    const values = { rules: form.get('rules') };
    let rules: unknown;
    try {
      rules = JSON.parse(values.rules);
    } catch (error) {
      return fail<Refusal>(422, {
        problem: { detail: 'The rules are not JSON.', fields: { rules: `Not JSON: ${(error as Error).message}` } },
        values,
      });
    }
    let refused: unknown;
    const result = await submit(
      event,
      async (api) => {
        const answer = await api.PATCH('/api/v1/models/{id}', {
          params: { path: { id: event.params.id } },
          body: { rules } as never,
        });
        refused = answer.error;
        return answer;
      },
      values,
    );
    if (!('ok' in result)) {
      // The one field here is the whole text: each problem says where inside the rules it is.
      const said = problemsOf(refused).map(
        ({ field, message }) => `${field.replace(/^body\.rules\.?/, '') || 'rules'}: ${sentence(message)}`,
      );
      return fail<Refusal>(result.status, {
        ...result.data,
        problem:
          said.length > 0
            ? { detail: 'The registry refused these rules.', fields: { rules: said.join(' ') } }
            : result.data.problem,
      });
    }
    return { saved: 'The rules are saved: presets and new tasks are checked against them.' };
  },
  /** Withdraw a price that has not taken effect yet: it leaves the history, and the registry audits it. */
  withdraw: async (event) => {
    const form = await formText(event);
    const result = await submit(event, (api) =>
      api.DELETE('/api/v1/models/{id}/prices/{effective_from}', {
        params: { path: { id: event.params.id, effective_from: form.get('effective_from') } },
      }),
    );
    if (!('ok' in result)) return result;
    return { saved: 'The scheduled price is withdrawn; the price in force stays.' };
  },
};

/** The field errors of a problem+json answer, as the API gave them. */
function problemsOf(problem: unknown): { field: string; message: string }[] {
  const errors = (problem as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errors)
    ? errors.filter(
        (error): error is { field: string; message: string } =>
          typeof error?.field === 'string' && typeof error?.message === 'string',
      )
    : [];
}

function priceValues(form: { get: (name: string) => string }) {
  return {
    input_per_mtok: form.get('input_per_mtok'),
    output_per_mtok: form.get('output_per_mtok'),
    cached_input_per_mtok: form.get('cached_input_per_mtok'),
    per_image: form.get('per_image'),
    effective_from: form.get('effective_from'),
  };
}

/**
 * The API's price body from the form (a start typed as UTC), or the refusal of a start that is not a date.
 * `keep`: the start of the price being corrected, as the form shows it; left as it was, it is not sent, so
 * the price keeps its exact start.
 */
function priceBody(values: ReturnType<typeof priceValues>, keep?: string) {
  const from = values.effective_from ? Date.parse(`${values.effective_from}Z`) : undefined;
  if (from !== undefined && Number.isNaN(from)) {
    return {
      refused: fail<Refusal>(422, {
        problem: {
          detail: 'The start is not a date and time.',
          fields: { effective_from: 'Enter a date and time (UTC), or leave it empty for now.' },
        },
        values,
      }),
    };
  }
  return {
    input_per_mtok: values.input_per_mtok.trim(),
    output_per_mtok: values.output_per_mtok.trim(),
    ...(values.cached_input_per_mtok.trim() ? { cached_input_per_mtok: values.cached_input_per_mtok.trim() } : {}),
    ...(values.per_image.trim() ? { per_image: values.per_image.trim() } : {}),
    ...(from !== undefined && values.effective_from !== keep ? { effective_from: new Date(from).toISOString() } : {}),
  };
}
