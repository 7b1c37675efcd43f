import type { Schemas } from '#lib/api/client.ts';

type Action = Schemas['PostAction'];
type Post = Schemas['PostDetail'];

/** One template variable as the action will fill it from this post, and where it comes from. */
export interface ActionInput {
  variable: string;
  source: string;
  /** The value as the run would take it now (a section field: the first section's; each run takes its own). */
  value: unknown;
  perSection: boolean;
}

/** The action's inputs taken from the post, as the workflow service takes them when the run starts. */
export function inputsOf(action: Action, post: Post): ActionInput[] {
  return Object.entries(action.inputs).map(([variable, source]) => {
    switch (source.from) {
      case 'post_field':
        return {
          variable,
          source: `field ${source.field}`,
          value: post.values.find((value) => value.field_key === source.field && value.section_id === null)?.value ?? null,
          perSection: false,
        };
      case 'section_field':
        return {
          variable,
          source: `each section's ${source.field} (the first section's shown)`,
          value:
            post.values.find((value) => value.field_key === source.field && value.section_id === post.sections[0]?.id)?.value ??
            null,
          perSection: true,
        };
      case 'post':
        return { variable, source: `the post's ${source.attribute}`, value: post[source.attribute], perSection: false };
      default:
        return { variable, source: 'fixed text', value: source.value, perSection: false };
    }
  });
}

/** The inputs as the prompt service's preview takes them. */
export function previewInputs(inputs: readonly ActionInput[]): Record<string, unknown> {
  return Object.fromEntries(inputs.map((input) => [input.variable, input.value]));
}

/** An input's value as an editor adjusts it: text as it is, a list or JSON value as JSON. */
export function inputText(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value, null, 2);
}

/** The value an adjusted input's text gives: text for a text input, JSON for a list or JSON one (else the text). */
export function adjustedValue(original: unknown, text: string): unknown {
  if (typeof original === 'string' || original === null || original === undefined) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
