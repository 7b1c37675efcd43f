import { load as read } from '#lib/server/api.ts';
import type { operations } from '#lib/api/schema.d.ts';
import type { PageServerLoad } from './$types';

type ModelSort = NonNullable<NonNullable<operations['listModels']['parameters']['query']>['sort']>;

export const load: PageServerLoad = async (event) => {
  event.depends('app:models');
  const params = event.url.searchParams;
  const provider = params.get('provider_id') || undefined;
  const modality = params.get('modality');
  const cursor = params.get('cursor') || undefined;
  // The order from the table's headers, as the address gives it; the API refuses one it does not offer.
  const sort = (params.get('sort') || undefined) as ModelSort | undefined;
  const query = {
    limit: 50,
    ...(cursor ? { cursor } : {}),
    ...(sort ? { sort } : {}),
    ...(provider ? { provider_id: provider } : {}),
    ...(modality === 'chat' || modality === 'image' ? { modality: modality as 'chat' | 'image' } : {}),
  };
  const [models, providers] = await Promise.all([
    read(event, (api) => api.GET('/api/v1/models', { params: { query } })),
    read(event, (api) => api.GET('/api/v1/providers', { params: { query: { limit: 200 } } })),
  ]);
  return { models, providers: providers.items, filters: { provider_id: provider ?? '', modality: modality ?? '' } };
};
