/**
 * Where to go after signing in: the `next` a signed-out visitor was sent away from, only when it is a
 * path of this dashboard (`/llm/providers?x=1`). Anything else (another site, `//evil.example`,
 * `/\evil.example`, a scheme, an /api address, control characters) gives the fallback: no open redirect.
 */
export function safeNext(value: string | null | undefined, fallback = '/llm'): string {
  if (!value || value.length > 2000) return fallback;
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return fallback;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused here
  if (/[\u0000-\u001f\u007f\\]/.test(value)) return fallback;
  let url: URL;
  try {
    url = new URL(value, 'http://dashboard.invalid');
  } catch {
    return fallback;
  }
  if (url.origin !== 'http://dashboard.invalid') return fallback;
  if (url.pathname === '/api' || url.pathname.startsWith('/api/')) return fallback;
  if (url.pathname === '/login' || url.pathname === '/setup') return fallback;
  return url.pathname + url.search + url.hash;
}

/** The sign-in address that brings a visitor back to `url` afterwards. */
export function loginPathFor(url: URL): string {
  const here = url.pathname + url.search;
  return here === '/' || here === '/llm' ? '/login' : `/login?next=${encodeURIComponent(here)}`;
}
