import { fail } from '@sveltejs/kit';
import { formText, load as read, submit } from '#lib/server/api.ts';
import type { Schemas } from '#lib/api/client.ts';
import type { Actions, PageServerLoad } from './$types';
import { pinFields } from './pins.ts';

type Mapping = Schemas['WorkflowInputMapping'];

export const load: PageServerLoad = async (event) => {
  event.depends('app:workflow-setup');
  const [stages, fields, actions, templates, models, presets] = await Promise.all([
    read(event, (api) => api.GET('/api/v1/workflow/stages', { params: { query: { include_retired: 'true' } } })),
    read(event, (api) => api.GET('/api/v1/workflow/fields')),
    read(event, (api) => api.GET('/api/v1/workflow/actions', { params: { query: { include_retired: 'true' } } })),
    read(event, (api) => api.GET('/api/v1/templates', { params: { query: { limit: 200 } } })),
    read(event, (api) => api.GET('/api/v1/models', { params: { query: { limit: 200, enabled: 'true' } } })),
    read(event, (api) => api.GET('/api/v1/presets', { params: { query: { limit: 200 } } })),
  ]);
  const asked = event.url.searchParams.get('substage') ?? '';
  const known = stages.items.some((stage) => stage.substages.some((substage) => substage.id === asked));
  return {
    stages: stages.items,
    fields: fields.items,
    actions: actions.items,
    templates: templates.items,
    models: models.items.filter((model) => model.modality === 'chat'),
    presets: presets.items,
    substage: known ? asked : '',
  };
};

/** The input mapping the editor sends as JSON text; anything else is refused beside the mapping. */
function mappingOf(text: string): Mapping | undefined {
  try {
    const parsed: unknown = JSON.parse(text || '{}');
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed as Mapping;
  } catch {
    // refused by the caller
  }
  return undefined;
}

const MODES = ['review', 'apply'] as const;
const modeOf = (text: string) => (text === 'apply' ? 'apply' : 'review');

export const actions: Actions = {
  create: async (event) => {
    const form = await formText(event);
    const values = {
      form: 'new-action',
      substage_id: form.get('substage_id'),
      label: form.get('label'),
      template_id: form.get('template_id'),
      template_ref: form.get('template_ref'),
      model_id: form.get('model_id'),
      preset_id: form.get('preset_id'),
      inputs: form.get('inputs'),
      target_field: form.get('target_field'),
      mode: form.get('mode'),
    };
    const inputs = mappingOf(values.inputs);
    if (!inputs) return fail(422, { problem: { detail: 'The input mapping is not a JSON object.', fields: {} }, values });
    const result = await submit(
      event,
      (api) =>
        api.POST('/api/v1/workflow/actions', {
          body: {
            substage_id: values.substage_id,
            label: values.label,
            template_id: values.template_id,
            ...pinFields(values.template_ref),
            ...(values.model_id ? { model_id: values.model_id } : {}),
            ...(values.preset_id ? { preset_id: values.preset_id } : {}),
            inputs,
            target_field: values.target_field,
            mode: modeOf(values.mode),
          },
        }),
      values,
    );
    return 'ok' in result ? { saved: 'new-action', created: result.data?.label } : result;
  },
  update: async (event) => {
    const form = await formText(event);
    const id = form.get('id');
    const key = `action-${id}`;
    const retired = form.get('retired');
    const values = { form: key, label: form.get('label'), inputs: form.get('inputs') };
    const inputs = retired ? {} : mappingOf(values.inputs);
    if (!inputs)
      return fail(422, {
        problem: { detail: 'The input mapping is not a JSON object.', fields: { inputs: 'Expected a JSON object.' } },
        values,
      });
    const result = await submit(
      event,
      (api) =>
        api.PATCH('/api/v1/workflow/actions/{id}', {
          params: { path: { id } },
          body: retired
            ? { retired: retired === 'true' }
            : {
                label: values.label,
                position: Number(form.get('position')),
                mode: (MODES as readonly string[]).includes(form.get('mode')) ? modeOf(form.get('mode')) : 'review',
                inputs,
                // The pin, the model and the preset as the form shows them: empty follows the latest
                // published version, the template's model, no preset.
                template_version: null,
                template_label: null,
                ...pinFields(form.get('template_ref')),
                model_id: form.get('model_id') || null,
                preset_id: form.get('preset_id') || null,
              },
        }),
      values,
    );
    return 'ok' in result ? { saved: key } : result;
  },
};
