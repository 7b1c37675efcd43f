import type { PublicRoute } from './index.ts';

/** The registry service's public routes (see ./index.ts). */
export const registryRoutes: PublicRoute[] = [];
