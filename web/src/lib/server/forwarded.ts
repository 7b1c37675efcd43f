import type { RequestEvent } from '@sveltejs/kit';

/**
 * X-Forwarded-* for a request this server makes to the gateway on a browser's behalf. The address is
 * the one adapter-node resolved (ADDRESS_HEADER / XFF_DEPTH when a proxy sits in front), so a value the
 * browser sent itself is replaced, never passed on.
 */
export function forwardedHeaders(event: RequestEvent): Record<string, string> {
  return {
    'x-forwarded-for': event.getClientAddress(),
    'x-forwarded-host': event.url.host,
    'x-forwarded-proto': event.url.protocol.replace(/:$/, ''),
  };
}
