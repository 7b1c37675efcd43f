import { describe, expect, it } from 'vitest';
import { firstFree, slugOf } from './slug.ts';

describe('slugs', () => {
  it('are derived from the title: ASCII letters and digits joined by single hyphens', () => {
    expect(slugOf('Brewing Tea: a Guide!')).toBe('brewing-tea-a-guide');
    expect(slugOf('Café déjà vu — 2025')).toBe('cafe-deja-vu-2025');
    expect(slugOf('!!!')).toBe('post');
    expect(slugOf('a'.repeat(100)).length).toBe(80);
    expect(slugOf(`${'a'.repeat(79)} b`)).toBe('a'.repeat(79));
  });

  it('take the first free number when taken', () => {
    expect(firstFree('tea', new Set())).toBe('tea');
    expect(firstFree('tea', new Set(['tea', 'tea-2']))).toBe('tea-3');
  });
});
