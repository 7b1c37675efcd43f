import type { Queryable } from '@llmops/kit/db';

/**
 * `UPDATE <table> SET a = $2, b = $3, updated_at = now() WHERE id = $1 RETURNING *` for the changed
 * columns. Column names come only from the caller's fixed list, never from input; values are parameters.
 */
export async function updateColumns<Row extends object>(
  tx: Queryable,
  table: 'registry.providers' | 'registry.models' | 'registry.presets',
  id: string,
  changes: Record<string, unknown>,
  allowed: readonly string[],
): Promise<Row | undefined> {
  const columns = allowed.filter((column) => changes[column] !== undefined);
  const sets = columns.map((column, index) => `${column} = $${index + 2}`);
  const { rows } = await tx.query<Row & Record<string, unknown>>(
    `UPDATE ${table} SET ${[...sets, 'updated_at = now()'].join(', ')} WHERE id = $1 RETURNING *`,
    [id, ...columns.map((column) => changes[column])],
  );
  return rows[0];
}
