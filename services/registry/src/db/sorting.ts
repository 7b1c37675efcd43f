import type { SortCursor } from '@llmops/kit/contracts/common';

/** One order a list offers: an SQL expression over its row (a constant of the list's module, never input) and its type. */
export interface SortColumn {
  expression: string;
  type: 'text' | 'numeric' | 'timestamptz';
}

/**
 * Keyset pagination on (sort expression, id): the ORDER BY, the condition that starts after a cursor, and
 * the cursor's parameters. Rows with no value come after every value, in both directions, and equal values
 * are ordered by id in the sort's direction, so every row is on exactly one page. The cursor's value
 * travels as text (`sort_value`, the expression cast to text) and is cast back, exact for each type.
 * `first` numbers the first of its three parameters: the cursor's id, whether its value is null, its value.
 */
export function keyset(column: SortColumn, id: string, descending: boolean, first: number) {
  const [cursorId, cursorIsNull, cursorValue] = [first, first + 1, first + 2].map((n) => `$${n}`);
  const value = `(${column.expression})`;
  const after = `${cursorValue}::text::${column.type}`;
  const op = descending ? '<' : '>';
  const direction = descending ? 'DESC' : 'ASC';
  return {
    select: `${value}::text AS sort_value`,
    where: `(${cursorId}::uuid IS NULL
      OR (${value} IS NULL) > ${cursorIsNull}::boolean
      OR ((${value} IS NULL) = ${cursorIsNull}::boolean
        AND (${value} ${op} ${after} OR (${value} IS NOT DISTINCT FROM ${after} AND ${id} ${op} ${cursorId}::uuid))))`,
    orderBy: `${value} IS NULL, ${value} ${direction}, ${id} ${direction}`,
    params: (cursor: SortCursor | undefined): unknown[] => [
      cursor?.id ?? null,
      cursor ? cursor.value === null : null,
      cursor?.value ?? null,
    ],
  };
}

/** What a sorted list's query returns besides the row: its sort value as text, for the next cursor. */
export interface Sorted {
  sort_value: string | null;
}
