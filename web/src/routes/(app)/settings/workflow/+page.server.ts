import { formText, load as read, submit } from '#lib/server/api.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  event.depends('app:workflow-setup');
  const stages = await read(event, (api) =>
    api.GET('/api/v1/workflow/stages', { params: { query: { include_retired: 'true' } } }),
  );
  return { stages: stages.items };
};

/** A whole number typed into a form, or undefined when the field was left empty (the API names a bad one). */
function position(text: string): number | undefined {
  return text.trim() === '' ? undefined : Number(text);
}

export const actions: Actions = {
  /** Renames or moves a stage. */
  stage: async (event) => {
    const form = await formText(event);
    const id = form.get('id');
    const label = form.get('label');
    const at = position(form.get('position'));
    const result = await submit(
      event,
      (api) =>
        api.PATCH('/api/v1/workflow/stages/{id}', {
          params: { path: { id } },
          body: { ...(label ? { label } : {}), ...(at !== undefined ? { position: at } : {}) },
        }),
      { form: `stage-${id}`, label },
    );
    return 'ok' in result ? { saved: `stage-${id}` } : result;
  },
  /** Renames, moves, retires or brings back a substage. */
  substage: async (event) => {
    const form = await formText(event);
    const id = form.get('id');
    const label = form.get('label');
    const description = form.get('description');
    const retired = form.get('retired');
    const at = position(form.get('position'));
    const result = await submit(
      event,
      (api) =>
        api.PATCH('/api/v1/workflow/substages/{id}', {
          params: { path: { id } },
          body: {
            ...(label ? { label } : {}),
            ...(form.get('has_description') ? { description } : {}),
            ...(at !== undefined ? { position: at } : {}),
            ...(retired ? { retired: retired === 'true' } : {}),
          },
        }),
      { form: `substage-${id}`, label, description },
    );
    return 'ok' in result ? { saved: `substage-${id}` } : result;
  },
  /** Adds a substage to a stage. */
  addSubstage: async (event) => {
    const form = await formText(event);
    const stage = form.get('stage_id');
    const values = { form: `add-${stage}`, key: form.get('key'), label: form.get('label'), description: form.get('description') };
    const result = await submit(
      event,
      (api) =>
        api.POST('/api/v1/workflow/substages', {
          body: {
            stage_id: stage,
            key: values.key,
            label: values.label,
            ...(values.description ? { description: values.description } : {}),
          },
        }),
      values,
    );
    return 'ok' in result ? { saved: `add-${stage}` } : result;
  },
};
