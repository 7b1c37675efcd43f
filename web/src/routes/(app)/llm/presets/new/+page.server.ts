import { redirect } from '@sveltejs/kit';
import { formText, load as read, submit } from '#lib/server/api.ts';
import { presetBody } from '../preset-form.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  event.depends('app:models');
  const models = await read(event, (api) => api.GET('/api/v1/models', { params: { query: { limit: 200 } } }));
  return { models: models.items };
};

export const actions: Actions = {
  default: async (event) => {
    const { body, values } = presetBody(await formText(event));
    const result = await submit(event, (api) => api.POST('/api/v1/presets', { body }), values);
    if (!('ok' in result)) return result;
    redirect(303, `/llm/presets/${result.data?.id ?? ''}`);
  },
};
