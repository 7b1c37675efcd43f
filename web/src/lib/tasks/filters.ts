import type { paths } from '../api/schema.d.ts';

type TaskQuery = NonNullable<paths['/api/v1/tasks']['get']['parameters']['query']>;

const STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled', 'rejected'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The history's filters as they live in the address (the form's names), each as the reader typed it. */
export const FILTER_NAMES = [
  'status',
  'template_id',
  'label',
  'model_id',
  'provider_id',
  'preset_id',
  'group_id',
  'from',
  'to',
  'q',
] as const;
export type Filters = Record<(typeof FILTER_NAMES)[number], string>;

export function filtersOf(params: URLSearchParams): Filters {
  return Object.fromEntries(FILTER_NAMES.map((name) => [name, params.get(name)?.trim() ?? ''])) as Filters;
}

/** A `datetime-local` value read as UTC (the form says so), or an RFC 3339 timestamp as given. */
function instant(value: string): string | undefined {
  if (!value) return undefined;
  const text = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(value) ? `${value}:00Z` : value;
  const time = Date.parse(text);
  return Number.isNaN(time) ? undefined : new Date(time).toISOString();
}

/**
 * The address's filters → the task list's query. A value the API would refuse (a malformed id or date) is
 * left out rather than turning the whole page into an error; the form still shows it as typed.
 */
export function taskQuery(filters: Filters): TaskQuery {
  const query: TaskQuery = {};
  const statuses = filters.status.split(',').filter((status) => STATUSES.includes(status));
  if (statuses.length > 0) query.status = statuses.join(',');
  for (const name of ['template_id', 'model_id', 'provider_id', 'preset_id', 'group_id'] as const) {
    if (UUID.test(filters[name])) query[name] = filters[name];
  }
  if (filters.label) query.label = filters.label.slice(0, 63);
  const after = instant(filters.from);
  const before = instant(filters.to);
  if (after) query.created_after = after;
  if (before) query.created_before = before;
  if (filters.q) query.q = filters.q.slice(0, 200);
  return query;
}
