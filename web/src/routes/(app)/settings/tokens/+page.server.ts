import { fail } from '@sveltejs/kit';
import { formText, load as read, submit, type Refusal } from '#lib/server/api.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  const cursor = event.url.searchParams.get('cursor') ?? undefined;
  const tokens = await read(event, (api) =>
    api.GET('/api/v1/tokens', { params: { query: { limit: 50, ...(cursor ? { cursor } : {}) } } }),
  );
  return { tokens };
};

export const actions: Actions = {
  create: async (event) => {
    const form = await formText(event);
    const name = form.get('name');
    const scopes = form.all('scopes');
    const expires = form.get('expires_at');
    if (scopes.length === 0) {
      return fail<Refusal>(422, {
        problem: { detail: 'Choose what the token may do.', fields: { scopes: 'Choose at least one scope.' } },
        values: { name, expires_at: expires },
      });
    }
    // The form's datetime-local is read as UTC (the page says so), like every time the dashboard shows.
    const parsed = expires ? Date.parse(`${expires}Z`) : NaN;
    if (expires && Number.isNaN(parsed)) {
      return fail(422, {
        problem: {
          detail: 'The expiry is not a date and time.',
          fields: { expires_at: 'Enter a date and time, or leave it empty.' },
        },
        values: { name, expires_at: expires },
      });
    }
    const expiresAt = expires ? new Date(parsed).toISOString() : undefined;
    const result = await submit(
      event,
      (api) =>
        api.POST('/api/v1/tokens', {
          body: { name, scopes: scopes as never, ...(expiresAt ? { expires_at: expiresAt } : {}) },
        }),
      { name, expires_at: expires },
    );
    if (!('ok' in result)) return result;
    return { created: result.data };
  },
  revoke: async (event) => {
    const form = await formText(event);
    const id = form.get('id');
    const result = await submit(event, (api) => api.DELETE('/api/v1/tokens/{id}', { params: { path: { id } } }));
    if (!('ok' in result)) return result;
    return { revoked: id };
  },
};
