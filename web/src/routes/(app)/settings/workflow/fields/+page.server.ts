import { fail } from '@sveltejs/kit';
import { formText, load as read, submit } from '#lib/server/api.ts';
import type { Actions, PageServerLoad } from './$types';

const KINDS = ['text', 'markdown', 'list', 'json', 'image'] as const;
const SCOPES = ['post', 'section'] as const;
type Kind = (typeof KINDS)[number];
type Scope = (typeof SCOPES)[number];

export const load: PageServerLoad = async (event) => {
  event.depends('app:workflow-setup');
  const [stages, fields] = await Promise.all([
    read(event, (api) => api.GET('/api/v1/workflow/stages', { params: { query: { include_retired: 'true' } } })),
    read(event, (api) => api.GET('/api/v1/workflow/fields', { params: { query: { include_retired: 'true' } } })),
  ]);
  const asked = event.url.searchParams.get('substage') ?? '';
  const known = stages.items.some((stage) => stage.substages.some((substage) => substage.id === asked));
  return { stages: stages.items, fields: fields.items, substage: known ? asked : '' };
};

/** A JSON schema typed into a textarea: empty is none; text that is not a JSON object is refused here, beside the box. */
function schemaOf(text: string): { schema: Record<string, unknown> | null } | { problem: string } {
  if (text.trim() === '') return { schema: null };
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
      return { schema: parsed as Record<string, unknown> };
  } catch {
    // refused below
  }
  return { problem: 'Expected a JSON object (a JSON Schema), or nothing.' };
}

const refused = (form: string, field: string, message: string, values: Record<string, string>) =>
  fail(422, {
    problem: { detail: message, fields: { [field]: message } },
    values: { ...values, form } as Record<string, string>,
  });

export const actions: Actions = {
  create: async (event) => {
    const form = await formText(event);
    const values = {
      form: 'new-field',
      key: form.get('key'),
      label: form.get('label'),
      description: form.get('description'),
      kind: form.get('kind'),
      scope: form.get('scope'),
      substage_id: form.get('substage_id'),
      position: form.get('position'),
      json_schema: form.get('json_schema'),
      required: form.get('required'),
    };
    const schema = schemaOf(values.kind === 'json' ? values.json_schema : '');
    if ('problem' in schema) return refused('new-field', 'json_schema', schema.problem, values);
    const result = await submit(
      event,
      (api) =>
        api.POST('/api/v1/workflow/fields', {
          body: {
            key: values.key,
            label: values.label,
            kind: (KINDS as readonly string[]).includes(values.kind) ? (values.kind as Kind) : 'text',
            scope: (SCOPES as readonly string[]).includes(values.scope) ? (values.scope as Scope) : 'post',
            substage_id: values.substage_id,
            required: values.required === 'on',
            ...(values.description ? { description: values.description } : {}),
            ...(values.position ? { position: Number(values.position) } : {}),
            ...(schema.schema ? { json_schema: schema.schema } : {}),
          },
        }),
      values,
    );
    return 'ok' in result ? { saved: 'new-field' } : result;
  },
  update: async (event) => {
    const form = await formText(event);
    const id = form.get('id');
    const key = `field-${id}`;
    const retired = form.get('retired');
    const values = { form: key, label: form.get('label'), json_schema: form.get('json_schema') };
    const schema = schemaOf(values.json_schema);
    if ('problem' in schema) return refused(key, 'json_schema', schema.problem, values);
    const result = await submit(
      event,
      (api) =>
        api.PATCH('/api/v1/workflow/fields/{id}', {
          params: { path: { id } },
          body: retired
            ? { retired: retired === 'true' }
            : {
                label: values.label,
                description: form.get('description'),
                substage_id: form.get('substage_id'),
                position: Number(form.get('position')),
                required: form.get('required') === 'on',
                ...(form.get('kind') === 'json' ? { json_schema: schema.schema } : {}),
              },
        }),
      values,
    );
    return 'ok' in result ? { saved: key } : result;
  },
};
