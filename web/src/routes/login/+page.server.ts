import { redirect } from '@sveltejs/kit';
import { safeNext } from '#lib/next-path.ts';
import { formText, submit } from '#lib/server/api.ts';
import { passCookies } from '#lib/server/cookies.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ parent, url }) => {
  const { session } = await parent();
  if (session) redirect(303, safeNext(url.searchParams.get('next')));
  return { next: safeNext(url.searchParams.get('next'), '') };
};

export const actions: Actions = {
  default: async (event) => {
    const form = await formText(event);
    const email = form.get('email');
    const result = await submit(event, (api) => api.POST('/api/v1/login', { body: { email, password: form.get('password') } }), {
      email,
    });
    if (!('ok' in result)) return result;
    passCookies(result.response, event.cookies);
    redirect(303, safeNext(event.url.searchParams.get('next')));
  },
};
