import { createUpstream } from '@llmops/kit/http/upstream';

/**
 * This server's connections to the gateway, for the /api proxy and the loads alike: kept alive for less
 * time than the gateway keeps them, and a read that meets a reset of a reused one is sent once more.
 */
export const upstream = createUpstream();
