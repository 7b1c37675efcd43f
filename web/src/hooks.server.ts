import type { Handle, HandleServerError } from '@sveltejs/kit/hooks';
import { errorFields, log } from '#lib/server/log.ts';
import { isApiPath, proxyToGateway } from '#lib/server/proxy.ts';
import { themeFromCookie } from '#lib/theme.ts';

export const handle: Handle = async ({ event, resolve }) => {
  // The browser sees one origin: /api/* belongs to the gateway (ADR 0008), everything else to the dashboard.
  if (isApiPath(new URL(event.request.url).pathname)) return proxyToGateway(event);

  const theme = themeFromCookie(event.cookies);
  return resolve(event, {
    transformPageChunk: ({ html }) => html.replace('%llmops.theme%', theme),
  });
};

/** Unexpected errors go to the log; the page gets SvelteKit's safe default message, never internals. */
export const handleError: HandleServerError = (caught) => {
  if (caught.kind === 'unknown') log.error({ ...errorFields(caught.error), path: caught.event.url.pathname }, 'request failed');
};
