import { redirect } from '@sveltejs/kit';
import { formText, load as read, submit } from '#lib/server/api.ts';
import { tagList } from '../tags.ts';
import type { Actions, PageServerLoad } from './$types';

/** `?from=` / `?to=` of the diff: a version number or `draft`. */
function side(text: string | null): string | undefined {
  return text && /^(draft|[1-9][0-9]{0,8})$/.test(text) ? text : undefined;
}

export const load: PageServerLoad = async (event) => {
  event.depends('app:parts');
  const id = event.params.id;
  const path = { id };
  const [part, versions, labels, impact, kinds] = await Promise.all([
    read(event, (api) => api.GET('/api/v1/parts/{id}', { params: { path } })),
    read(event, (api) => api.GET('/api/v1/parts/{id}/versions', { params: { path, query: { limit: 100 } } })),
    read(event, (api) => api.GET('/api/v1/parts/{id}/labels', { params: { path } })),
    read(event, (api) => api.GET('/api/v1/parts/{id}/impact', { params: { path } })),
    read(event, (api) => api.GET('/api/v1/part-kinds')),
  ]);
  const from = side(event.url.searchParams.get('from'));
  const to = side(event.url.searchParams.get('to'));
  // The diff shown: what the reader asked for, else the draft against the latest version.
  const diff =
    from || to || part.latest_version !== null
      ? await read(event, (api) =>
          api.GET('/api/v1/parts/{id}/diff', {
            params: { path, query: { ...(from ? { from } : {}), ...(to ? { to } : {}) } },
          }),
        )
      : null;
  return { part, versions: versions.items, labels, impact, kinds: kinds.items, diff };
};

export const actions: Actions = {
  save: async (event) => {
    const form = await formText(event);
    const values = {
      form: 'save',
      kind: form.get('kind'),
      name: form.get('name'),
      description: form.get('description'),
      tags: form.get('tags'),
      content: form.get('content'),
    };
    const result = await submit(
      event,
      (api) =>
        api.PATCH('/api/v1/parts/{id}', {
          params: { path: { id: event.params.id } },
          body: {
            kind: values.kind,
            name: values.name,
            description: values.description,
            content: values.content,
            tags: tagList(values.tags),
          },
        }),
      values,
    );
    if (!('ok' in result)) return result;
    return { saved: true };
  },
  publish: async (event) => {
    const form = await formText(event);
    const values = { form: 'publish', message: form.get('message') };
    const result = await submit(
      event,
      (api) =>
        api.POST('/api/v1/parts/{id}/publish', { params: { path: { id: event.params.id } }, body: { message: values.message } }),
      values,
    );
    if (!('ok' in result)) return result;
    redirect(303, `/llm/parts/${event.params.id}?published=${result.data?.version ?? ''}`);
  },
  label: async (event) => {
    const form = await formText(event);
    const values = { form: 'label', label: form.get('label'), version: form.get('version') };
    const result = await submit(
      event,
      (api) =>
        api.PUT('/api/v1/parts/{id}/labels/{label}', {
          params: { path: { id: event.params.id, label: values.label } },
          body: { version: Number(values.version) },
        }),
      values,
    );
    if (!('ok' in result)) return result;
    return { labelled: values.label };
  },
  unlabel: async (event) => {
    const form = await formText(event);
    const values = { form: 'unlabel', label: form.get('label') };
    const result = await submit(
      event,
      (api) =>
        api.DELETE('/api/v1/parts/{id}/labels/{label}', { params: { path: { id: event.params.id, label: values.label } } }),
      values,
    );
    if (!('ok' in result)) return result;
    return { unlabelled: values.label };
  },
};
