import { describe, expect, it } from 'vitest';
import { valueProblems } from './values.ts';

const field = (kind: 'text' | 'markdown' | 'list' | 'json' | 'image', json_schema: Record<string, unknown> | null = null) => ({
  kind,
  json_schema,
});

describe('field values', () => {
  it('null always clears', () => {
    for (const kind of ['text', 'markdown', 'list', 'json', 'image'] as const)
      expect(valueProblems(field(kind), null)).toEqual([]);
  });

  it('text and markdown take strings within their limits', () => {
    expect(valueProblems(field('text'), 'A title')).toEqual([]);
    expect(valueProblems(field('text'), 3)[0]?.field).toBe('body.value');
    expect(valueProblems(field('text'), 'x'.repeat(10_001))[0]?.message).toBe('expected at most 10,000 characters');
    expect(valueProblems(field('markdown'), 'x'.repeat(10_001))).toEqual([]);
  });

  it('a list takes strings, naming each item that is not', () => {
    expect(valueProblems(field('list'), ['a', 'b'])).toEqual([]);
    expect(valueProblems(field('list'), ['a', 2, null])).toEqual([
      { field: 'body.value[1]', message: 'expected a string' },
      { field: 'body.value[2]', message: 'expected a string' },
    ]);
    expect(valueProblems(field('list'), 'a')[0]?.field).toBe('body.value');
  });

  it('json satisfies the field’s schema, with the place in the value named', () => {
    const schema = { type: 'object', properties: { items: { type: 'array', items: { type: 'string' } } }, required: ['items'] };
    expect(valueProblems(field('json', schema), { items: ['a'] })).toEqual([]);
    expect(valueProblems(field('json', schema), { items: ['a', 1] })).toEqual([
      { field: 'body.value.items[1]', message: 'must be string' },
    ]);
    expect(valueProblems(field('json'), { anything: true })).toEqual([]);
  });

  it('an image is {url, prompt, caption, alt}, the url http(s) or an image a task made', () => {
    expect(valueProblems(field('image'), { url: 'https://cdn.example/a.png', caption: 'A cup', prompt: null })).toEqual([]);
    expect(valueProblems(field('image'), { url: '/api/v1/tasks/0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/images/0' })).toEqual([]);
    const notAUrl = {
      field: 'body.value.url',
      message: 'expected an http:// or https:// URL, or a task image (/api/v1/tasks/{id}/images/{index})',
    };
    expect(valueProblems(field('image'), { url: 'javascript:alert(1)' })).toEqual([notAUrl]);
    expect(valueProblems(field('image'), { url: '/api/v1/accounts/me' })).toEqual([notAUrl]);
    expect(valueProblems(field('image'), ['x'])[0]?.field).toBe('body.value');
  });
});
