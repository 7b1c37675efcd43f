import createClient, { type Client } from 'openapi-fetch';
import type { components, paths } from './schema.d.ts';

/** The typed client of the public API, generated from the gateway's OpenAPI document (ADR 0005). */
export type ApiClient = Client<paths>;
export type Schemas = components['schemas'];

export interface ApiClientOptions {
  /** Where the API is: '' (same origin) in the browser, GATEWAY_URL on the server. */
  baseUrl?: string;
  headers?: Record<string, string>;
  fetch?: (request: Request) => Promise<Response>;
}

export function createApiClient({ baseUrl = '', headers, fetch }: ApiClientOptions = {}): ApiClient {
  return createClient<paths>({ baseUrl, ...(headers ? { headers } : {}), ...(fetch ? { fetch } : {}) });
}

/**
 * The browser's client: same origin, cookies sent by the browser; the dashboard server proxies /api/*
 * to the gateway. On the server use `gatewayClient(event)` from #lib/server/gateway.ts instead.
 */
export function browserClient(): ApiClient {
  return createApiClient();
}
