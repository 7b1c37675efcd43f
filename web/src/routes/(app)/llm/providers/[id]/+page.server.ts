import { fail } from '@sveltejs/kit';
import { formText, load as read, submit, type Refusal } from '#lib/server/api.ts';
import { providerLimits } from '#lib/server/provider-form.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  event.depends('app:providers');
  const path = { id: event.params.id };
  const provider = await read(event, (api) => api.GET('/api/v1/providers/{id}', { params: { path } }));
  const models = await read(event, (api) =>
    api.GET('/api/v1/models', { params: { query: { provider_id: event.params.id, limit: 200 } } }),
  );
  return { provider, models };
};

export const actions: Actions = {
  test: async (event) => {
    const result = await submit(event, (api) =>
      api.POST('/api/v1/providers/{id}/test', { params: { path: { id: event.params.id } } }),
    );
    if (!('ok' in result)) return result;
    return { test: result.data };
  },
  toggle: async (event) => {
    const form = await formText(event);
    const enabled = form.get('enabled') === 'true';
    const result = await submit(event, (api) =>
      api.PATCH('/api/v1/providers/{id}', { params: { path: { id: event.params.id } }, body: { enabled } }),
    );
    if (!('ok' in result)) return result;
    return { saved: enabled ? 'Enabled: tasks may use it again.' : 'Disabled: no new task uses it.' };
  },
  key: async (event) => {
    const form = await formText(event);
    const key = form.get('api_key');
    const result = await submit(event, (api) =>
      api.PATCH('/api/v1/providers/{id}', { params: { path: { id: event.params.id } }, body: { api_key: key } }),
    );
    if (!('ok' in result)) return result;
    return { saved: 'The key is replaced.' };
  },
  limits: async (event) => {
    const form = await formText(event);
    const values = {
      max_concurrency: form.get('max_concurrency'),
      rpm_limit: form.get('rpm_limit'),
      monthly_spend_cap_usd: form.get('monthly_spend_cap_usd'),
    };
    const result = await submit(
      event,
      (api) =>
        api.PATCH('/api/v1/providers/{id}', {
          params: { path: { id: event.params.id } },
          body: providerLimits(form, { omitEmpty: false }) as never,
        }),
      values,
    );
    if (!('ok' in result)) return result;
    return { saved: 'Limits saved.' };
  },
  discover: async (event) => {
    const result = await submit(event, (api) =>
      api.GET('/api/v1/providers/{id}/remote-models', { params: { path: { id: event.params.id } } }),
    );
    if (!('ok' in result)) return result;
    return { remote: result.data?.items ?? [] };
  },
  import: async (event) => {
    const form = await formText(event);
    const chosen = form.all('model');
    if (chosen.length === 0) {
      return fail<Refusal>(422, { problem: { detail: 'Choose at least one model to import.', fields: {} }, values: {} });
    }
    const result = await submit(event, (api) =>
      api.POST('/api/v1/providers/{id}/models/import', {
        params: { path: { id: event.params.id } },
        body: { models: chosen.map((provider_model_id) => ({ provider_model_id })) },
      }),
    );
    if (!('ok' in result)) return result;
    const count = result.data?.items.length ?? 0;
    return { saved: `${count} model${count === 1 ? '' : 's'} imported.` };
  },
};
