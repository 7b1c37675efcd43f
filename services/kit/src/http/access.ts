import { Forbidden } from '../problem.ts';
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
 * The owning service's own check (defence in depth behind the gateway's): the caller's role must be at
 * least `least`. Service identities pass: services call each other only for their own work.
 */
export function authorize(identity: Identity | undefined, least: Role): void {
  if (!identity) throw new Forbidden('No identity came with this request.');
  if (identity.kind === 'service') return;
  if (!roleAtLeast(identity.role, least)) {
    throw new Forbidden(`This needs the ${least} role or higher; you are signed in as ${identity.role}.`);
  }
}
