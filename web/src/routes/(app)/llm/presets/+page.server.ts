import { load as read } from '#lib/server/api.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  event.depends('app:presets');
  const cursor = event.url.searchParams.get('cursor') || undefined;
  const [presets, models] = await Promise.all([
    read(event, (api) => api.GET('/api/v1/presets', { params: { query: { limit: 50, ...(cursor ? { cursor } : {}) } } })),
    read(event, (api) => api.GET('/api/v1/models', { params: { query: { limit: 200 } } })),
  ]);
  return { presets, models: models.items.map(({ id, display_name }) => ({ id, display_name })) };
};
