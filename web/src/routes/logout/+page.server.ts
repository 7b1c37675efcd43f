import { redirect } from '@sveltejs/kit';
import { passCookies } from '#lib/server/cookies.ts';
import { submit } from '#lib/server/api.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = () => {
  redirect(307, '/llm');
};

export const actions: Actions = {
  default: async (event) => {
    const result = await submit(event, (api) => api.POST('/api/v1/logout'));
    if ('ok' in result) passCookies(result.response, event.cookies);
    else return result;
    redirect(303, '/login');
  },
};
