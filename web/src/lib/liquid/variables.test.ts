import { describe, expect, it } from 'vitest';
import { usedVariables } from './variables.ts';

describe('the variables a Liquid text reads, while typing', () => {
  it('finds outputs with their property paths and the names in tags', () => {
    const text =
      'Write about {{ post.title }} for {{ blog.name | upcase }}.\n{% if audience == "experts" and tone %}Be brief.{% endif %}\n' +
      '{% for tag in post.tags %}{{ tag }} {{ forloop.index }}{% endfor %}';
    expect(usedVariables(text)).toEqual([
      { name: 'audience', paths: ['audience'] },
      { name: 'blog', paths: ['blog.name'] },
      { name: 'post', paths: ['post.tags', 'post.title'] },
      { name: 'tone', paths: ['tone'] },
    ]);
  });

  it('leaves out what the text makes itself, and literals', () => {
    const text =
      '{% assign greeting = "Hello" %}{% capture sign %}Bye{% endcapture %}{{ greeting }} {{ sign }} {{ "x" }} {{ 3 }}';
    expect(usedVariables(text)).toEqual([]);
  });
});
