import { describe, expect, it } from 'vitest';
import { Renderer, tidy, type ResolvedMessage } from './render.ts';
import type { VariableDecl } from './inputs.ts';

const renderer = new Renderer();

function part(content: string, messageIndex = 0, entryIndex = 0, name = 'p'): ResolvedMessage['entries'][number] {
  return {
    content,
    source: {
      message_index: messageIndex,
      entry_index: entryIndex,
      part_id: '01936f6e-7c1a-7b2e-9f3c-2b6d1e8a4c5d',
      part_name: name,
      part_version: 1,
    },
  };
}
function text(content: string, messageIndex = 0, entryIndex = 0): ResolvedMessage['entries'][number] {
  return {
    content,
    source: { message_index: messageIndex, entry_index: entryIndex, part_id: null, part_name: null, part_version: null },
  };
}
const decl = (name: string, type: VariableDecl['type'], extra: Partial<VariableDecl> = {}): VariableDecl => ({
  name,
  type,
  required: true,
  description: '',
  ...extra,
});

async function render(
  messages: ResolvedMessage[],
  inputs: Record<string, unknown> = {},
  declared: VariableDecl[] = [],
  mergeAdjacent = false,
  model?: string,
) {
  return renderer.render({ messages, inputs, declared, mergeAdjacent, model });
}

