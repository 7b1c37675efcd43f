import { describe, expect, it } from 'vitest';
import { blocks, inline } from './markdown.ts';

describe('the preview reader', () => {
  it('reads headings, paragraphs, lists and code blocks', () => {
    expect(blocks('# Title\n\nOne line\nand the next.\n\n- a\n- b\n1. one\n```\n<b>x</b>\n```')).toEqual([
      { kind: 'heading', level: 1, inline: [{ kind: 'text', text: 'Title' }] },
      { kind: 'paragraph', inline: [{ kind: 'text', text: 'One line and the next.' }] },
      { kind: 'list', ordered: false, items: [[{ kind: 'text', text: 'a' }], [{ kind: 'text', text: 'b' }]] },
      { kind: 'list', ordered: true, items: [[{ kind: 'text', text: 'one' }]] },
      { kind: 'code', text: '<b>x</b>' },
    ]);
  });

  it('reads emphasis, code and links, and keeps a link that is not http(s) as text', () => {
    expect(inline('**bold** and *em*, `x`, [site](https://example.org) [bad](javascript:alert)')).toEqual([
      { kind: 'strong', text: 'bold' },
      { kind: 'text', text: ' and ' },
      { kind: 'em', text: 'em' },
      { kind: 'text', text: ', ' },
      { kind: 'code', text: 'x' },
      { kind: 'text', text: ', ' },
      { kind: 'link', text: 'site', href: 'https://example.org' },
      { kind: 'text', text: ' ' },
      { kind: 'text', text: '[bad](javascript:alert)' },
    ]);
  });
});
