import { themeFromCookie } from '#lib/theme.ts';
import type { LayoutServerLoad } from './$types';

export const load: LayoutServerLoad = ({ cookies }) => ({ theme: themeFromCookie(cookies) });
