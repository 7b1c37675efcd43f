import { error } from '@sveltejs/kit';
import { load as read } from '#lib/server/api.ts';
import { filtersOf, taskQuery } from '#lib/tasks/filters.ts';
import { toCsv, EXPORT_LIMIT } from '#lib/tasks/csv.ts';
import type { RequestHandler } from './$types';

/**
 * The filtered history as a file: CSV or JSON, the same filters as the list (the address's), every page
 * of it up to EXPORT_LIMIT tasks (the file says when it stopped there).
 */
export const GET: RequestHandler = async (event) => {
  const format = event.url.searchParams.get('format');
  if (format !== 'csv' && format !== 'json') error(400, 'Ask for format=csv or format=json.');
  const query = taskQuery(filtersOf(event.url.searchParams));
  const tasks = [];
  let cursor: string | undefined;
  do {
    const page = await read(event, (api) =>
      api.GET('/api/v1/tasks', { params: { query: { ...query, limit: 200, ...(cursor ? { cursor } : {}) } } }),
    );
    tasks.push(...page.items);
    cursor = page.next_cursor ?? undefined;
  } while (cursor && tasks.length < EXPORT_LIMIT);
  const truncated = Boolean(cursor);
  const kept = tasks.slice(0, EXPORT_LIMIT);
  const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-');
  const headers = {
    'content-disposition': `attachment; filename="tasks-${stamp}.${format}"`,
    'cache-control': 'no-store',
    ...(truncated ? { 'x-llmops-truncated': `first ${EXPORT_LIMIT} tasks` } : {}),
  };
  if (format === 'json')
    return new Response(JSON.stringify({ tasks: kept, truncated }, null, 2), {
      headers: { ...headers, 'content-type': 'application/json; charset=utf-8' },
    });
  return new Response(toCsv(kept), { headers: { ...headers, 'content-type': 'text/csv; charset=utf-8' } });
};
