import { redirect } from '@sveltejs/kit';
import type { PageServerLoad } from './$types';

/** `/` is the LLM workspace's overview; a visitor who is not signed in is sent on to sign in from there. */
export const load: PageServerLoad = () => {
  redirect(307, '/llm');
};
