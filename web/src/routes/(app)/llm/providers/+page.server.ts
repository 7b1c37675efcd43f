import { load as read } from '#lib/server/api.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  event.depends('app:providers');
  const cursor = event.url.searchParams.get('cursor') ?? undefined;
  const providers = await read(event, (api) =>
    api.GET('/api/v1/providers', { params: { query: { limit: 50, ...(cursor ? { cursor } : {}) } } }),
  );
  return { providers };
};
