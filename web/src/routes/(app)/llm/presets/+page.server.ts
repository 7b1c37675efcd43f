import { load as read } from '#lib/server/api.ts';
import type { operations } from '#lib/api/schema.d.ts';
import type { PageServerLoad } from './$types';

type PresetSort = NonNullable<NonNullable<operations['listPresets']['parameters']['query']>['sort']>;

export const load: PageServerLoad = async (event) => {
  event.depends('app:presets');
  const cursor = event.url.searchParams.get('cursor') || undefined;
  // The order from the table's headers, as the address gives it; the API refuses one it does not offer.
  const sort = (event.url.searchParams.get('sort') || undefined) as PresetSort | undefined;
  const [presets, models] = await Promise.all([
    read(event, (api) =>
      api.GET('/api/v1/presets', { params: { query: { limit: 50, ...(cursor ? { cursor } : {}), ...(sort ? { sort } : {}) } } }),
    ),
    read(event, (api) => api.GET('/api/v1/models', { params: { query: { limit: 200 } } })),
  ]);
  return { presets, models: models.items.map(({ id, display_name }) => ({ id, display_name })) };
};
