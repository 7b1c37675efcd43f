import { fail } from '@sveltejs/kit';
import { formText, load as read, submit } from '#lib/server/api.ts';
import { runRequest } from '#lib/tasks/run-request.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  event.depends('app:run');
  const [templates, models, presets] = await Promise.all([
    read(event, (api) => api.GET('/api/v1/templates', { params: { query: { limit: 200 } } })),
    read(event, (api) => api.GET('/api/v1/models', { params: { query: { limit: 200, modality: 'chat' } } })),
    read(event, (api) => api.GET('/api/v1/presets', { params: { query: { limit: 200 } } })),
  ]);
  return {
    templates: templates.items,
    models: models.items.filter((model) => model.enabled),
    presets: presets.items.filter((preset) => preset.enabled && !preset.archived_at),
    chosen: { template_id: event.url.searchParams.get('template_id') ?? '' },
  };
};

export const actions: Actions = {
  run: async (event) => {
    const form = await formText(event);
    const built = runRequest(form);
    if ('problem' in built) return fail(400, { problem: built.problem, values: built.values });
    const result = await submit(event, (api) => api.POST('/api/v1/tasks', { body: built.body }), built.values);
    if (!('ok' in result)) return result;
    return { run: result.data, values: built.values };
  },
  preview: async (event) => {
    const form = await formText(event);
    const built = runRequest(form);
    if ('problem' in built) return fail(400, { problem: built.problem, values: built.values });
    const body = built.body;
    if (!body.template_id) {
      // Literal ad-hoc messages are sent as written: the preview is the messages themselves.
      const messages = (body.messages ?? []).map((message) => ({ role: message.role, text: message.content }));
      return { preview: { ok: true, messages, problems: [], tokens: null }, values: built.values };
    }
    const id = body.template_id;
    // No version or label: the latest published version, as a task takes it (a preview would take the draft).
    let version = body.version;
    if (version === undefined && body.label === undefined) {
      const template = await submit(
        event,
        (api) => api.GET('/api/v1/templates/{id}', { params: { path: { id } } }),
        built.values,
      );
      if (!('ok' in template)) return template;
      version = template.data?.latest_version ?? undefined;
    }
    const result = await submit(
      event,
      (api) =>
        api.POST('/api/v1/templates/{id}/preview', {
          params: { path: { id } },
          body: {
            inputs: body.inputs ?? {},
            ...(version !== undefined ? { version } : body.label !== undefined ? { label: body.label } : {}),
          },
        }),
      built.values,
    );
    if (!('ok' in result)) return result;
    const rendered = result.data;
    return {
      preview: {
        ok: rendered?.ok ?? false,
        messages: (rendered?.messages ?? []).map((message) => ({ role: message.role, text: message.text })),
        problems: (rendered?.problems ?? []).map((problem) => problem.message),
        tokens: rendered?.token_estimate.total ?? null,
      },
      values: built.values,
    };
  },
};
