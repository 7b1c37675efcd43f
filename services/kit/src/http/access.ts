import type { MiddlewareHandler } from 'hono';
import { Forbidden } from '../problem.ts';
import type { AppEnv } from './app.ts';
import type { Identity, Role } from './identity.ts';

/** Roles from most to least powerful: an admin may do what an editor may, an editor what a viewer may. */
const RANK: Record<Role, number> = { admin: 3, editor: 2, viewer: 1 };

/**
 * Scopes an API token can carry (ADR 0006): `<area>:read` and `<area>:write`, and `admin` for
 * everything an admin account may do. A token never exceeds its account's role.
 */
export const SCOPES = [
  'registry:read',
  'registry:write',
  'prompts:read',
  'prompts:write',
  'tasks:read',
  'tasks:write',
  'workflow:read',
  'workflow:write',
  'admin',
] as const;
export type Scope = (typeof SCOPES)[number];

export function roleAtLeast(role: Role, least: Role): boolean {
  return RANK[role] >= RANK[least];
}

/**
 * Route middleware: the caller's role must be at least `least`, the role of the route's contract entry
 * (ADR 0006; kit mounts it on each route of an internal service, before its parameters and body are
 * looked at). This is the owning service's own check, behind the gateway's. Service identities pass:
 * services call each other only for their own work. Rules that depend on the data (a protected label)
 * stay in the handler.
 */
export function requireRole(least: Role): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const identity: Identity | undefined = c.get('identity');
    if (!identity) throw new Forbidden('No identity came with this request.');
    if (identity.kind === 'account' && !roleAtLeast(identity.role, least)) {
      throw new Forbidden(`This needs the ${least} role or higher; you are signed in as ${identity.role}.`);
    }
    return next();
  };
}
