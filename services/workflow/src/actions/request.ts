import type { Queryable } from '@llmops/kit/db';
import type { FieldProblem } from '@llmops/kit/problem';
import type { ActionRow, InputMapping } from '../db/actions.ts';
import * as fields from '../db/fields.ts';
import type { FieldRow } from '../db/fields.ts';
import type { PostRow } from '../db/posts.ts';
import * as values from '../db/values.ts';

/** What one run read: each input's value with the revision it came from. */
export type ReadInputs = Record<string, { value: unknown; revision_id: string | null }>;

/** A list, as a task is asked for it: strict JSON-schema modes want an object at the root (docs/workflow.md#structured-output). */
export const LIST_SCHEMA = {
  type: 'object',
  properties: { items: { type: 'array', items: { type: 'string' } } },
  required: ['items'],
  additionalProperties: false,
} as const;

/** Whether a field of this kind asks its tasks for a response format (JSON): list and json fields. */
export function takesFormat(kind: FieldRow['kind']): boolean {
  return kind === 'list' || kind === 'json';
}

/** The response format a target field asks for: JSON of its shape for list and json fields, else none. */
export function responseFormatFor(field: Pick<FieldRow, 'key' | 'kind' | 'json_schema'>): Record<string, unknown> | undefined {
  if (field.kind === 'list') return { type: 'json_schema', name: field.key, schema: LIST_SCHEMA, strict: true };
  if (field.kind === 'json')
    return field.json_schema ? { type: 'json_schema', name: field.key, schema: field.json_schema } : { type: 'json_object' };
  return undefined;
}

/** The value a task's output gives a field: text as it is, a list from `{"items": [...]}` (or its lines), json parsed. */
export function valueFromOutput(field: Pick<FieldRow, 'kind'>, output: string): { value: unknown; problem?: string } {
  if (field.kind === 'text' || field.kind === 'markdown') return { value: output };
  if (field.kind === 'image')
    return { value: null, problem: 'the task made text, not an image: an image field takes an image model' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(output);
  } catch {
    // A model without structured output answers a list as lines ("- tea", "2. scones"): one item each.
    if (field.kind === 'list') return { value: linesOf(output) };
    return { value: output, problem: 'the output is not JSON' };
  }
  if (field.kind === 'list') {
    const items = (parsed as { items?: unknown } | null)?.items;
    return Array.isArray(items) ? { value: items } : { value: parsed, problem: 'expected {"items": [...]}' };
  }
  return { value: parsed };
}

/** What an image task gives an image field: its images, and the attempts that made them. */
export interface ImageTaskOutput {
  kind: 'chat' | 'image';
  images: readonly { index: number; url: string; revised_prompt: string | null }[];
  attempts: readonly { status: string; request: Record<string, unknown> | null }[];
}

/**
 * The value an image task gives an image field: its first image by reference (the runner keeps the
 * bytes; `url` is the image's path in the public API), the prompt the image model was sent, and as the
 * caption the model's own description of what it drew (its revised prompt) when it gives one, for the
 * editor to review like any suggestion. A text task, or one that made no image, is a problem.
 */
export function valueFromImageTask(task: ImageTaskOutput): { value: unknown; problem?: string } {
  if (task.kind !== 'image')
    return { value: null, problem: 'the task made text, not an image: an image field takes an image model' };
  const image = [...task.images].sort((a, b) => a.index - b.index)[0];
  if (!image) return { value: null, problem: 'the image task made no image' };
  const made = [...task.attempts].reverse().find((a) => a.status === 'succeeded');
  const prompt = made?.request?.prompt;
  return {
    value: {
      url: image.url,
      prompt: typeof prompt === 'string' ? prompt : null,
      caption: image.revised_prompt,
    },
  };
}

/** The non-empty lines of a text, without list markers (`-`, `*`, `•`, `1.`, `2)`). */
export function linesOf(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(/^\s*(?:[-*•]|\d+[.)])\s+/, '').trim())
    .filter((line) => line !== '');
}

/** How a value is put into a template variable: text as it is, a list or JSON as JSON text. */
function asInput(value: unknown): unknown {
  return value === null || value === undefined ? '' : value;
}

/**
 * Reads the inputs of one run (for the post, or for one section of it) with the revision each came
 * from. A field the mapping names that does not exist is a problem naming the variable.
 */
export async function readInputs(
  db: Queryable,
  mapping: InputMapping,
  post: PostRow,
  sectionId: string | null,
): Promise<{ inputs: ReadInputs; problems: FieldProblem[] }> {
  const inputs: ReadInputs = {};
  const problems: FieldProblem[] = [];
  for (const [name, source] of Object.entries(mapping)) {
    if (source.from === 'literal') inputs[name] = { value: source.value, revision_id: null };
    else if (source.from === 'post') inputs[name] = { value: post[source.attribute], revision_id: null };
    else {
      const field = await fields.getByKey(db, source.field);
      if (!field) {
        problems.push({ field: `inputs.${name}`, message: `no field ${source.field}` });
        continue;
      }
      const wantSection = source.from === 'section_field';
      if ((field.scope === 'section') !== wantSection) {
        problems.push({ field: `inputs.${name}`, message: `${source.field} is a ${field.scope} field` });
        continue;
      }
      if (wantSection && sectionId === null) {
        problems.push({
          field: `inputs.${name}`,
          message: 'a section field is read only by actions whose target is a section field',
        });
        continue;
      }
      const current = await values.current(db, { postId: post.id, sectionId: wantSection ? sectionId : null, fieldId: field.id });
      inputs[name] = { value: asInput(current?.value ?? null), revision_id: current?.id ?? null };
    }
  }
  return { inputs, problems };
}

/** The task request of one run (TaskCreateSchema of the runner's contract): ids only in the correlation. */
export function taskRequest(
  action: ActionRow,
  target: FieldRow,
  run: { id: string; postId: string; sectionId: string | null; inputs: ReadInputs },
  { structured = true }: { structured?: boolean } = {},
): Record<string, unknown> {
  const responseFormat = structured ? responseFormatFor(target) : undefined;
  // An image field is filled by one image: a model that writes text makes the runner reject the request.
  const image = target.kind === 'image' ? { image: { n: 1 } } : {};
  return {
    template_id: action.template_id,
    ...(action.template_version !== null ? { version: action.template_version } : {}),
    ...(action.template_label !== null ? { label: action.template_label } : {}),
    ...(action.model_id ? { model_id: action.model_id } : {}),
    ...(action.preset_id ? { preset_id: action.preset_id } : {}),
    inputs: Object.fromEntries(Object.entries(run.inputs).map(([name, input]) => [name, input.value])),
    ...(responseFormat ? { parameters: { response_format: responseFormat } } : {}),
    ...image,
    correlation: { post_id: run.postId, section_id: run.sectionId, action_id: action.id, action_run_id: run.id },
  };
}