describe('rendering', () => {
  it('renders every variable type: string, number, boolean, list, object', async () => {
    const result = await render(
      [
        {
          role: 'user',
          entries: [
            text(
              'Title: {{ post.title }} ({{ words }} words){% if draft %}, draft{% endif %}\nTags: {% for tag in tags %}{{ tag }}{% unless forloop.last %}, {% endunless %}{% endfor %}',
            ),
          ],
        },
      ],
      { post: { title: 'Sourdough' }, words: 1200, draft: true, tags: ['bread', 'baking'] },
      [
        decl('post', 'object'),
        decl('words', 'number'),
        decl('draft', 'boolean'),
        decl('tags', 'list'),
        decl('title', 'string', { required: false }),
      ],
    );
    expect(result.problems).toEqual([]);
    expect(result.messages).toEqual([
      expect.objectContaining({ role: 'user', text: 'Title: Sourdough (1200 words), draft\nTags: bread, baking' }),
    ]);
  });

  it('applies filters, with json, size, join, upcase and arithmetic', async () => {
    const result = await render(
      [
        {
          role: 'user',
          entries: [
            text(
              '{{ name | upcase }}|{{ items | size }}|{{ items | join: "+" }}|{{ n | plus: 2 }}|{{ meta | json }}|{{ name | size }}|{{ items.first }}',
            ),
          ],
        },
      ],
      { name: 'ada', items: ['a', 'b'], n: 40, meta: { k: [1] } },
    );
    expect(result.messages[0]?.text).toBe('ADA|2|a+b|42|{"k":[1]}|3|a');
  });

  it('writes a whole object or list as JSON, never [object Object]', async () => {
    const result = await render(
      [{ role: 'user', entries: [text('{{ post }}|{{ post.tags }}|{{ post | raw }}|{{ (1..3) }}|{{ post.title }}|{{ n }}')] }],
      { post: { title: 'Rye', tags: ['bread', 'sour'] }, n: 2 },
    );
    const json = '{"title":"Rye","tags":["bread","sour"]}';
    expect(result.messages[0]?.text).toBe(`${json}|["bread","sour"]|${json}|[1,2,3]|Rye|2`);
  });

  it('lists every problem at once: missing variables, missing properties, wrong types, with part, line and column', async () => {
    const result = await render(
      [
        { role: 'system', entries: [part('You write for {{ blog.name }}.\nAudience: {{ audience }}', 0, 0, 'voice')] },
        { role: 'user', entries: [text('{{ post.title }} by {{ post.author.name }}; {{ count }}', 1, 0)] },
      ],
      { blog: {}, post: { title: 't', author: 'x' }, count: 'three' },
      [decl('count', 'number')],
    );
    expect(result.ok).toBe(false);
    expect(result.messages).toEqual([]);
    const summary = result.problems.map((p) => [p.code, p.variable, p.source?.part_name ?? null, p.line, p.column]);
    expect(summary).toEqual(
      expect.arrayContaining([
        ['wrong_type', 'count', null, null, null],
        ['missing_property', 'blog.name', 'voice', 1, 18],
        ['missing_variable', 'audience', 'voice', 2, 14],
        ['wrong_type', 'post.author', null, 1, 24],
      ]),
    );
    expect(result.problems).toHaveLength(4);
    expect(result.problems.find((p) => p.variable === 'audience')?.message).toMatch(/part "voice" v1, line 2, column 14/);
  });

  it('names the expected type with the right article', async () => {
    const result = await render([{ role: 'user', entries: [text('{{ meta }}{{ items }}')] }], { meta: 'x' }, [
      decl('meta', 'object'),
      decl('items', 'list'),
    ]);
    expect(result.problems.map((p) => p.message)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('meta should be an object, but the input is a string'),
        expect.stringContaining('items is required (a list)'),
      ]),
    );
  });

  it('uses declared defaults, gives absent optional variables nil, and refuses a default of the wrong type', async () => {
    const ok = await render([{ role: 'user', entries: [text('{{ tone }}{% if extra %} +{{ extra }}{% endif %}')] }], {}, [
      decl('tone', 'string', { default: 'warm' }),
      decl('extra', 'string', { required: false }),
    ]);
    expect(ok.messages[0]?.text).toBe('warm');
    const bad = await render([{ role: 'user', entries: [text('{{ tone }}')] }], {}, [decl('tone', 'string', { default: 3 })]);
    expect(bad.problems.map((p) => p.code)).toContain('bad_default');
  });

  it('reports a syntax error with the part, line and column, and still checks the other entries', async () => {
    const result = await render([
      { role: 'system', entries: [part('Line one\nLine two {% if x %} unclosed', 0, 0, 'broken')] },
      { role: 'user', entries: [text('{{ missing }}', 1, 0)] },
    ]);
    expect(result.problems.map((p) => [p.code, p.source?.part_name ?? null, p.line, p.column])).toEqual([
      ['syntax', 'broken', 2, 10],
      ['missing_variable', null, 1, 4],
    ]);
    expect(result.problems[0]?.message).toMatch(
      /syntax error in part "broken" v1 at line 2, column 10: tag \{% if x %\} not closed/,
    );
  });

  it('refuses unknown filters and tags at parse time, and include/render (no files, no cycles)', async () => {
    for (const source of ['{{ x | nosuchfilter }}', '{% frobnicate %}', '{% include "other" %}', '{% render "other" %}']) {
      const result = await render([{ role: 'user', entries: [text(source)] }], { x: 1 });
      expect(
        result.problems.map((p) => p.code),
        source,
      ).toEqual(['syntax']);
    }
  });

  it('stops a render over its budget, naming the entry: a loop over a billion items, output that doubles itself', async () => {
    const loop = render([{ role: 'user', entries: [text('fine'), text('{% for i in (1..1000000000) %}x{% endfor %}', 0, 1)] }]);
    await expect(loop).rejects.toMatchObject({ name: 'OverBudget', step: 1, limit: expect.stringMatching(/memory budget/) });
    const doubling = render([
      {
        role: 'user',
        entries: [text('{% assign s = "xxxxxxxxxx" %}{% for i in (1..40) %}{% assign s = s | append: s %}{% endfor %}{{ s }}')],
      },
    ]);
    await expect(doubling).rejects.toMatchObject({ name: 'OverBudget', step: 0 });
  });

  it('gives the whole request one budget: entries that each fit alone do not fit together', async () => {
    // Doubling a string 18 times takes about 5,200,000 of the 10,000,000 allocation units.
    const heavy = '{% assign s = "xxxxxxxxxx" %}{% for i in (1..18) %}{% assign s = s | append: s %}{% endfor %}{{ s | size }}';
    const alone = await render([{ role: 'user', entries: [text(heavy)] }]);
    expect(alone.messages[0]?.text).toBe('2621440');
    const together = render([{ role: 'user', entries: [text(heavy), text(heavy, 0, 1)] }]);
    await expect(together).rejects.toMatchObject({ name: 'OverBudget', step: 1 });
    const slow = '{% assign r = (1..3000) %}{% for a in r %}{% for b in r %}{% endfor %}{% endfor %}';
    const timed = renderer.render(
      { messages: [{ role: 'user', entries: [text(slow)] }], inputs: {}, declared: [], mergeAdjacent: false },
      { ms: 1 },
    );
    await expect(timed).rejects.toMatchObject({ name: 'OverBudget', step: 0, limit: 'the time budget of 1 ms per request' });
  });

  it('reads own properties only: no prototype or constructor', async () => {
    const result = await render([{ role: 'user', entries: [text('{{ post.constructor }}')] }], { post: { title: 't' } });
    expect(result.problems.map((p) => [p.code, p.variable])).toEqual([['missing_property', 'post.constructor']]);
  });

  it('follows the whitespace rule: entries trimmed of leading blank lines and trailing space, joined by a blank line', async () => {
    expect(tidy('\n\n  indented\nmore  \n\n')).toBe('  indented\nmore');
    const result = await render(
      [
        {
          role: 'system',
          entries: [text('\nFirst.\n'), text('{%- if no -%} hidden {%- endif -%}'), text('Second {{- " " -}} done.\n')],
        },
        { role: 'user', entries: [text('{% if no %}x{% endif %}')] },
      ],
      { no: false },
    );
    expect(result.messages.map((m) => m.text)).toEqual(['First.\n\nSecond done.']);
    expect(result.warnings).toEqual(['message 2 (user) rendered empty and is left out']);
  });

  it('merges adjacent messages of one role only when asked', async () => {
    const messages: ResolvedMessage[] = [
      { role: 'system', entries: [text('a')] },
      { role: 'system', entries: [text('b')] },
      { role: 'user', entries: [text('c')] },
    ];
    expect((await render(messages, {}, [], false)).messages.map((m) => m.role)).toEqual(['system', 'system', 'user']);
    expect((await render(messages, {}, [], true)).messages.map((m) => [m.role, m.text])).toEqual([
      ['system', 'a\n\nb'],
      ['user', 'c'],
    ]);
  });

  it('discovers variables with every path and place they are used', async () => {
    const { variables } = renderer.analyze([
      {
        role: 'user',
        entries: [part('{{ post.title }} {{ post.body }}\n{% for s in sections %}{{ s.heading }}{% endfor %}', 0, 0, 'data')],
      },
    ]);
    expect(variables).toEqual([
      {
        name: 'post',
        paths: ['post.title', 'post.body'],
        used_in: [
          { source: 'part "data" v1', line: 1, column: 4 },
          { source: 'part "data" v1', line: 1, column: 21 },
        ],
      },
      { name: 'sections', paths: ['sections'], used_in: [{ source: 'part "data" v1', line: 2, column: 13 }] },
    ]);
  });

  it('estimates tokens with tiktoken for OpenAI models and states the approximation otherwise', async () => {
    const messages: ResolvedMessage[] = [{ role: 'user', entries: [text('Hello world, this is a test.')] }];
    const openai = await render(messages, {}, [], false, 'gpt-4o');
    expect(openai.token_estimate).toMatchObject({ method: 'tiktoken:o200k_base', exact_for_model: true });
    expect(openai.messages[0]?.tokens).toBe(8);
    expect(openai.token_estimate.total).toBe(8 + 3 + 3);
    const other = await render(messages, {}, [], false, 'llama3.1:70b');
    expect(other.token_estimate).toMatchObject({ method: 'approximation:chars/4', exact_for_model: false });
    expect(other.messages[0]?.tokens).toBe(7);
    expect(other.messages[0]?.chars).toBe(28);
  });
});
