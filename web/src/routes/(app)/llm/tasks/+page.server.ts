import { load as read } from '#lib/server/api.ts';
import { filtersOf, taskQuery } from '#lib/tasks/filters.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  event.depends('app:tasks');
  const params = event.url.searchParams;
  const filters = filtersOf(params);
  const cursor = params.get('cursor') || undefined;
  const query = { ...taskQuery(filters), limit: 50, include_output: 'false' as const, ...(cursor ? { cursor } : {}) };
  const [tasks, templates, models, providers, presets] = await Promise.all([
    read(event, (api) => api.GET('/api/v1/tasks', { params: { query } })),
    read(event, (api) => api.GET('/api/v1/templates', { params: { query: { limit: 200 } } })),
    read(event, (api) => api.GET('/api/v1/models', { params: { query: { limit: 200 } } })),
    read(event, (api) => api.GET('/api/v1/providers', { params: { query: { limit: 200 } } })),
    read(event, (api) => api.GET('/api/v1/presets', { params: { query: { limit: 200 } } })),
  ]);
  return {
    tasks,
    filters,
    templates: templates.items.map(({ id, name }) => ({ id, name })),
    models: models.items.map(({ id, display_name }) => ({ id, name: display_name })),
    providers: providers.items.map(({ id, name }) => ({ id, name })),
    presets: presets.items.map(({ id, name }) => ({ id, name })),
  };
};
