import { load as read } from '#lib/server/api.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  event.depends('app:templates');
  const params = event.url.searchParams;
  const q = params.get('q')?.trim() || undefined;
  const cursor = params.get('cursor') || undefined;
  const templates = await read(event, (api) =>
    api.GET('/api/v1/templates', { params: { query: { limit: 50, ...(cursor ? { cursor } : {}), ...(q ? { q } : {}) } } }),
  );
  return { templates, filters: { q: q ?? '' } };
};
