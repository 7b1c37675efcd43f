import { formText, load as read, submit } from '#lib/server/api.ts';
import { presetBody } from '../preset-form.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  event.depends('app:presets');
  const [preset, models] = await Promise.all([
    read(event, (api) => api.GET('/api/v1/presets/{id}', { params: { path: { id: event.params.id } } })),
    read(event, (api) => api.GET('/api/v1/models', { params: { query: { limit: 200 } } })),
  ]);
  return { preset, models: models.items };
};

export const actions: Actions = {
  default: async (event) => {
    const { body, values } = presetBody(await formText(event));
    const result = await submit(
      event,
      (api) => api.PATCH('/api/v1/presets/{id}', { params: { path: { id: event.params.id } }, body }),
      values,
    );
    if (!('ok' in result)) return result;
    return { saved: 'Saved. New tasks use these settings.' };
  },
};
