import type { PublicRoute } from './index.ts';

/** The prompt service's public routes (see ./index.ts). */
export const promptRoutes: PublicRoute[] = [];
