import { load as read } from '#lib/server/api.ts';
import type { operations } from '#lib/api/schema.d.ts';
import type { PageServerLoad } from './$types';

type ProviderSort = NonNullable<NonNullable<operations['listProviders']['parameters']['query']>['sort']>;

export const load: PageServerLoad = async (event) => {
  event.depends('app:providers');
  const cursor = event.url.searchParams.get('cursor') ?? undefined;
  // The order from the table's headers, as the address gives it; the API refuses one it does not offer.
  const sort = (event.url.searchParams.get('sort') || undefined) as ProviderSort | undefined;
  const providers = await read(event, (api) =>
    api.GET('/api/v1/providers', { params: { query: { limit: 50, ...(cursor ? { cursor } : {}), ...(sort ? { sort } : {}) } } }),
  );
  return { providers };
};
