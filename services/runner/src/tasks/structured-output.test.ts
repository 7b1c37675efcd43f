import { describe, expect, it } from 'vitest';
import { checkOutput } from './structured-output.ts';

const outline = {
  type: 'json_schema' as const,
  name: 'outline',
  strict: true,
  schema: {
    type: 'object',
    properties: {
      items: { type: 'array', items: { type: 'object', properties: { title: { type: 'string' } }, required: ['title'] } },
    },
    required: ['items'],
    additionalProperties: false,
  },
};

describe('checkOutput', () => {
  it('leaves text output alone, whatever it says', () => {
    expect(checkOutput(undefined, 'not json')).toBeNull();
    expect(checkOutput({ type: 'text' }, '{')).toBeNull();
  });

  it('accepts a reply that fits the schema it sent (a list asked for as {"items": [...]})', () => {
    expect(checkOutput(outline, '{"items":[{"title":"One"},{"title":"Two"}]}')).toBeNull();
  });

  it('fails a reply that is not JSON, with the parser’s reason', () => {
    const error = checkOutput(outline, '{"items":[{"title":"One"}');
    expect(error).toMatchObject({ kind: 'invalid_output', retryable: true, status: null });
    expect(error?.message).toMatch(/not valid JSON/);
    expect(error?.output_errors).toEqual([{ path: '', message: expect.stringMatching(/^not valid JSON: /) }]);
  });

  it('fails valid JSON that breaks the schema, with every error the validator found', () => {
    const error = checkOutput(outline, '{"items":[{"title":1},{}],"extra":true}');
    expect(error?.kind).toBe('invalid_output');
    expect(error?.output_errors).toEqual(
      expect.arrayContaining([
        { path: '', message: "must NOT have additional properties ('extra')" },
        { path: '/items/0/title', message: 'must be string' },
        { path: '/items/1', message: "must have required property 'title'" },
      ]),
    );
    expect(error?.message).toMatch(/^the reply does not fit the schema "outline": .+ \(and 2 more\)$/);
  });

  it('fails a bare list where the schema wants an object at the root', () => {
    expect(checkOutput(outline, '[{"title":"One"}]')?.output_errors).toEqual([{ path: '', message: 'must be object' }]);
  });

  it('checks formats the schema names', () => {
    const dated = {
      type: 'json_schema' as const,
      name: 'dated',
      schema: { type: 'object', properties: { on: { type: 'string', format: 'date' } } },
    };
    expect(checkOutput(dated, '{"on":"2026-12-06"}')).toBeNull();
    expect(checkOutput(dated, '{"on":"6 December"}')?.output_errors).toEqual([
      { path: '/on', message: 'must match format "date"' },
    ]);
  });

  it('reads a schema in its own dialect: draft-07 when it says so, 2020-12 otherwise', () => {
    const tuple = {
      type: 'json_schema' as const,
      name: 'pair',
      schema: {
        $schema: 'http://json-schema.org/draft-07/schema#',
        type: 'object',
        properties: { pair: { type: 'array', items: [{ type: 'string' }, { type: 'number' }], additionalItems: false } },
        definitions: { unused: { type: 'string' } },
      },
    };
    expect(checkOutput(tuple, '{"pair":["a",1]}')).toBeNull();
    expect(checkOutput(tuple, '{"pair":[1,"a"]}')?.output_errors).toHaveLength(2);
    const prefixed = {
      type: 'json_schema' as const,
      name: 'pair',
      schema: {
        $schema: 'https://json-schema.org/draft/2020-12/schema',
        type: 'object',
        properties: { pair: { type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }], items: false } },
      },
    };
    expect(checkOutput(prefixed, '{"pair":["a",1]}')).toBeNull();
    expect(checkOutput(prefixed, '{"pair":["a",1,2]}')?.kind).toBe('invalid_output');
  });

  it('compiles an edited schema that keeps its $id', () => {
    const versioned = (type: string) => ({
      type: 'json_schema' as const,
      name: 'versioned',
      schema: { $id: 'https://example.com/versioned', type: 'object', properties: { v: { type } } },
    });
    expect(checkOutput(versioned('string'), '{"v":"a"}')).toBeNull();
    expect(checkOutput(versioned('number'), '{"v":1}')).toBeNull();
    expect(checkOutput(versioned('number'), '{"v":"a"}')?.output_errors).toEqual([{ path: '/v', message: 'must be number' }]);
  });

  it('json_object: any JSON object, nothing else', () => {
    expect(checkOutput({ type: 'json_object' }, '{"a":1}')).toBeNull();
    expect(checkOutput({ type: 'json_object' }, '[1]')?.message).toMatch(/an array, not the object/);
    expect(checkOutput({ type: 'json_object' }, 'null')?.kind).toBe('invalid_output');
    expect(checkOutput({ type: 'json_object' }, 'You said: hi')?.kind).toBe('invalid_output');
  });

  it('says so, not retryable, when the schema itself does not compile', () => {
    const broken = {
      type: 'json_schema' as const,
      name: 'broken',
      schema: { type: 'object', properties: { a: { type: 'nonsense' } } },
    };
    const error = checkOutput(broken, '{"a":1}');
    expect(error).toMatchObject({ kind: 'invalid_output', retryable: false });
    expect(error?.message).toMatch(/cannot compile the schema "broken"/);
  });
});
