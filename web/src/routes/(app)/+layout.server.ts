import { error, redirect } from '@sveltejs/kit';
import { loginPathFor } from '#lib/next-path.ts';
import type { LayoutServerLoad } from './$types';

/**
 * The signed-in pages. A visitor goes to /login and comes back here afterwards. When the gateway cannot
 * say who is signed in (a restart during a reload), that is an error page to retry, not a sign-out.
 */
export const load: LayoutServerLoad = async (event) => {
  const { session, sessionUnavailable } = await event.parent();
  if (sessionUnavailable) {
    error(
      503,
      `The dashboard could not check who you are: ${sessionUnavailable}. It may be restarting; reload in a moment. ` +
        'You are still signed in.',
    );
  }
  if (!session) redirect(303, loginPathFor(event.url));
  return { session };
};
