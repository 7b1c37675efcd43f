import { describe, expect, it } from 'vitest';
import { LIST_SCHEMA, responseFormatFor, valueFromImageTask, valueFromOutput } from './request.ts';

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

  it('reads an image field’s value out of an image task: the first image, the prompt sent, the model’s description', () => {
    const url = '/api/v1/tasks/0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b/images/0';
    const images = [
      { index: 1, url: url.replace(/0$/, '1'), revised_prompt: null },
      { index: 0, url, revised_prompt: 'A teapot, at dusk' },
    ];
    const attempts = [
      { status: 'failed', request: { prompt: 'older' } },
      { status: 'succeeded', request: { model: 'emu-image', prompt: 'a teapot' } },
    ];
    expect(valueFromImageTask({ kind: 'image', images, attempts })).toEqual({
      value: { url, prompt: 'a teapot', caption: 'A teapot, at dusk' },
    });
    expect(valueFromImageTask({ kind: 'image', images: [], attempts }).problem).toBe('the image task made no image');
    expect(valueFromImageTask({ kind: 'chat', images: [], attempts }).problem).toMatch(/takes an image model/);
  });
});
