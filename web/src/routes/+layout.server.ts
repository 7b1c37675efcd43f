import { readSession } from '#lib/server/session.ts';
import { themeFromCookie } from '#lib/theme.ts';
import type { LayoutServerLoad } from './$types';

export const load: LayoutServerLoad = async (event) => {
  event.depends('app:session');
  const { session, unavailable } = await readSession(event);
  return { theme: themeFromCookie(event.cookies), session, sessionUnavailable: unavailable };
};
