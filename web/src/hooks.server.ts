import type { Handle, HandleServerError } from '@sveltejs/kit/hooks';
import { crossSiteRefusal } from '#lib/server/cross-site.ts';
import { errorFields, log } from '#lib/server/log.ts';
import { isApiPath, proxyToGateway } from '#lib/server/proxy.ts';
import { themeFromCookie } from '#lib/theme.ts';

export const handle: Handle = async ({ event, resolve }) => {
  const api = isApiPath(new URL(event.request.url).pathname);
  const refused = crossSiteRefusal(event.request, event.url.origin, api);
  if (refused) return refused;
  // The browser sees one origin: /api/* belongs to the gateway (ADR 0008), everything else to the dashboard.
  if (api) return proxyToGateway(event);

  const theme = themeFromCookie(event.cookies);
  const response = await resolve(event, {
    transformPageChunk: ({ html }) => html.replace('%llmops.theme%', theme),
  });
  for (const [name, value] of Object.entries(PAGE_HEADERS)) response.headers.set(name, value);
  return response;
};

/**
 * Besides the Content-Security-Policy (vite.config.ts): no framing by any site (X-Frame-Options for
 * browsers that predate frame-ancestors), no content sniffing, and no address sent to other sites — a
 * setup link carries its one-time code in the query.
 */
const PAGE_HEADERS = {
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};

/** Unexpected errors go to the log; the page gets SvelteKit's safe default message, never internals. */
export const handleError: HandleServerError = (caught) => {
  if (caught.kind === 'unknown') log.error({ ...errorFields(caught.error), path: caught.event.url.pathname }, 'request failed');
};
