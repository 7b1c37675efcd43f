import { describe, expect, it } from 'vitest';
import { patternOf } from './document.ts';

describe('the pattern of a contract regex in the public document', () => {
  it('drops the `u` flag zod-to-openapi leaves in the string, and nothing else', () => {
    expect(patternOf('^[\\p{L}]+$/u')).toBe('^[\\p{L}]+$');
    expect(patternOf('^[a-z]+$')).toBe('^[a-z]+$');
    // An escaped slash is part of the source: `/^a\/u$/` matches "a/u".
    expect(patternOf('^a\\/u$')).toBe('^a\\/u$');
    expect(patternOf('^a\\\\/u')).toBe('^a\\\\');
  });

  it('refuses a flag a pattern cannot carry, rather than publish one that matches otherwise', () => {
    expect(() => patternOf('^abc$/i')).toThrow(/flags \(i\)/);
  });
});
