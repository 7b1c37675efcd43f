import { fail, redirect } from '@sveltejs/kit';
import { formText, load as read, submit } from '#lib/server/api.ts';
import { gatewayClient } from '#lib/server/gateway.ts';
import type { Actions, PageServerLoad } from './$types';

/** `?from=` / `?to=` of the diff: a version number or `draft`. */
function side(text: string | null): string | undefined {
  return text && /^(draft|[1-9][0-9]{0,8})$/.test(text) ? text : undefined;
}

export const load: PageServerLoad = async (event) => {
  event.depends('app:templates');
  const path = { id: event.params.id };
  const [template, versions, parts] = await Promise.all([
    read(event, (api) => api.GET('/api/v1/templates/{id}', { params: { path } })),
    read(event, (api) => api.GET('/api/v1/templates/{id}/versions', { params: { path, query: { limit: 100 } } })),
    read(event, (api) => api.GET('/api/v1/parts', { params: { query: { limit: 200 } } })),
  ]);
  const from = side(event.url.searchParams.get('from'));
  const to = side(event.url.searchParams.get('to'));
  const diff =
    from || to || template.latest_version !== null
      ? await read(event, (api) =>
          api.GET('/api/v1/templates/{id}/diff', {
            params: { path, query: { ...(from ? { from } : {}), ...(to ? { to } : {}) } },
          }),
        )
      : null;
  return { template, versions: versions.items, parts: parts.items, diff };
};

export const actions: Actions = {
  publish: async (event) => {
    const form = await formText(event);
    const values = { form: 'publish', message: form.get('message') };
    const result = await submit(
      event,
      (api) =>
        api.POST('/api/v1/templates/{id}/publish', {
          params: { path: { id: event.params.id } },
          body: { message: values.message },
        }),
      values,
    );
    if (!('ok' in result)) return result;
    redirect(303, `/llm/templates/${event.params.id}?published=${result.data?.version ?? ''}#versions-heading`);
  },
  /**
   * Set or move a label. A protected one (production, or one an admin protected) is refused with 428
   * until confirmed: then the dry run's diff and impact go back to the page with its `confirm` token,
   * and the reader confirms in a dialog, which posts here again with the token.
   */
  label: async (event) => {
    const form = await formText(event);
    const values = { form: 'label', label: form.get('label'), version: form.get('version') };
    const confirm = form.get('confirm');
    const params = { path: { id: event.params.id, label: values.label } };
    const version = Number(values.version);
    const result = await submit(
      event,
      (api) =>
        api.PUT('/api/v1/templates/{id}/labels/{label}', {
          params,
          body: { version, dry_run: false, ...(confirm ? { confirm } : {}) },
        }),
      values,
    );
    if ('ok' in result) return { labelled: values.label, version };
    if (result.status !== 428) return result;
    const dry = await gatewayClient(event).PUT('/api/v1/templates/{id}/labels/{label}', {
      params,
      body: { version, dry_run: true },
    });
    if (!dry.data?.confirm) return result;
    return fail(428, {
      values,
      problem: result.data.problem,
      confirm: {
        label: values.label,
        version,
        token: dry.data.confirm,
        from_version: dry.data.from_version,
        impact: dry.data.impact,
      },
    });
  },
};
