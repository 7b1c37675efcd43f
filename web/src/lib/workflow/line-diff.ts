/** One row of a side-by-side diff: a line kept on both sides, or removed from the left / added on the right. */
export interface DiffRow {
  left: { text: string; changed: boolean } | null;
  right: { text: string; changed: boolean } | null;
}

/**
 * A line diff (longest common subsequence) laid out side by side: kept lines face each other, a removed
 * line faces an added one where they pair up. Values larger than the table's budget fall back to the
 * two sides whole, marked changed, rather than stalling the page.
 */
export function sideBySide(before: string, after: string, budget = 4_000_000): DiffRow[] {
  const a = before === '' ? [] : before.split('\n');
  const b = after === '' ? [] : after.split('\n');
  if (a.length * b.length > budget) return pair(a, b);
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const rows: DiffRow[] = [];
  let removed: string[] = [];
  let added: string[] = [];
  const flush = () => {
    rows.push(...pair(removed, added));
    removed = [];
    added = [];
  };
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      flush();
      rows.push({ left: { text: a[i]!, changed: false }, right: { text: b[j]!, changed: false } });
      i++;
      j++;
    } else if (j < b.length && (i >= a.length || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) added.push(b[j++]!);
    else removed.push(a[i++]!);
  }
  flush();
  return rows;
}

function pair(removed: readonly string[], added: readonly string[]): DiffRow[] {
  return Array.from({ length: Math.max(removed.length, added.length) }, (_, n) => ({
    left: n < removed.length ? { text: removed[n]!, changed: true } : null,
    right: n < added.length ? { text: added[n]!, changed: true } : null,
  }));
}
