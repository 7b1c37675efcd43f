import { describe, expect, it } from 'vitest';
import { Renderer } from '../render/render.ts';
import {
  convertLegacyPart,
  convertLegacyPrompt,
  convertLegacyRow,
  convertModularPrompt,
  parameterTypes,
  type LegacyConversion,
} from './convert.ts';

// The shapes below are the ones blogforge-legacy.md §8 lists for real legacy prompts (and §1.3 for
// prompt_json); the inputs are shaped like real posts: post_development fields are text, facts,
// ideas and sections are lists.

const renderer = new Renderer();

/** Renders a conversion with the prompt service's renderer, the way a template made of it renders. */
async function render(conversion: LegacyConversion, inputs: Record<string, unknown>) {
  expect(conversion.ok).toBe(true);
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

function types(conversion: LegacyConversion) {
  return Object.fromEntries(conversion.variables.map((v) => [v.name, v.type]));
}

/** Every warning names its row, so the importer's report can point at it. */
function expectRowNamed(conversion: LegacyConversion) {
  for (const warning of conversion.warnings) expect(warning.startsWith(`${conversion.row}: `)).toBe(true);
}

describe('the legacy converter: plain Jinja2 (E0, early E2)', () => {
  it('converts {{var}} with Jinja2 filters, loops, {var} and [data:FIELD], reporting only the inexact filter', async () => {
    const conversion = convertLegacyPrompt(
      'Idea: {{ basic_idea }} ({{ idea_scope|upper }}). Facts: {{ facts|join(", ") }}. Meta: {{ meta|tojson }}. Title: {{ post.title }}. Seed: {idea_seed}. Field: [data:summary]\n{% for s in sections %}- {{ s }}\n{% endfor %}',
      { row: 'llm_prompt 1' },
    );
    expect(conversion.warnings).toEqual([
      `llm_prompt 1: converted the Jinja2 filter "tojson" to "json", which differs: Jinja2's tojson wrote ", " and ": " separators with sorted keys; Liquid's json writes compact JSON in the input's key order`,
    ]);
    expect(types(conversion)).toEqual({
      basic_idea: 'string',
      facts: 'list',
      idea_scope: 'string',
      idea_seed: 'string',
      meta: 'string',
      post: 'object',
      sections: 'list',
      summary: 'string',
    });
    expect(
      await render(conversion, {
        basic_idea: 'Rye bread in the Highlands',
        idea_scope: 'history',
        facts: ['rye grows in poor soil', 'oats were more common'],
        meta: 'm',
        post: { title: 'Highland rye' },
        idea_seed: 'rye',
        summary: 'A short history',
        sections: ['Origins', 'Today'],
      }),
    ).toEqual([
      [
        'user',
        'Idea: Rye bread in the Highlands (HISTORY). Facts: rye grows in poor soil, oats were more common. Meta: "m". Title: Highland rye. Seed: rye. Field: A short history\n- Origins\n- Today',
      ],
    ]);
  });

  it('converts Jinja2 comments, elif, loop.index and whitespace control exactly', async () => {
    const conversion = convertLegacyPrompt(
      '{# the E0 idea prompt #}Ideas:\n{%- for idea in ideas %}\n{{ loop.index }}. {{- idea -}} !{% if loop.last %}.{% endif %}{% endfor %}\n{% if idea_scope == "wide" %}Wide{% elif idea_scope %}{{ idea_scope }}{% else %}None{% endif %}',
      { row: 'llm_prompt 5', parameters: { ideas: 'array' } },
    );
    expect(conversion.warnings).toEqual([]);
    expect(types(conversion)).toEqual({ idea_scope: 'string', ideas: 'list' });
    expect(await render(conversion, { ideas: ['oats', 'rye'], idea_scope: 'narrow' })).toEqual([
      ['user', 'Ideas:\n1.oats!\n2.rye!.\nnarrow'],
    ]);
  });

  it('reports what it cannot convert instead of guessing', () => {
    const conversion = convertLegacyPrompt('{{ text|wordwrap(40) }}', { row: 'llm_prompt 2' });
    expect(conversion.ok).toBe(false);
    expect(conversion.warnings[0]).toMatch(/^llm_prompt 2: the Jinja2 filter "wordwrap" has no Liquid equivalent/);
  });

  it('turns Handlebars each blocks into loops, with a warning', async () => {
    const conversion = convertLegacyPrompt('Use: {{#each facts}}* {{this}}\n{{/each}}', { row: 'llm_prompt 3' });
    expect(conversion.warnings).toEqual(['llm_prompt 3: converted the Handlebars {{#each facts}} block to a Liquid for loop']);
    expect(await render(conversion, { facts: ['f1', 'f2'] })).toEqual([['user', 'Use: * f1\n* f2']]);
  });
});

describe('the legacy converter: the shapes of real legacy prompts', () => {
  it('splits role tags into messages and drops the labels of [system: ROLE] and [user: FORMAT]', async () => {
    const conversion = convertLegacyPrompt(
      '[system: Senior food writer] You write about Scottish food.\n[user: FORMAT] Expand [data:idea_seed] into a paragraph. [system] Be brief.',
      { row: 'llm_action 4', name: 'Expand' },
    );
    expect(conversion.parts.map((p) => [p.name, p.kind, p.default_role])).toEqual([
      ['Expand — system', 'system', 'system'],
      ['Expand — user', 'task', 'user'],
    ]);
    expect(conversion.warnings).toEqual([
      'llm_action 4: dropped the label "Senior food writer" of the role tag [system: Senior food writer], as the legacy parser did',
      'llm_action 4: dropped the label "FORMAT" of the role tag [user: FORMAT], as the legacy parser did',
    ]);
    expect(await render(conversion, { idea_seed: 'oatcakes' })).toEqual([
      ['system', 'You write about Scottish food.\n\nBe brief.'],
      ['user', 'Expand oatcakes into a paragraph.'],
    ]);
  });

  it('keeps upper-case answer codes such as {IDEA01} as literal text, not variables', async () => {
    const conversion = convertLegacyPrompt(
      'List ideas as {IDEA01}, {IDEA02}, then sections {S01} {S02}; format each as {IDEAXX} {SXX}. Old escaped form: {{IDEA03}}. Topic: {topic}.',
      { row: 'llm_prompt 30' },
    );
    expect(types(conversion)).toEqual({ topic: 'string' });
    expect(conversion.warnings).toEqual([
      'llm_prompt 30: {{IDEA03}} is the Python-escaped form of the answer code {IDEA03}; it became that literal text',
      'llm_prompt 30: kept {IDEA03}, {IDEA01}, {IDEA02}, {S01}, {S02}, {IDEAXX}, {SXX} as literal text: answer codes the model copies into its reply, not inputs',
    ]);
    expect(await render(conversion, { topic: 'clan tartans' })).toEqual([
      [
        'user',
        'List ideas as {IDEA01}, {IDEA02}, then sections {S01} {S02}; format each as {IDEAXX} {SXX}. Old escaped form: {IDEA03}. Topic: clan tartans.',
      ],
    ]);
  });

  it('makes an upper-case name a variable when the runtime filled it (a known input)', () => {
    const conversion = convertLegacyPrompt('Write about {TOPIC} for {IDEA01}.', { row: 'llm_prompt 31', inputs: ['TOPIC'] });
    expect(types(conversion)).toEqual({ TOPIC: 'string' });
    expect(conversion.parts[0]?.content).toBe('Write about {{ TOPIC }} for {IDEA01}.');
    const unnamed = convertLegacyPrompt('Write {0} ideas about {topic:>10}. Answer as {"title": "..."}.', {
      row: 'llm_prompt 34',
    });
    expect(unnamed.warnings).toEqual([
      'llm_prompt 34: {0} was kept as text: a Python format field with no name to convert; check what filled it',
      'llm_prompt 34: {topic:>10} was kept as text: a Python format field with no name to convert; check what filled it',
    ]);
    expect(unnamed.variables).toEqual([]);
  });

  it('turns positional [PLACEHOLDER] slots into one variable per occurrence, in order', async () => {
    const conversion = convertLegacyPrompt('Idea: [PLACEHOLDER]\nSection text: [PLACEHOLDER]\nExpand [EXPANDED_IDEA].', {
      row: 'llm_prompt 32',
    });
    expect(types(conversion)).toEqual({ EXPANDED_IDEA: 'string', PLACEHOLDER_1: 'string', PLACEHOLDER_2: 'string' });
    expect(conversion.warnings[0]).toBe(
      'llm_prompt 32: [PLACEHOLDER] occurs 2 times; the legacy app filled the occurrences in order, so they became the variables PLACEHOLDER_1, PLACEHOLDER_2',
    );
    expect(conversion.warnings).toContain(
      'llm_prompt 32: the planning code [EXPANDED_IDEA] became the variable EXPANDED_IDEA; check what fills it',
    );
    expect(
      await render(conversion, { PLACEHOLDER_1: 'Clan feasts', PLACEHOLDER_2: 'The feast hall was...', EXPANDED_IDEA: 'feasts' }),
    ).toEqual([['user', 'Idea: Clan feasts\nSection text: The feast hall was...\nExpand feasts.']]);
  });

  it('converts lower-case [section_heading] placeholders and reports a bracketed word it keeps', async () => {
    const conversion = convertLegacyPrompt(
      'Write the section [section_heading] ([section_description]). Include [ideas_to_include]. Mark [optional] parts. See [the guide](https://example.org).',
      { row: 'llm_prompt 33' },
    );
    expect(types(conversion)).toEqual({ ideas_to_include: 'string', section_description: 'string', section_heading: 'string' });
    expect(conversion.warnings).toContain(
      'llm_prompt 33: the bracket placeholder [section_heading] became the variable section_heading (the E4 runtime filled [key] for every input)',
    );
    expect(conversion.warnings).toContain(
      'llm_prompt 33: [optional] was kept as text: it is not a known input; if the runtime filled it, make it {{ optional }}',
    );
    expect(
      await render(conversion, {
        section_heading: 'The Feast',
        section_description: 'what was eaten',
        ideas_to_include: 'venison, oats',
      }),
    ).toEqual([
      [
        'user',
        'Write the section The Feast (what was eaten). Include venison, oats. Mark [optional] parts. See [the guide](https://example.org).',
      ],
    ]);
  });

  it('types list inputs from parameters, so the real arrays render', async () => {
    const conversion = convertLegacyRow({
      id: 116,
      name: 'Section Creator',
      prompt_text: 'Sections: {{sections|tojson}}\nIdeas: {{ideas}}\nFacts: {{ facts }}\nTitle: {{ provisional_title }}',
      parameters: { facts: 'array', ideas: 'array', sections: 'array', provisional_title: 'string', max_tokens: 2000 },
    });
    expect(types(conversion)).toEqual({ facts: 'list', ideas: 'list', provisional_title: 'string', sections: 'list' });
    expect(conversion.warnings).toEqual([
      expect.stringMatching(/^llm_prompt 116: converted the Jinja2 filter "tojson" to "json", which differs/),
      `llm_prompt 116: facts is a list printed whole: the legacy app wrote Python's ['a', 'b'], the converted prompt writes JSON ["a","b"]`,
      `llm_prompt 116: ideas is a list printed whole: the legacy app wrote Python's ['a', 'b'], the converted prompt writes JSON ["a","b"]`,
    ]);
    expect(
      await render(conversion, {
        sections: ['Origins', 'Today'],
        ideas: ['oats'],
        facts: ['rye grows in poor soil'],
        provisional_title: 'Highland rye',
      }),
    ).toEqual([
      ['user', 'Sections: ["Origins","Today"]\nIdeas: ["oats"]\nFacts: ["rye grows in poor soil"]\nTitle: Highland rye'],
    ]);
  });

  it('reads types from parameters given as text or holding sampling settings only', () => {
    expect(parameterTypes('{"facts":"array","n":"integer"}')).toEqual({ facts: 'list', n: 'number' });
    expect(parameterTypes({ max_tokens: 2000, temperature: 0.7 })).toEqual({});
    for (const value of [null, undefined, 'not json', 42, ['facts'], { facts: { type: 'array' } }])
      expect(parameterTypes(value)).toEqual({});
  });

  it('takes roles from columns: system_prompt is the system message, prompt_text the task', async () => {
    const conversion = convertLegacyRow({
      id: 40,
      name: 'FACTS Generator',
      system_prompt: 'You are a Scottish cultural expert.',
      prompt_text: 'List facts about [data:basic_idea].',
    });
    expect(conversion.parts.map((p) => [p.name, p.kind, p.default_role])).toEqual([
      ['FACTS Generator — system', 'system', 'system'],
      ['FACTS Generator — user', 'task', 'user'],
    ]);
    expect(conversion.warnings).toEqual([]);
    expect(await render(conversion, { basic_idea: 'Highland games' })).toEqual([
      ['system', 'You are a Scottish cultural expert.'],
      ['user', 'List facts about Highland games.'],
    ]);
  });

  it("treats system_prompt '' as none, and one equal to prompt_text as one system message", async () => {
    const none = convertLegacyRow({ id: 41, name: 'Task', system_prompt: '', prompt_text: 'Summarise {input}.' });
    expect(await render(none, { input: 'the draft' })).toEqual([['user', 'Summarise the draft.']]);
    const same = convertLegacyRow({
      id: 42,
      name: 'System',
      system_prompt: 'You are an editor.',
      prompt_text: 'You are an editor.',
    });
    expect(same.warnings).toEqual(['llm_prompt 42: prompt_text equals system_prompt; the row became one system message']);
    expect(await render(same, {})).toEqual([['system', 'You are an editor.']]);
  });

  it('converts prompt_json parts by role (type) and kind (tags[0]), several system parts in the first message', async () => {
    const conversion = convertLegacyRow({
      id: 50,
      name: 'EXPAND idea to basic paragraph',
      prompt_text: 'You are a Scottish food writer. Warm tone. Expand the idea.',
      prompt_json: [
        { name: 'Scottish Blog basis', tags: ['Role'], type: 'system', content: 'You are a Scottish food writer.' },
        { name: 'Scottish cultural expert', tags: ['Style'], type: 'system', content: 'Warm tone.' },
        { name: 'idea_seed expansion', tags: ['Operation'], type: 'user', content: 'Expand the idea.' },
        { name: 'JSON format', tags: ['Format'], type: 'user', content: '' },
      ],
    });
    expect(conversion.warnings).toEqual([]);
    expect(conversion.parts.map((p) => p.tags)).toEqual([['Role'], ['Style'], ['Operation'], []]);
    expect(conversion.parts.map((p) => [p.name, p.kind, p.default_role])).toEqual([
      ['Scottish Blog basis', 'system', 'system'],
      ['Scottish cultural expert', 'style', 'system'],
      ['idea_seed expansion', 'task', 'user'],
      ['EXPAND idea to basic paragraph — input', 'data', 'user'],
    ]);
    expect(await render(conversion, { input: 'oatcakes' })).toEqual([
      ['system', 'You are a Scottish food writer.\n\nWarm tone.'],
      ['user', 'Expand the idea.'],
      ['user', 'Data for this operation as follows: oatcakes'],
    ]);
  });

  it('keeps an assistant part as an assistant message and moves a late system part to the first message', async () => {
    const conversion = convertModularPrompt(
      [
        { type: 'user', tags: ['Operation'], content: 'Give a title for {idea_seed}.' },
        { type: 'assistant', tags: ['Specimen'], content: 'Oatcakes: a history' },
        { type: 'system', tags: ['Role'], content: 'You title blog posts.' },
      ],
      { row: 'llm_prompt 51', name: 'Title' },
    );
    expect(conversion.warnings).toEqual([
      'llm_prompt 51: a system part came after other parts; every system part was moved into the first (system) message',
    ]);
    expect(await render(conversion, { idea_seed: 'rye', input: 'draft' })).toEqual([
      ['system', 'You title blog posts.'],
      ['user', 'Give a title for rye.'],
      ['assistant', 'Oatcakes: a history'],
      ['user', 'Data for this operation as follows: draft'],
    ]);
  });

  it('makes a data part with a field and no content the variable of that field, in its place', async () => {
    const conversion = convertLegacyRow({
      id: 52,
      name: 'Title/subtitle Generator',
      prompt_json: [
        { type: 'system', tags: ['Role'], content: 'You write titles.' },
        { type: 'data', field: 'input_text' },
        { type: 'user', tags: ['Operation'], content: 'Write a title for the text above.' },
      ],
    });
    expect(types(conversion)).toEqual({ input_text: 'string' });
    expect(conversion.warnings).toEqual([
      'llm_prompt 52: the data part of prompt_json part 2 names the field "input_text": it became the variable input_text',
    ]);
    expect(await render(conversion, { input_text: 'Rye in the Highlands' })).toEqual([
      ['system', 'You write titles.'],
      ['user', 'Rye in the Highlands\n\nWrite a title for the text above.'],
    ]);
  });

  it('falls back to the text columns when prompt_json is a metadata object, and uses what it says', async () => {
    const role = convertLegacyRow({
      id: 60,
      name: 'Persona',
      prompt_json: { role: 'system' },
      prompt_text: 'You are a historian.',
    });
    expect(role.warnings).toEqual([
      'llm_prompt 60: prompt_json is an object ({"role":"system"}), not a list of parts',
      'llm_prompt 60: prompt_json says role "system": prompt_text became a system message',
    ]);
    expect(await render(role, {})).toEqual([['system', 'You are a historian.']]);

    const fields = convertLegacyRow({
      id: 61,
      name: 'Topic Brainstorming',
      prompt_json: { input_fields: ['basic_idea'], output_format: 'json_array' },
      prompt_text: 'Brainstorm five topics from the inputs above. Answer as a JSON array.',
    });
    expect(fields.warnings).toEqual([
      'llm_prompt 61: prompt_json is an object ({"input_fields":["basic_idea"],"output_format":"json_array"}), not a list of parts',
      `llm_prompt 61: prompt_json's output_format "json_array" is not part of a template; set the action's output handling`,
      "llm_prompt 61: the prompt names none of the step's inputs (basic_idea); they were added as a data part before the task, as the runtime supplied them",
    ]);
    expect(await render(fields, { basic_idea: 'Clan gatherings' })).toEqual([
      ['user', 'basic_idea:\nClan gatherings\n\nBrainstorm five topics from the inputs above. Answer as a JSON array.'],
    ]);
  });

  it('never throws on an irregular prompt_json value, and reports what it left out', () => {
    const values: unknown[] = [
      null,
      undefined,
      {},
      { role: 'system' },
      { output_format: 'json_array' },
      'a string',
      42,
      true,
      [],
      [null, 7, 'loose text', ['nested'], { type: 'data' }, { type: 'user', content: { text: 'x' } }, { content: 'no type' }],
      [
        { type: 42, tags: 'Role', content: 'odd' },
        { type: 'data', field: 'input text' },
      ],
    ];
    for (const prompt_json of values) {
      const conversion = convertLegacyRow({ id: 70, prompt_json, prompt_text: null, system_prompt: null });
      expectRowNamed(conversion);
      expect(() => convertModularPrompt(prompt_json, { row: 'llm_prompt 70' })).not.toThrow();
    }
    const odd = convertLegacyRow({ id: 71, prompt_json: values.at(-2) });
    expect(odd.warnings).toEqual([
      'llm_prompt 71: prompt_json element 1 is null, not a part; it was left out',
      'llm_prompt 71: prompt_json element 2 is a number, not a part; it was left out',
      'llm_prompt 71: prompt_json element 3 is text, not a part; it became a user "context" part',
      'llm_prompt 71: prompt_json element 4 is a list, not a part; it was left out',
      'llm_prompt 71: prompt_json part 6 has an object as content, not text; it was left out',
      'llm_prompt 71: prompt_json part 7 has no type, not a known role or kind; it became a user "context" part',
    ]);
    expect(odd.parts.map((p) => p.content)).toEqual(['loose text', 'no type', 'Data for this operation as follows: {{ input }}']);
    const renamed = convertLegacyRow({ id: 72, prompt_json: values.at(-1) });
    expect(renamed.variables.map((v) => v.name)).toEqual(['input_text']);
    expect(renamed.warnings).toEqual([
      'llm_prompt 72: prompt_json part 1 has a number as type, not a known role or kind; it became a user "context" part',
      'llm_prompt 72: the data field "input text" of prompt_json part 2 is not a variable name; it became input_text',
      'llm_prompt 72: the data part of prompt_json part 2 names the field "input_text": it became the variable input_text',
    ]);
  });

  it('converts an llm_prompt_part row: role from type, kind from tags[0], tags kept', async () => {
    const part = convertLegacyPart({
      id: 7,
      name: 'Use [data:FIELDNAME]',
      type: 'user',
      tags: ['format', 'custom'],
      content: 'Answer about [data:basic_idea] in plain text.',
    });
    expect(part.parts.map((p) => [p.name, p.kind, p.default_role, p.tags])).toEqual([
      ['Use [data:FIELDNAME]', 'format', 'user', ['format', 'custom']],
    ]);
    expect(await render(part, { basic_idea: 'oatcakes' })).toEqual([['user', 'Answer about oatcakes in plain text.']]);
    const style = convertLegacyPart({
      id: 8,
      name: 'Scottish cultural expert',
      type: 'system',
      tags: ['style'],
      content: 'Write with warmth.',
    });
    expect(style.parts.map((p) => [p.kind, p.default_role])).toEqual([['style', 'system']]);
    const odd = convertLegacyPart({ id: 9, type: 'assistant', tags: ['specimen', 42], content: '' });
    expect(odd).toMatchObject({ ok: false, parts: [] });
    expect(odd.warnings).toEqual([
      'llm_prompt_part 9: the part has tags that are not short text (["specimen",42]); only ["specimen"] were kept',
      "llm_prompt_part 9: skipped: the part's content is empty or missing",
    ]);
  });

  it('reports a stale prompt_text that differs from the prompt_json the app ran', () => {
    const conversion = convertLegacyRow({
      id: 80,
      prompt_json: [{ type: 'user', tags: ['Operation'], content: 'Write an intro about {topic}.' }],
      prompt_text: 'Write a long intro about {topic}.',
    });
    expect(conversion.warnings).toEqual([
      'llm_prompt 80: prompt_text differs from prompt_json; prompt_json, which the app ran, was converted and prompt_text left out',
    ]);
  });

  it('adds the step inputs of an "inputs above" prompt as variables, unless the prompt names them', async () => {
    const conversion = convertLegacyPrompt('Using the inputs above, draft the section.', {
      row: 'workflow_step_entity 9',
      name: 'Section Drafting',
      contextInputs: ['section_heading', 'interesting_facts'],
    });
    expect(types(conversion)).toEqual({ interesting_facts: 'string', section_heading: 'string' });
    expect(await render(conversion, { section_heading: 'The Feast', interesting_facts: 'oats were common' })).toEqual([
      [
        'user',
        'section_heading:\nThe Feast\n\ninteresting_facts:\noats were common\n\nUsing the inputs above, draft the section.',
      ],
    ]);
    const named = convertLegacyPrompt('Draft [section_heading].', {
      row: 'workflow_step_entity 9',
      contextInputs: ['section_heading'],
    });
    expect(named.parts).toHaveLength(1);
    expect(named.warnings).toEqual([]);
  });

  it('decodes literal \\n escapes (reported), normalizes CRLF and skips empty prompts with the reason', async () => {
    const escaped = convertLegacyPrompt('Line one\\nLine two\r\nLine three', { row: 'llm_prompt 90' });
    expect(escaped.warnings).toEqual(['llm_prompt 90: decoded 1 literal "\\n" escape into line breaks']);
    expect(await render(escaped, {})).toEqual([['user', 'Line one\nLine two\nLine three']]);

    const empty = convertLegacyRow({ id: 91, name: 'Empty', prompt_text: '  ', system_prompt: '', prompt_json: null });
    expect(empty).toMatchObject({
      ok: false,
      skip: 'prompt_json, system_prompt and prompt_text are all empty or missing',
    });
    expect(empty.warnings).toEqual([
      'llm_prompt 91: skipped: prompt_json, system_prompt and prompt_text are all empty or missing',
    ]);
    expect(convertLegacyPrompt('', { row: 'llm_action 5' }).warnings).toEqual([
      'llm_action 5: skipped: the text is empty or missing',
    ]);
  });
});

describe('every shape of real legacy prompts, converted, renders for inputs taken from a post', () => {
  // One post_development row as the legacy app held it (text fields), with the lists its planning
  // steps produced, and the slots a planning prompt filled in order.
  const post: Record<string, unknown> = {
    idea_seed: 'oatcakes',
    basic_idea: 'How oatcakes fed the Highlands',
    provisional_title: 'Oatcakes: a Highland staple',
    idea_scope: 'history and recipes',
    section_heading: 'On the girdle',
    section_description: 'how oatcakes were baked',
    ideas_to_include: 'girdles, peat fires',
    facts: ['oats grow in poor soil', 'girdles were iron plates'],
    ideas: ['baking', 'travel food'],
    sections: ['Origins', 'On the girdle'],
    input_text: 'Oatcakes were baked on a girdle.',
    input: 'Oatcakes were baked on a girdle.',
    PLACEHOLDER_1: 'How oatcakes fed the Highlands',
    PLACEHOLDER_2: 'Oatcakes were baked on a girdle.',
  };
  const shapes: [string, LegacyConversion][] = [
    [
      'E0 Jinja2',
      convertLegacyRow({
        id: 1,
        prompt_text: 'Expand {{ basic_idea }} ({{ idea_scope }}) titled {{ provisional_title }}.',
        parameters: null,
      }),
    ],
    [
      'role tags with labels',
      convertLegacyPrompt('[system: ROLE] You are a food historian. [user: FORMAT] Expand [data:idea_seed].', {
        row: 'llm_action 2',
      }),
    ],
    ['answer codes', convertLegacyRow({ id: 3, prompt_text: 'Give ideas as {IDEA01}, {IDEA02} for {basic_idea}.' })],
    ['positional slots', convertLegacyRow({ id: 4, prompt_text: 'Idea: [PLACEHOLDER]. Section: [PLACEHOLDER].' })],
    [
      'lower-case brackets',
      convertLegacyRow({ id: 5, prompt_text: 'Draft [section_heading]: [section_description]. Use [ideas_to_include].' }),
    ],
    [
      'typed lists',
      convertLegacyRow({
        id: 6,
        prompt_text: 'Facts: {{ facts }}; ideas: {{ideas}}; sections: {{sections|tojson}}',
        parameters: { facts: 'array', ideas: 'array', sections: 'array' },
      }),
    ],
    [
      'role columns',
      convertLegacyRow({ id: 7, system_prompt: 'You are a Scottish cultural expert.', prompt_text: 'Title for {basic_idea}.' }),
    ],
    [
      'prompt_json parts',
      convertLegacyRow({
        id: 8,
        prompt_json: [
          { type: 'system', tags: ['Role'], content: 'You write.' },
          { type: 'system', tags: ['Style'], content: 'Warmly.' },
          { type: 'data', field: 'input_text' },
          { type: 'user', tags: ['Operation'], content: 'Summarise.' },
        ],
      }),
    ],
    [
      'prompt_json metadata',
      convertLegacyRow({
        id: 9,
        prompt_json: { input_fields: ['basic_idea'], output_format: 'json_array' },
        prompt_text: 'List topics from the inputs above.',
      }),
    ],
    [
      'implicit context',
      convertLegacyPrompt('Draft the section from the inputs above.', {
        row: 'workflow_step_entity 10',
        contextInputs: ['section_heading', 'facts'],
        parameters: { facts: 'array' },
      }),
    ],
    ['escapes and CRLF', convertLegacyRow({ id: 11, prompt_text: 'Idea:\\n{idea_seed}\r\nEnd' })],
  ];
  it.each(shapes)('%s', async (_shape, conversion) => {
    expectRowNamed(conversion);
    const inputs = Object.fromEntries(conversion.variables.map((v) => [v.name, post[v.name]]));
    const messages = await render(conversion, inputs);
    expect(messages.length).toBeGreaterThan(0);
    for (const [, text] of messages) expect(text).not.toMatch(/\[data:|\{\{|\[system|\[user/);
  });
});
