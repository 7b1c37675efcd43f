import type { Pool } from '@llmops/kit/db';
import type { Keyring } from '@llmops/kit/crypto/keyring';
import type { ProviderAdapter, ProviderKind } from '@llmops/kit/adapters/types';
import { Unprocessable, type FieldProblem } from '@llmops/kit/problem';
import { parseSort, type SortValue } from '@llmops/kit/contracts/common';

/** What the route modules are built from. */
export interface RouteDeps {
  pool: Pool;
  keyring: Keyring;
  /** The adapter of a kind (tests may swap one). */
  adapterFor: (kind: ProviderKind) => ProviderAdapter;
}

export const iso = (date: Date): string => date.toISOString();
export const isoOrNull = (date: Date | null): string | null => (date ? date.toISOString() : null);

/** A 422 naming one or more fields. */
export function invalid(...problems: FieldProblem[]): Unprocessable {
  return new Unprocessable(problems.map((p) => `${p.field}: ${p.message}`).join('; '), problems);
}

/** `include_archived=true` and the like. */
export const flag = (value: 'true' | 'false' | undefined): boolean | undefined =>
  value === undefined ? undefined : value === 'true';

/** A list's `sort` as its query function takes it: `-name` → `{ sort: 'name', descending: true }`. */
export function sortOf<K extends string>(sort: SortValue<K>): { sort: K; descending: boolean } {
  const { key, descending } = parseSort(sort);
  return { sort: key, descending };
}
