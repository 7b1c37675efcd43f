/** One line of a side-by-side diff: on both sides, only the left (removed) or only the right (added). */
export type DiffLine =
  { kind: 'same'; left: string; right: string } | { kind: 'removed'; left: string } | { kind: 'added'; right: string };

/** Past this many lines a side, the diff gives up line matching and shows both sides whole (quadratic table). */
export const DIFF_LINE_LIMIT = 2_000;

/**
 * A line diff of two texts (longest common subsequence), in order: the lines both share, and between them
 * what only one side has. Equal texts are all `same`.
 */
export function diffLines(leftText: string, rightText: string): DiffLine[] {
  const left = leftText.split('\n');
  const right = rightText.split('\n');
  if (left.length > DIFF_LINE_LIMIT || right.length > DIFF_LINE_LIMIT) {
    return [
      ...left.map((line): DiffLine => ({ kind: 'removed', left: line })),
      ...right.map((line): DiffLine => ({ kind: 'added', right: line })),
    ];
  }
  const width = right.length + 1;
  // lengths[i * width + j]: the LCS length of left[i..] and right[j..].
  const lengths = new Uint32Array((left.length + 1) * width);
  for (let i = left.length - 1; i >= 0; i--) {
    for (let j = right.length - 1; j >= 0; j--) {
      lengths[i * width + j] =
        left[i] === right[j]
          ? (lengths[(i + 1) * width + j + 1] ?? 0) + 1
          : Math.max(lengths[(i + 1) * width + j] ?? 0, lengths[i * width + j + 1] ?? 0);
    }
  }
  const lines: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length && j < right.length) {
    if (left[i] === right[j]) {
      lines.push({ kind: 'same', left: left[i] ?? '', right: right[j] ?? '' });
      i++;
      j++;
    } else if ((lengths[(i + 1) * width + j] ?? 0) >= (lengths[i * width + j + 1] ?? 0)) {
      lines.push({ kind: 'removed', left: left[i++] ?? '' });
    } else {
      lines.push({ kind: 'added', right: right[j++] ?? '' });
    }
  }
  while (i < left.length) lines.push({ kind: 'removed', left: left[i++] ?? '' });
  while (j < right.length) lines.push({ kind: 'added', right: right[j++] ?? '' });
  return lines;
}
