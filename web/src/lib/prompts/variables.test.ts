import { describe, expect, it } from 'vitest';
import { newDraft, toDeclarations, toDrafts } from './variables.ts';

describe('the declared variables as the editor types them', () => {
  it('reads each default by its declared type and gives back what the prompt service takes', () => {
    const declared = [
      { name: 'count', type: 'number' as const, required: false, description: 'How many', default: 3 },
      { name: 'tags', type: 'list' as const, required: true, description: '', default: ['rye'] },
      { name: 'urgent', type: 'boolean' as const, required: false, description: '', default: false },
      { name: 'tone', type: 'string' as const, required: true, description: '' },
    ];
    const drafts = toDrafts(declared);
    expect(drafts.map((draft) => draft.fallback)).toEqual(['3', '["rye"]', 'false', '']);
    expect(toDeclarations(drafts)).toEqual({ variables: declared, errors: {} });
  });

  it('keeps an empty text default, written "", apart from no default', () => {
    const declared = [
      { name: 'aside', type: 'string' as const, required: false, description: '', default: '' },
      { name: 'tone', type: 'string' as const, required: false, description: '' },
    ];
    const drafts = toDrafts(declared);
    expect(drafts.map((draft) => draft.fallback)).toEqual(['""', '']);
    expect(toDeclarations(drafts).variables).toEqual(declared);
  });

  it('says what is wrong per row and leaves those rows out until fixed', () => {
    const [count, copy, bad, post] = [newDraft('count'), newDraft('count'), newDraft('2x'), newDraft('post', ['post.title'])];
    const drafts = [
      { ...count!, type: 'number' as const, fallback: 'three' },
      copy!,
      bad!,
      { ...post!, fallback: '["not", "an", "object"]' },
    ];
    const { variables, errors } = toDeclarations(drafts);
    expect(variables).toEqual([]);
    expect(errors[drafts[0]!.key]).toEqual({ fallback: 'Expected a number, e.g. 3 or 2.5.' });
    expect(errors[drafts[1]!.key]).toEqual({ name: 'count is declared twice.' });
    expect(errors[drafts[2]!.key]?.name).toMatch(/not starting with a digit/);
    expect(post!.type).toBe('object');
    expect(errors[drafts[3]!.key]).toEqual({ fallback: 'Expected a JSON object in { }, e.g. {"title": "Rye"}.' });
  });
});
