import type { RouteConfig } from '@hono/zod-openapi';
import type { Scope } from '../http/access.ts';
import type { Role } from '../http/identity.ts';
import { promptRoutes } from './prompt.ts';
import { registryRoutes } from './registry.ts';
import { runnerRoutes } from './runner.ts';
import { workflowRoutes } from './workflow.ts';

/**
 * The HTTP contracts of every service (ADR 0005). Each service's file exports its public routes:
 * `createRoute` objects whose path is the public path under /api/v1, with the least role and the token
 * scope they need. The service implements them and checks the least role itself (its app is made with its
 * list: kit's http/access.ts, ADR 0006); a rule that depends on the data (a protected label) stays in the
 * handler and is named in the route's description. The gateway mounts the same objects as an
 * authenticated proxy and builds the one public OpenAPI document from them.
 */
export interface PublicRoute {
  /** `operationId` names the operation in the public document and the generated clients: unique, stable. */
  route: RouteConfig & { operationId: string };
  /** The service that owns and implements the route. */
  service: 'registry' | 'prompt' | 'runner' | 'workflow';
  /** The least account role allowed: admin ⊃ editor ⊃ viewer. */
  role: Role;
  /** The scope an API token needs. */
  scope: Scope;
}

/** Every proxied public route, in the order the reference lists them. */
export const PUBLIC_ROUTES: readonly PublicRoute[] = [...registryRoutes, ...promptRoutes, ...runnerRoutes, ...workflowRoutes];
