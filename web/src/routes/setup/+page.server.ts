import { redirect } from '@sveltejs/kit';
import { formText, submit } from '#lib/server/api.ts';
import { passCookies } from '#lib/server/cookies.ts';
import { gatewayClient } from '#lib/server/gateway.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  const { session } = await event.parent();
  if (session) redirect(303, '/llm');
  const code = event.url.searchParams.get('code') ?? '';
  const status = await gatewayClient(event)
    .GET('/api/v1/setup', { params: { query: code ? { code } : {} } })
    .then(({ data }) => data ?? null)
    .catch(() => null);
  return { code, status };
};

export const actions: Actions = {
  default: async (event) => {
    const form = await formText(event);
    const values = { name: form.get('name'), email: form.get('email') };
    const result = await submit(
      event,
      (api) => api.POST('/api/v1/setup', { body: { code: form.get('code'), ...values, password: form.get('password') } }),
      values,
    );
    if (!('ok' in result)) return result;
    passCookies(result.response, event.cookies);
    redirect(303, '/llm');
  },
};
