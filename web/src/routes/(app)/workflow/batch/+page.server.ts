import { redirect } from '@sveltejs/kit';
import { formText, load as read, submit } from '#lib/server/api.ts';
import { showProblem } from '#lib/problem.ts';
import type { Actions, PageServerLoad } from './$types';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * One action over many posts. The batch lives in the address — the action, the posts and the time its
 * first run was made — so a reload, the back button or a shared link shows the same progress and review.
 */
export const load: PageServerLoad = async (event) => {
  event.depends('app:post');
  const params = event.url.searchParams;
  const actionId = params.get('action') ?? '';
  const postIds = params
    .getAll('post')
    .filter((id) => UUID.test(id))
    .slice(0, 200);
  const since = params.get('since') ?? '';
  const [actions, posts, stages, fields] = await Promise.all([
    read(event, (api) => api.GET('/api/v1/workflow/actions')),
    read(event, (api) => api.GET('/api/v1/workflow/posts', { params: { query: { limit: 200 } } })),
    read(event, (api) => api.GET('/api/v1/workflow/stages')),
    read(event, (api) => api.GET('/api/v1/workflow/fields')),
  ]);
  const action = actions.items.find((candidate) => candidate.id === actionId);
  const started = Boolean(action && postIds.length > 0 && !Number.isNaN(Date.parse(since)));
  const batch = started
    ? await Promise.all(
        postIds.map(async (id) => {
          const path = { params: { path: { id } } };
          const [post, runs] = await Promise.all([
            read(event, (api) => api.GET('/api/v1/workflow/posts/{id}', path)),
            read(event, (api) => api.GET('/api/v1/workflow/posts/{id}/runs', path)),
          ]);
          const mine = runs.items.filter((run) => run.action_id === actionId && Date.parse(run.created_at) >= Date.parse(since));
          return { post, runs: mine };
        }),
      )
    : undefined;
  return {
    actions: actions.items,
    posts: posts.items,
    stages: stages.items,
    fields: fields.items,
    chosen: { action: actionId, posts: postIds },
    batch,
  };
};

export const actions: Actions = {
  /** Runs the action on each post ticked (one request each, keyed by the form's batch id), then shows the batch. */
  start: async (event) => {
    const form = await formText(event);
    const actionId = form.get('action_id');
    const batch = form.get('batch');
    const postIds = form.all('post_id');
    if (!actionId || postIds.length === 0)
      return {
        problem: { detail: 'Choose an action and at least one post.', fields: {} },
        values: { action_id: actionId },
      };
    let since: string | undefined;
    const problems: string[] = [];
    for (const postId of postIds) {
      const result = await submit(event, (api) =>
        api.POST('/api/v1/workflow/posts/{id}/actions/{action_id}/runs', {
          params: { path: { id: postId, action_id: actionId }, header: { 'idempotency-key': `${batch}:${postId}` } },
          body: {},
        }),
      );
      if (!('ok' in result)) {
        problems.push(showProblem(result.data.problem, 'refused').detail);
        continue;
      }
      for (const run of result.data?.runs ?? []) if (!since || run.created_at < since) since = run.created_at;
    }
    if (!since)
      return { problem: { detail: `No run started: ${problems.join(' ')}`, fields: {} }, values: { action_id: actionId } };
    const query = new URLSearchParams([['action', actionId], ['since', since], ...postIds.map((id) => ['post', id])]);
    if (problems.length > 0) query.set('refused', String(problems.length));
    redirect(303, `/workflow/batch?${query.toString()}`);
  },
};
