import { redirect } from '@sveltejs/kit';
import { formText, load as read, submit } from '#lib/server/api.ts';
import type { Actions, PageServerLoad } from './$types';

const STATUSES = ['draft', 'in_process', 'published', 'archived'] as const;
type Status = (typeof STATUSES)[number];

function isStatus(value: string | null): value is Status {
  return (STATUSES as readonly (string | null)[]).includes(value);
}

export const load: PageServerLoad = async (event) => {
  event.depends('app:posts');
  const params = event.url.searchParams;
  const q = params.get('q')?.trim() || undefined;
  const statusText = params.get('status');
  const status = isStatus(statusText) ? statusText : undefined;
  const cursor = params.get('cursor') || undefined;
  const view = params.get('view') === 'list' ? 'list' : 'board';
  const query = {
    limit: view === 'board' ? 200 : 50,
    ...(cursor ? { cursor } : {}),
    ...(q ? { q } : {}),
    ...(status ? { status } : {}),
  };
  const [posts, stages] = await Promise.all([
    read(event, (api) => api.GET('/api/v1/workflow/posts', { params: { query } })),
    read(event, (api) => api.GET('/api/v1/workflow/stages')),
  ]);
  return { posts, stages: stages.items, view, filters: { q: q ?? '', status: status ?? '' } } as const;
};

export const actions: Actions = {
  /** A post from an idea: the post, its action choices copied from another post if asked, then its idea as the first revision of `basic_idea`. */
  create: async (event) => {
    const form = await formText(event);
    const values = { title: form.get('title'), idea: form.get('idea'), like: form.get('like') };
    const created = await submit(event, (api) => api.POST('/api/v1/workflow/posts', { body: { title: values.title } }), values);
    if (!('ok' in created)) return created;
    const id = created.data?.id ?? '';
    if (values.like) {
      // Started like another post: its action choices (hidden actions, overridden inputs and targets) are copied.
      const copied = await submit(
        event,
        (api) =>
          api.POST('/api/v1/workflow/posts/{id}/actions/copy', {
            params: { path: { id: values.like } },
            body: { to_post_id: id },
          }),
        values,
      );
      if (!('ok' in copied)) redirect(303, `/workflow/posts/${id}?choices=unsaved`);
    }
    if (values.idea.trim()) {
      const written = await submit(
        event,
        (api) =>
          api.PUT('/api/v1/workflow/posts/{id}/values/{field_key}', {
            params: { path: { id, field_key: 'basic_idea' } },
            body: { value: values.idea, base_revision_id: null },
          }),
        values,
      );
      // The post exists either way: its page says what happened to the idea.
      if (!('ok' in written)) redirect(303, `/workflow/posts/${id}?idea=unsaved`);
    }
    redirect(303, `/workflow/posts/${id}`);
  },
};
