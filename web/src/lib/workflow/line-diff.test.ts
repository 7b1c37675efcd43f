import { describe, expect, it } from 'vitest';
import { sideBySide } from './line-diff.ts';

describe('the side-by-side diff', () => {
  it('keeps equal lines facing each other and pairs a changed line with its replacement', () => {
    expect(sideBySide('a\nb\nc', 'a\nB\nc\nd')).toEqual([
      { left: { text: 'a', changed: false }, right: { text: 'a', changed: false } },
      { left: { text: 'b', changed: true }, right: { text: 'B', changed: true } },
      { left: { text: 'c', changed: false }, right: { text: 'c', changed: false } },
      { left: null, right: { text: 'd', changed: true } },
    ]);
  });

  it('shows an empty side as nothing, and a value over the budget whole', () => {
    expect(sideBySide('', 'new')).toEqual([{ left: null, right: { text: 'new', changed: true } }]);
    expect(sideBySide('x\ny', 'y\nz', 1)).toEqual([
      { left: { text: 'x', changed: true }, right: { text: 'y', changed: true } },
      { left: { text: 'y', changed: true }, right: { text: 'z', changed: true } },
    ]);
  });
});
