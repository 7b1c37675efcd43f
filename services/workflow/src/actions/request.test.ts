import { describe, expect, it } from 'vitest';
import { LIST_SCHEMA, responseFormatFor, valueFromOutput } from './request.ts';

describe('what a target field asks of a task', () => {
  it('asks list fields for {"items": [...]} and json fields for their schema; text fields for nothing', () => {
    expect(responseFormatFor({ key: 'tags', kind: 'list', json_schema: null })).toEqual({
      type: 'json_schema',
      name: 'tags',
      schema: LIST_SCHEMA,
      strict: true,
    });
    const schema = { type: 'object', properties: { angle: { type: 'string' } } };
    expect(responseFormatFor({ key: 'angles', kind: 'json', json_schema: schema })).toEqual({
      type: 'json_schema',
      name: 'angles',
      schema,
    });
    expect(responseFormatFor({ key: 'raw', kind: 'json', json_schema: null })).toEqual({ type: 'json_object' });
    expect(responseFormatFor({ key: 'working_title', kind: 'text', json_schema: null })).toBeUndefined();
  });

  it('reads the value out of the output by kind, saying why when it cannot', () => {
    expect(valueFromOutput({ kind: 'markdown' }, '# Hi')).toEqual({ value: '# Hi' });
    expect(valueFromOutput({ kind: 'list' }, '{"items":["a","b"]}')).toEqual({ value: ['a', 'b'] });
    expect(valueFromOutput({ kind: 'list' }, '{"reply":"a"}')).toEqual({
      value: { reply: 'a' },
      problem: 'expected {"items": [...]}',
    });
    expect(valueFromOutput({ kind: 'list' }, '- tea\n2. scones\n\n* jam')).toEqual({ value: ['tea', 'scones', 'jam'] });
    expect(valueFromOutput({ kind: 'json' }, 'not json')).toEqual({ value: 'not json', problem: 'the output is not JSON' });
    expect(valueFromOutput({ kind: 'json' }, '[1,2]')).toEqual({ value: [1, 2] });
  });
});
