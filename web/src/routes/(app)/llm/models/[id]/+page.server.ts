import { fail } from '@sveltejs/kit';
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
    const values = {
      input_per_mtok: form.get('input_per_mtok'),
      output_per_mtok: form.get('output_per_mtok'),
      cached_input_per_mtok: form.get('cached_input_per_mtok'),
      effective_from: form.get('effective_from'),
    };
    const from = values.effective_from ? Date.parse(`${values.effective_from}Z`) : undefined;
    if (from !== undefined && Number.isNaN(from)) {
      return fail<Refusal>(422, {
        problem: {
          detail: 'The start is not a date and time.',
          fields: { effective_from: 'Enter a date and time (UTC), or leave it empty for now.' },
        },
        values,
      });
    }
    const result = await submit(
      event,
      (api) =>
        api.PATCH('/api/v1/models/{id}', {
          params: { path: { id: event.params.id } },
          body: {
            price: {
              input_per_mtok: values.input_per_mtok.trim(),
              output_per_mtok: values.output_per_mtok.trim(),
              ...(values.cached_input_per_mtok.trim() ? { cached_input_per_mtok: values.cached_input_per_mtok.trim() } : {}),
              ...(from !== undefined ? { effective_from: new Date(from).toISOString() } : {}),
            },
          } as never,
        }),
      values,
    );
    if (!('ok' in result)) return result;
    return { saved: 'The new price is recorded; earlier prices stay in the history.' };
  },
};
