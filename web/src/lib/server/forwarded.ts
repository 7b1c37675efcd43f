import type { RequestEvent } from '@sveltejs/kit';
import { LLMOPS_WEB_PROXY_SECRET } from '$app/env/private';

/** Carries this server's secret; the gateway reads the same name (services/gateway/src/http/forwarded.ts). */
const WEB_PROXY_SECRET_HEADER = 'x-llmops-proxy-secret';

/** Headers a browser's request never passes on to the gateway: who the client is, and the proof of it, are ours to say. */
export function isForwardingHeader(name: string): boolean {
  return name.startsWith('x-forwarded-') || name === WEB_PROXY_SECRET_HEADER;
}

/**
 * X-Forwarded-* for a request this server makes to the gateway on a browser's behalf. The address is
 * the one adapter-node resolved (ADDRESS_HEADER / XFF_DEPTH when a proxy sits in front), so a value the
 * browser sent itself is replaced, never passed on. The gateway believes them only with this server's
 * own secret (docs/security.md), which is never the internal one that signs service identities.
 */
export function forwardedHeaders(event: RequestEvent): Record<string, string> {
  return {
    'x-forwarded-for': event.getClientAddress(),
    'x-forwarded-host': event.url.host,
    'x-forwarded-proto': event.url.protocol.replace(/:$/, ''),
    ...(LLMOPS_WEB_PROXY_SECRET ? { [WEB_PROXY_SECRET_HEADER]: LLMOPS_WEB_PROXY_SECRET } : {}),
  };
}
