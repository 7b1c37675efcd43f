import { load as read } from '#lib/server/api.ts';
import type { PageServerLoad } from './$types';

/** The filters the audit log takes, read from the address (so the back button and shared links keep them). */
const FILTERS = ['action', 'service', 'resource_type', 'resource_id', 'actor_id'] as const;

export const load: PageServerLoad = async (event) => {
  const params = event.url.searchParams;
  const query: Record<string, string | number> = { limit: 50 };
  for (const name of [...FILTERS, 'cursor']) {
    const value = params.get(name)?.trim();
    if (value) query[name] = value;
  }
  const entries = await read(event, (api) => api.GET('/api/v1/audit', { params: { query } }));
  const filters = Object.fromEntries(FILTERS.map((name) => [name, params.get(name) ?? '']));
  return { entries, filters };
};
