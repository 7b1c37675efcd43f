import { redirect } from '@sveltejs/kit';
import { resolve } from '$app/paths';
import { formText, load as read, submit } from '#lib/server/api.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  event.depends('app:task');
  const path = { id: event.params.id };
  const [task, models] = await Promise.all([
    read(event, (api) => api.GET('/api/v1/tasks/{id}', { params: { path } })),
    read(event, (api) => api.GET('/api/v1/models', { params: { query: { limit: 200 } } })),
  ]);
  return {
    task,
    models: models.items.map(({ id, display_name, enabled, modality }) => ({ id, name: display_name, enabled, modality })),
  };
};

export const actions: Actions = {
  retry: async (event) => {
    const form = await formText(event);
    const model = form.get('model_id');
    const values = { model_id: model };
    const result = await submit(
      event,
      (api) =>
        api.POST('/api/v1/tasks/{id}/retry', {
          params: { path: { id: event.params.id } },
          body: model ? { model_id: model } : {},
        }),
      values,
    );
    if (!('ok' in result)) return result;
    if (!result.data) return { saved: 'Retried.' };
    redirect(303, resolve('/(app)/llm/tasks/[id]', { id: result.data.id }));
  },
  cancel: async (event) => {
    const result = await submit(event, (api) =>
      api.POST('/api/v1/tasks/{id}/cancel', { params: { path: { id: event.params.id } } }),
    );
    if (!('ok' in result)) return result;
    return { saved: 'Cancel asked: a running attempt stops at once.' };
  },
};
