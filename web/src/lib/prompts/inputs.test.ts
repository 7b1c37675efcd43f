import { describe, expect, it } from 'vitest';
import { fromItems, hintText, inputVariables, listItems, parseInputs } from './inputs.ts';

describe('the inputs form', () => {
  it('lists the declared variables first, then those the text reads, typed by how they are used', () => {
    const variables = inputVariables(
      [
        { name: 'count', type: 'number', required: false, description: 'How many', default: 3 },
        { name: 'topic', type: 'string', required: true, description: '' },
      ],
      [
        { name: 'topic', paths: ['topic'], used_in: [] },
        { name: 'post', paths: ['post.title', 'post.tags'], used_in: [] },
        { name: 'tone', paths: ['tone'], used_in: [] },
      ],
    );
    expect(variables.map((variable) => [variable.name, variable.type, variable.required, variable.fallback])).toEqual([
      ['count', 'number', false, '3'],
      ['topic', 'string', true, null],
      ['post', 'object', true, null],
      ['tone', 'string', true, null],
    ]);
    expect(variables[2]?.description).toBe('Used as post.title, post.tags.');
  });

  it('types what the reader wrote by the declared type, and says what is wrong', () => {
    const { inputs, errors } = parseInputs(
      {
        topic: 'rye',
        count: '3',
        brief: 'true',
        post: '{"title":"Rye"}',
        tags: '[oops',
        steps: '["knead", "bake"]',
        meta: '[1]',
        size: 'big',
        empty: '',
      },
      [
        { name: 'count', type: 'number', required: true, description: '' },
        { name: 'size', type: 'number', required: true, description: '' },
        { name: 'brief', type: 'boolean', required: true, description: '' },
        { name: 'tags', type: 'list', required: true, description: '' },
        { name: 'steps', type: 'list', required: true, description: '' },
        { name: 'meta', type: 'object', required: true, description: '' },
      ],
      [{ name: 'post', paths: ['post.title'], used_in: [] }],
    );
    expect(inputs).toEqual({ topic: 'rye', count: 3, brief: true, post: { title: 'Rye' }, steps: ['knead', 'bake'] });
    expect(Object.keys(errors).sort()).toEqual(['meta', 'size', 'tags']);
    expect(errors.meta).toMatch(/JSON object/);
  });

  it('hints the description as a sentence, then the default', () => {
    expect(hintText({ description: 'How many paragraphs', fallback: '3' })).toBe('How many paragraphs. If not given: 3.');
    expect(hintText({ description: 'Ends well.', fallback: null })).toBe('Ends well.');
    expect(hintText({ description: '', fallback: '"rye"' })).toBe('If not given: "rye".');
  });

  it('edits a list of strings item by item, and anything else as JSON', () => {
    expect(listItems('')).toEqual([]);
    expect(listItems('["a", "b"]')).toEqual(['a', 'b']);
    expect(listItems('[1, 2]')).toBeNull();
    expect(listItems('[oops')).toBeNull();
    expect(fromItems([])).toBe('');
    expect(fromItems(['a', ''])).toBe('["a",""]');
  });
});
