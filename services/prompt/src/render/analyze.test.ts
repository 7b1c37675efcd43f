import { describe, expect, it, vi } from 'vitest';
import { variableUses } from './analyze.ts';
import { TemplateParser } from './engine.ts';

describe('variableUses', () => {
  it('analyzes a parse once: the same entry rendered again reuses its uses', () => {
    const parser = new TemplateParser();
    const analyze = vi.spyOn(parser.engine, 'analyzeSync');
    const parse = (source: string) => {
      const parsed = parser.parse(source);
      if (!parsed.ok) throw new Error(parsed.problem.message);
      return parsed.templates;
    };
    const first = variableUses(parser.engine, parse('Write about {{ post.title }} for {{ audience }}.'));
    const again = variableUses(parser.engine, parse('Write about {{ post.title }} for {{ audience }}.'));
    expect(again).toBe(first);
    expect(first.map((use) => use.path)).toEqual(['post.title', 'audience']);
    expect(analyze).toHaveBeenCalledTimes(1);
    // Shared between renders, so nobody can change them.
    expect(Object.isFrozen(first) && first.every((use) => Object.isFrozen(use))).toBe(true);
    variableUses(parser.engine, parse('Another {{ entry }}'));
    expect(analyze).toHaveBeenCalledTimes(2);
  });
});
