import { describe, expect, it } from 'vitest';
import { Renderer } from '../render/render.ts';
import { convertLegacyPrompt, convertModularPrompt, type LegacyConversion } from './convert.ts';

/** Renders a conversion the way a template made of it would render. */
async function render(conversion: LegacyConversion, inputs: Record<string, unknown>) {
  const renderer = new Renderer();
  const result = await renderer.render({
    messages: conversion.messages.map((message, messageIndex) => ({
      role: message.role,
      entries: message.entries.map((entry, entryIndex) => ({
        content: conversion.parts[entry.part_index]?.content ?? '',
        source: { message_index: messageIndex, entry_index: entryIndex, part_id: null, part_name: null, part_version: null },
      })),
    })),
    declared: conversion.variables,
    mergeAdjacent: false,
    inputs,
  });
  expect(result.problems).toEqual([]);
  return result.messages.map((m) => [m.role, m.text]);
}

describe('the legacy converter', () => {
  it('splits [system] and [user] role tags and joins segments per role, as the legacy parser did', async () => {
    const conversion = convertLegacyPrompt('[system] You are an editor. [user] Improve [data:idea_seed]. [system] Be brief.', {
      name: 'Idea',
    });
    expect(conversion.ok).toBe(true);
    expect(conversion.parts.map((p) => [p.name, p.kind, p.default_role])).toEqual([
      ['Idea — system', 'system', 'system'],
      ['Idea — user', 'task', 'user'],
    ]);
    expect(conversion.variables).toEqual([
      { name: 'idea_seed', type: 'string', required: true, description: 'converted from the legacy prompt' },
    ]);
    expect(await render(conversion, { idea_seed: 'bread' })).toEqual([
      ['system', 'You are an editor.\n\nBe brief.'],
      ['user', 'Improve bread.'],
    ]);
  });

  it('keeps the label of [system: ROLE] and treats untagged text as user text', async () => {
    const conversion = convertLegacyPrompt('Write about {topic}.\n[system: Senior food writer]\nStay factual.');
    expect(await render(conversion, { topic: 'rye' })).toEqual([
      ['system', 'Senior food writer\nStay factual.'],
      ['user', 'Write about rye.'],
    ]);
  });

  it('converts {var}, {{var}} with Jinja2 filters, loops and [data:FIELD] side by side', async () => {
    const conversion = convertLegacyPrompt(
      'Idea: {idea}. Facts: {{ facts|join(", ") }}. Meta: {{ meta|tojson }}. Title: {{ post.title|upper }}. Field: [data:summary]\n{% for s in sections %}- {{ s }}\n{% endfor %}',
    );
    expect(conversion.ok).toBe(true);
    expect(Object.fromEntries(conversion.variables.map((v) => [v.name, v.type]))).toEqual({
      facts: 'list',
      idea: 'string',
      meta: 'string',
      post: 'object',
      sections: 'list',
      summary: 'string',
    });
    conversion.variables.find((v) => v.name === 'meta')!.type = 'object';
    const [first] = (await render(conversion, {
      idea: 'rye',
      facts: ['a', 'b'],
      meta: { k: 1 },
      post: { title: 'loaf' },
      summary: 's',
      sections: ['x', 'y'],
    })) as [string, string][];
    expect(first?.[1]).toBe('Idea: rye. Facts: a, b. Meta: {"k":1}. Title: LOAF. Field: s\n- x\n- y');
  });

  it('turns Handlebars each blocks into loops and planning codes into variables, with warnings', async () => {
    const conversion = convertLegacyPrompt('Expand [EXPANDED_IDEA] using {{#each facts}}* {{this}}\n{{/each}}and {{IDEA01}}.');
    expect(conversion.warnings).toEqual([
      'converted the Handlebars {{#each facts}} block to a Liquid for loop',
      'the planning code [EXPANDED_IDEA] became the variable EXPANDED_IDEA; check what fills it',
    ]);
    expect(await render(conversion, { EXPANDED_IDEA: 'E', facts: ['f1', 'f2'], IDEA01: 'I' })).toEqual([
      ['user', 'Expand E using * f1\n* f2\nand I.'],
    ]);
  });

  it('reports what it cannot convert instead of guessing', () => {
    const conversion = convertLegacyPrompt('{{ text|wordwrap(40) }}');
    expect(conversion.ok).toBe(false);
    expect(conversion.warnings[0]).toMatch(/"wordwrap" has no Liquid equivalent/);
  });

  it('converts a modular prompt_json as composed on 2025-06-12', async () => {
    const conversion = convertModularPrompt(
      [
        { type: 'role', content: 'You are a baker.' },
        { type: 'style', content: 'Warm tone.' },
        { type: 'format', content: '' },
        { type: 'operation', content: 'Write an intro about {topic}.' },
      ],
      { name: 'Intro' },
    );
    expect(conversion.parts.map((p) => p.kind)).toEqual(['system', 'style', 'task', 'data']);
    expect(await render(conversion, { topic: 'rye', input: 'the draft' })).toEqual([
      ['system', 'You are a baker.'],
      ['user', 'Warm tone.\n\nWrite an intro about rye.'],
      ['user', 'Data for this operation as follows: the draft'],
    ]);
  });
});
