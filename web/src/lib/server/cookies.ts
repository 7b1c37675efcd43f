import type { Cookies } from '@sveltejs/kit';

/**
 * Passes the gateway's Set-Cookie headers (the session cookie of a sign-in or setup made by a form
 * action on this server) on to the browser, attributes and all. The value is passed as it came.
 */
export function passCookies(response: Response, cookies: Cookies): void {
  for (const header of response.headers.getSetCookie()) {
    const [pair = '', ...attributes] = header.split(';').map((part) => part.trim());
    const at = pair.indexOf('=');
    if (at <= 0) continue;
    const name = pair.slice(0, at);
    const value = pair.slice(at + 1);
    const options: Parameters<Cookies['set']>[2] = { path: '/', encode: (text) => text };
    for (const attribute of attributes) {
      const [key = '', raw = ''] = attribute.split('=');
      switch (key.toLowerCase()) {
        case 'path':
          options.path = raw;
          break;
        case 'max-age':
          options.maxAge = Number(raw);
          break;
        case 'expires':
          options.expires = new Date(raw);
          break;
        case 'httponly':
          options.httpOnly = true;
          break;
        case 'secure':
          options.secure = true;
          break;
        case 'samesite':
          options.sameSite = raw.toLowerCase() as 'lax' | 'strict' | 'none';
          break;
      }
    }
    // Without Secure in the gateway's answer (plain http), SvelteKit must not add it on its own.
    options.secure ??= false;
    options.httpOnly ??= false;
    cookies.set(name, value, options);
  }
}
