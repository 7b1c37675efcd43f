import { load as read } from '#lib/server/api.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  event.depends('app:parts');
  const params = event.url.searchParams;
  const kind = params.get('kind') || undefined;
  const tag = params.get('tag') || undefined;
  const q = params.get('q')?.trim() || undefined;
  const cursor = params.get('cursor') || undefined;
  const query = {
    limit: 50,
    ...(cursor ? { cursor } : {}),
    ...(kind ? { kind } : {}),
    ...(tag ? { tag } : {}),
    ...(q ? { q } : {}),
  };
  const [parts, kinds] = await Promise.all([
    read(event, (api) => api.GET('/api/v1/parts', { params: { query } })),
    read(event, (api) => api.GET('/api/v1/part-kinds')),
  ]);
  return { parts, kinds: kinds.items, filters: { kind: kind ?? '', tag: tag ?? '', q: q ?? '' } };
};
