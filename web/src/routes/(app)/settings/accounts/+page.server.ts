import { formText, load as read, submit } from '#lib/server/api.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  const cursor = event.url.searchParams.get('cursor') ?? undefined;
  const accounts = await read(event, (api) =>
    api.GET('/api/v1/accounts', { params: { query: { limit: 50, ...(cursor ? { cursor } : {}) } } }),
  );
  return { accounts };
};

const ROLES = ['viewer', 'editor', 'admin'] as const;
const roleOf = (value: string) => ((ROLES as readonly string[]).includes(value) ? (value as (typeof ROLES)[number]) : 'viewer');

export const actions: Actions = {
  create: async (event) => {
    const form = await formText(event);
    const values = { name: form.get('name'), email: form.get('email'), role: form.get('role') };
    const result = await submit(
      event,
      (api) =>
        api.POST('/api/v1/accounts', {
          body: { name: values.name, email: values.email, role: roleOf(values.role), password: form.get('password') },
        }),
      values,
    );
    if (!('ok' in result)) return result;
    return { createdAccount: result.data?.email };
  },
  update: async (event) => {
    const form = await formText(event);
    const id = form.get('id');
    const disabled = form.get('disabled');
    const role = form.get('role');
    const result = await submit(event, (api) =>
      api.PATCH('/api/v1/accounts/{id}', {
        params: { path: { id } },
        body: { ...(role ? { role: roleOf(role) } : {}), ...(disabled ? { disabled: disabled === 'true' } : {}) },
      }),
    );
    if (!('ok' in result)) return result;
    return { updatedAccount: id };
  },
};
