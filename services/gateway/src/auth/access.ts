import { SCOPES, roleAtLeast, type Scope } from '@llmops/kit/http/access';
import type { Role } from '@llmops/kit/http/identity';
import { Forbidden } from '@llmops/kit/problem';

/** Who is calling, once authenticated. */
export interface Principal {
  accountId: string;
  role: Role;
  via: 'session' | 'token';
  /** The session or token id. */
  credentialId: string;
  /** A token's scopes; a session may do everything its role may. */
  scopes: readonly Scope[];
  expiresAt: Date | null;
}

/** The scopes a role may hold: a token never exceeds its account's role. */
export function scopesForRole(role: Role): Scope[] {
  if (role === 'admin') return [...SCOPES];
  if (role === 'editor') return SCOPES.filter((scope) => scope !== 'admin' && scope !== 'registry:write');
  return SCOPES.filter((scope) => scope.endsWith(':read'));
}

/** The scopes the principal acts with: a token's own, a session's every scope of its role. */
export function scopesOf(principal: Principal): readonly Scope[] {
  return principal.via === 'token' ? principal.scopes : scopesForRole(principal.role);
}

/** Throws 403 unless the principal's role is at least `role` and, for a token, it carries `scope` (or `admin`). */
export function authorizePrincipal(principal: Principal, role: Role, scope: Scope | 'any'): void {
  if (!roleAtLeast(principal.role, role)) {
    throw new Forbidden(`This needs the ${role} role or higher; your account is ${principal.role}.`);
  }
  if (principal.via === 'token' && scope !== 'any' && !principal.scopes.includes(scope) && !principal.scopes.includes('admin')) {
    throw new Forbidden(`This API token lacks the \`${scope}\` scope; create a token with it.`);
  }
}
