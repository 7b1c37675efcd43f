import type { Cookies } from '@sveltejs/kit';

export const THEMES = ['dark', 'light'] as const;
export type Theme = (typeof THEMES)[number];

/** The cookie that remembers the reader's choice, so the server renders the right theme (no flash). */
export const THEME_COOKIE = 'llmops_theme';

export function isTheme(value: unknown): value is Theme {
  return typeof value === 'string' && (THEMES as readonly string[]).includes(value);
}

export function themeFromCookie(cookies: Pick<Cookies, 'get'>): Theme {
  const value = cookies.get(THEME_COOKIE);
  return isTheme(value) ? value : 'dark';
}
