import type { Schemas } from './api/client.ts';

export type Role = Schemas['Role'];

const RANK: Record<Role, number> = { viewer: 0, editor: 1, admin: 2 };

/** Whether `role` may do what `needed` may (admin ⊃ editor ⊃ viewer), as the gateway decides it. */
export function roleAtLeast(role: Role | undefined, needed: Role): boolean {
  return role !== undefined && RANK[role] >= RANK[needed];
}
