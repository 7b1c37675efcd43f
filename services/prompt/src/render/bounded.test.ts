import { describe, expect, it } from 'vitest';
import { BOUNDED_LIMITS, isBounded } from './bounded.ts';
import { TemplateParser } from './engine.ts';
import type { RenderRequest } from './render.ts';

const parser = new TemplateParser();
const source = { message_index: 0, entry_index: 0, part_id: null, part_name: null, part_version: null };
const request = (content: string, inputs: Record<string, unknown> = {}, model?: string): RenderRequest => ({
  messages: [{ role: 'user', entries: [{ content, source }] }],
  declared: [],
  mergeAdjacent: false,
  inputs,
  ...(model ? { model } : {}),
});

describe('renders bounded by their size (run on the event loop)', () => {
  it('takes text and outputs of plain variable paths', () => {
    expect(isBounded(parser, request('Just text.'))).toBe(true);
    expect(isBounded(parser, request('{{ post | raw }}', { post: { a: 1 } }))).toBe(true);
    expect(
      isBounded(parser, request('Write about "{{ post.title }}": {{ post.tags[0] }} {{ post["summary"] }}', { post: {} })),
    ).toBe(true);
  });

  it('leaves to the workers anything that can run away: tags, filters, ranges, variable keys, literals', () => {
    for (const content of [
      '{% for i in (1..1000000000) %}x{% endfor %}',
      '{% assign r = (1..5000000) | sort %}{{ r | size }}',
      '{{ x | append: x }}',
      '{{ x | upcase }}',
      '{{ x | raw | upcase }}',
      '{{ (1..100000000) }}',
      '{{ a[b] }}',
      '{{ "literal" }}',
      '{% if x %}y{% endif %}',
      '{% comment %}quiet{% endcomment %}',
      '{{ x',
    ])
      expect(isBounded(parser, request(content, { x: 'x' })), content).toBe(false);
  });

  it('leaves to the workers a model whose tokenizer counts, and what could write more than its bound', () => {
    expect(isBounded(parser, request('{{ x }}', { x: 'short' }, 'gpt-4o'))).toBe(false);
    const long = 'y'.repeat(BOUNDED_LIMITS.sourceChars + 1);
    expect(isBounded(parser, request(long))).toBe(false);
    // Twenty outputs of a 20,000-character input could write 400,000 characters.
    expect(isBounded(parser, request('{{ x }}'.repeat(20), { x: 'z'.repeat(20_000) }))).toBe(false);
    expect(isBounded(parser, request('{{ x }}'.repeat(20), { x: 'z'.repeat(2_000) }))).toBe(true);
  });
});
