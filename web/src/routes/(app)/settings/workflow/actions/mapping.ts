import type { Schemas } from '#lib/api/client.ts';

type Source = Schemas['WorkflowInputSource'];
type Field = Schemas['WorkflowField'];

/** One choice of source for a template variable, as the action editor's select offers it. */
export interface SourceChoice {
  value: string;
  label: string;
}

/** The sources a variable may take: post fields, section fields (section targets only), post attributes, fixed text. */
export function sourceChoices(fields: readonly Field[], sectionTarget: boolean): SourceChoice[] {
  const live = fields.filter((field) => !field.retired_at);
  return [
    ...live.filter((f) => f.scope === 'post').map((f) => ({ value: `post_field:${f.key}`, label: `Field: ${f.label}` })),
    ...(sectionTarget
      ? live.filter((f) => f.scope === 'section').map((f) => ({ value: `section_field:${f.key}`, label: `Section's ${f.label}` }))
      : []),
    { value: 'post:title', label: 'The post’s title' },
    { value: 'post:slug', label: 'The post’s slug' },
    { value: 'post:status', label: 'The post’s status' },
    { value: 'literal', label: 'Fixed text' },
  ];
}

/** A select's value and a fixed text as the mapping's source; empty leaves the variable unmapped. */
export function sourceOf(choice: string, text: string): Source | undefined {
  const [from, name = ''] = choice.split(':');
  if (from === 'post_field' || from === 'section_field') return { from, field: name };
  if (from === 'post' && (name === 'title' || name === 'slug' || name === 'status')) return { from, attribute: name };
  if (from === 'literal') return { from, value: text };
  return undefined;
}

/** What the preview puts where a post's value will go: the source named in brackets, so the prompt shows the places. */
export function marker(source: Source | undefined): string | undefined {
  if (!source) return undefined;
  if (source.from === 'literal') return source.value;
  if (source.from === 'post') return `[the post’s ${source.attribute}]`;
  return `[${source.from === 'section_field' ? 'section ' : ''}${source.field}]`;
}
