import { readSession } from '#lib/server/session.ts';
import { themeFromCookie } from '#lib/theme.ts';
import type { LayoutServerLoad } from './$types';

export const load: LayoutServerLoad = async (event) => {
  event.depends('app:session');
  return { theme: themeFromCookie(event.cookies), session: await readSession(event) };
};
