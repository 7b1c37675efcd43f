import { describe, expect, it } from 'vitest';
import { lineDiff } from './line-diff.ts';

describe('line diff', () => {
  it('lists every line with its numbers on both sides', () => {
    expect(lineDiff('a\nb\nc', 'a\nx\nc\nd')).toEqual([
      { op: 'equal', text: 'a', from_line: 1, to_line: 1 },
      { op: 'remove', text: 'b', from_line: 2, to_line: null },
      { op: 'add', text: 'x', from_line: null, to_line: 2 },
      { op: 'equal', text: 'c', from_line: 3, to_line: 3 },
      { op: 'add', text: 'd', from_line: null, to_line: 4 },
    ]);
  });

  it('aligns moved blocks by the longest common subsequence', () => {
    const ops = lineDiff('one\ntwo\nthree\nfour', 'two\nthree\none\nfour').map((l) => `${l.op[0]}${l.text}`);
    expect(ops).toEqual(['rone', 'etwo', 'ethree', 'aone', 'efour']);
  });

  it('handles empty sides and identical texts', () => {
    expect(lineDiff('', 'x')).toEqual([{ op: 'add', text: 'x', from_line: null, to_line: 1 }]);
    expect(lineDiff('x', '')).toEqual([{ op: 'remove', text: 'x', from_line: 1, to_line: null }]);
    expect(lineDiff('same\ntext', 'same\ntext').every((l) => l.op === 'equal')).toBe(true);
  });
});
