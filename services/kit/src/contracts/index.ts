import type { RouteConfig } from '@hono/zod-openapi';

/**
 * The HTTP contracts of every service (DESIGN D1). Each service's file exports its public routes
 * (`createRoute` objects whose path is the public path under /api/v1, with the roles allowed); the
 * service implements them, the gateway mounts the same objects as an authenticated proxy and builds
 * the one public OpenAPI document from them. Services add their file here as their issue lands.
 */
export interface PublicRoute {
  route: RouteConfig;
  /** The service that owns and implements the route. */
  service: 'registry' | 'prompt' | 'runner' | 'workflow';
}

/** Every proxied public route, in the order the reference lists them. */
export const PUBLIC_ROUTES: readonly PublicRoute[] = [];
