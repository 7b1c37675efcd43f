import type { RequestEvent } from '@sveltejs/kit';
import { GATEWAY_URL } from '$app/env/private';
import { createApiClient, type ApiClient } from '../api/client.ts';
import { forwardedHeaders } from './forwarded.ts';
import { upstream } from './upstream.ts';

/** A load must not hang the page when the gateway hangs; the gateway bounds its own checks at 2 s. */
const TIMEOUT_MS = 5_000;

/** Credentials of the browser's request that the gateway reads (session cookie, API token). */
const FORWARDED_CREDENTIALS = ['cookie', 'authorization'] as const;

/**
 * The typed client for server-side loads: straight to GATEWAY_URL (no round trip through our own
 * /api proxy), acting as the browser that asked, by forwarding its cookie and authorization.
 */
export function gatewayClient(event: RequestEvent): ApiClient {
  // The dashboard's own origin: SvelteKit's hooks checked it for the browser's form posts, and the gateway
  // checks it again for cookie-authenticated writes (ADR 0008).
  const headers: Record<string, string> = { ...forwardedHeaders(event), origin: event.url.origin };
  for (const name of FORWARDED_CREDENTIALS) {
    const value = event.request.headers.get(name);
    if (value) headers[name] = value;
  }
  return createApiClient({
    baseUrl: GATEWAY_URL,
    headers,
    fetch: (request) => upstream.fetch(request, { signal: AbortSignal.any([request.signal, AbortSignal.timeout(TIMEOUT_MS)]) }),
  });
}
