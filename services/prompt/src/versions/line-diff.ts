export interface DiffLine {
  op: 'equal' | 'add' | 'remove';
  text: string;
  /** 1-based line numbers on each side (null where the line is not on that side). */
  from_line: number | null;
  to_line: number | null;
}

/** Above this many cells the middle of a diff is shown as removed-then-added instead of aligned. */
const MAX_CELLS = 4_000_000;

function lines(text: string): string[] {
  return text === '' ? [] : text.split(/\r?\n/);
}

/**
 * A line diff (longest common subsequence) of two texts, every line listed. Common leading and
 * trailing lines are matched first, so the usual small edit of a long text stays cheap.
 */
export function lineDiff(before: string, after: string): DiffLine[] {
  const a = lines(before);
  const b = lines(after);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start += 1;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA -= 1;
    endB -= 1;
  }
  const out: DiffLine[] = [];
  for (let i = 0; i < start; i += 1) out.push({ op: 'equal', text: a[i] as string, from_line: i + 1, to_line: i + 1 });
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const n = midA.length;
  const m = midB.length;
  if (n * m > MAX_CELLS) {
    midA.forEach((text, i) => out.push({ op: 'remove', text, from_line: start + i + 1, to_line: null }));
    midB.forEach((text, j) => out.push({ op: 'add', text, from_line: null, to_line: start + j + 1 }));
  } else {
    // lcs[i][j] = length of the LCS of midA[i..] and midB[j..], in one flat array.
    const width = m + 1;
    const lcs = new Uint32Array((n + 1) * width);
    for (let i = n - 1; i >= 0; i -= 1) {
      for (let j = m - 1; j >= 0; j -= 1) {
        lcs[i * width + j] =
          midA[i] === midB[j]
            ? (lcs[(i + 1) * width + j + 1] as number) + 1
            : Math.max(lcs[(i + 1) * width + j] as number, lcs[i * width + j + 1] as number);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && midA[i] === midB[j]) {
        out.push({ op: 'equal', text: midA[i] as string, from_line: start + i + 1, to_line: start + j + 1 });
        i += 1;
        j += 1;
      } else if (i < n && (j === m || (lcs[(i + 1) * width + j] as number) >= (lcs[i * width + j + 1] as number))) {
        // Removals before additions where both fit: the usual reading order of a diff.
        out.push({ op: 'remove', text: midA[i] as string, from_line: start + i + 1, to_line: null });
        i += 1;
      } else {
        out.push({ op: 'add', text: midB[j] as string, from_line: null, to_line: start + j + 1 });
        j += 1;
      }
    }
  }
  for (let k = 0; k < a.length - endA; k += 1) {
    out.push({ op: 'equal', text: a[endA + k] as string, from_line: endA + k + 1, to_line: endB + k + 1 });
  }
  return out;
}
