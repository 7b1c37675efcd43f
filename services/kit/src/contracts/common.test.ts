import { describe, expect, it } from 'vitest';
import { decodeSortCursor, encodeCursor, parseSort, sortedPage, sortQuery } from './common.ts';
import { HttpProblem } from '../problem.ts';

describe('sorted lists', () => {
  const sort = sortQuery(['name', 'created_at'], 'created_at');

  it('accepts each key ascending or descending, defaults to the list’s own order, and names what it accepts', () => {
    expect(sort.parse('-name')).toBe('-name');
    expect(sort.parse(undefined)).toBe('created_at');
    const refused = sort.safeParse('price');
    expect(refused.error?.issues[0]?.message).toBe('expected one of name, -name, created_at, -created_at');
    expect(parseSort('-created_at')).toEqual({ key: 'created_at', descending: true });
    expect(parseSort('name')).toEqual({ key: 'name', descending: false });
  });

  it('gives a cursor after the last row shown, only when there is more, that continues its own sort only', () => {
    const id = (n: number) => `0193f6e0-0000-7000-8000-00000000000${n}`;
    const rows = [1, 2, 3].map((n) => ({ id: id(n), sort_value: n === 2 ? null : `v${n}` }));
    expect(sortedPage(rows, 3, 'name').next_cursor).toBeNull();
    const { page, next_cursor } = sortedPage(rows, 2, '-name');
    expect(page).toEqual(rows.slice(0, 2));
    expect(decodeSortCursor(next_cursor as string, '-name')).toEqual({ value: null, id: id(2) });
    expect(() => decodeSortCursor(next_cursor as string, 'name')).toThrow(/continues sort=-name/);
    expect(() => decodeSortCursor(encodeCursor(id(1)), 'name')).toThrow(HttpProblem);
    expect(decodeSortCursor(undefined, 'name')).toBeUndefined();
  });
});
