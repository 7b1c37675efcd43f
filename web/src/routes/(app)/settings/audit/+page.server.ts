import { load as read } from '#lib/server/api.ts';
import type { PageServerLoad } from './$types';

/** The filters the audit log takes, read from the address (so the back button and shared links keep them). */
const FILTERS = ['action', 'service', 'resource_type', 'resource_id', 'actor_id'] as const;
/** The time window, typed as a UTC date and time (`2026-12-06T20:30`) and sent as RFC 3339. */
const WINDOW = ['since', 'until'] as const;
/**
 * The actors that are not people, as the audit log names them (`service:<id>`): the services, the operator's
 * command line (`npm run llmops -- …`) and the retention pass that removes dead letters past their time.
 */
const SERVICES = ['gateway', 'registry', 'prompt', 'runner', 'workflow', 'operator-cli', 'retention'] as const;

function utc(text: string): string | undefined {
  const match = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.exec(text);
  if (!match) return undefined;
  const at = Date.parse(`${text}${match[1] ? '' : ':00'}Z`);
  return Number.isNaN(at) ? undefined : new Date(at).toISOString();
}

export const load: PageServerLoad = async (event) => {
  const params = event.url.searchParams;
  const query: Record<string, string | number> = { limit: 50 };
  for (const name of [...FILTERS, 'cursor']) {
    const value = params.get(name)?.trim();
    if (value) query[name] = value;
  }
  const invalid: string[] = [];
  for (const name of WINDOW) {
    const value = params.get(name)?.trim();
    if (!value) continue;
    const at = utc(value);
    if (at) query[name] = at;
    else invalid.push(name);
  }
  const [entries, accounts] = await Promise.all([
    read(event, (api) => api.GET('/api/v1/audit', { params: { query } })),
    read(event, (api) => api.GET('/api/v1/accounts', { params: { query: { limit: 200 } } })),
  ]);
  const filters = Object.fromEntries([...FILTERS, ...WINDOW].map((name) => [name, params.get(name) ?? '']));
  return {
    entries,
    filters,
    invalid,
    actors: accounts.items.map(({ id, name, email }) => ({ id, name, email })),
    services: SERVICES,
  };
};
