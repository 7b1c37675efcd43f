import { load as read } from '#lib/server/api.ts';
import type { PageServerLoad } from './$types';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const load: PageServerLoad = async (event) => {
  event.depends('app:task');
  const ids = event.url.searchParams.getAll('id').filter((id) => UUID.test(id));
  if (ids.length !== 2 || ids[0] === ids[1]) return { pair: null, given: ids.length };
  const [left, right, models] = await Promise.all([
    read(event, (api) => api.GET('/api/v1/tasks/{id}', { params: { path: { id: ids[0] ?? '' } } })),
    read(event, (api) => api.GET('/api/v1/tasks/{id}', { params: { path: { id: ids[1] ?? '' } } })),
    read(event, (api) => api.GET('/api/v1/models', { params: { query: { limit: 200 } } })),
  ]);
  return { pair: { left, right }, given: 2, models: models.items.map(({ id, display_name }) => ({ id, name: display_name })) };
};
