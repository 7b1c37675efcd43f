import { formText, load as read, submit } from '#lib/server/api.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  const cursor = event.url.searchParams.get('cursor') ?? undefined;
  const group = event.url.searchParams.get('group')?.trim() || undefined;
  const letters = await read(event, (api) =>
    api.GET('/api/v1/dead-letters', {
      params: { query: { limit: 50, ...(cursor ? { cursor } : {}), ...(group ? { group } : {}) } },
    }),
  );
  return { letters, group: group ?? '' };
};

async function act(event: Parameters<Actions[string]>[0], verb: 'replay' | 'skip') {
  const form = await formText(event);
  const path = { group: form.get('group'), event_id: form.get('event_id') };
  const result = await submit(event, (api) =>
    verb === 'replay'
      ? api.POST('/api/v1/dead-letters/{group}/{event_id}/replay', { params: { path } })
      : api.POST('/api/v1/dead-letters/{group}/{event_id}/skip', { params: { path } }),
  );
  if (!('ok' in result)) return result;
  return { done: verb === 'replay' ? 'Scheduled to run again.' : 'Skipped; the events behind it flow again.' };
}

export const actions: Actions = {
  replay: (event) => act(event, 'replay'),
  skip: (event) => act(event, 'skip'),
};
