import { describe, expect, it } from 'vitest';
import { diffLines } from './diff.ts';

describe('diffLines', () => {
  it('marks every line the same when the texts are equal', () => {
    expect(diffLines('a\nb', 'a\nb')).toEqual([
      { kind: 'same', left: 'a', right: 'a' },
      { kind: 'same', left: 'b', right: 'b' },
    ]);
  });

  it('keeps the shared lines in order and shows what only one side has', () => {
    expect(diffLines('title\nold line\nend', 'title\nnew line\nextra\nend')).toEqual([
      { kind: 'same', left: 'title', right: 'title' },
      { kind: 'removed', left: 'old line' },
      { kind: 'added', right: 'new line' },
      { kind: 'added', right: 'extra' },
      { kind: 'same', left: 'end', right: 'end' },
    ]);
  });

  it('handles an empty side', () => {
    expect(diffLines('', 'x')).toEqual([
      { kind: 'removed', left: '' },
      { kind: 'added', right: 'x' },
    ]);
  });
});
