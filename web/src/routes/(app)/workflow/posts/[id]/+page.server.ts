import { formText, load as read, submit } from '#lib/server/api.ts';
import { showProblem } from '#lib/problem.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  const id = event.params.id;
  event.depends('app:post');
  const path = { params: { path: { id } } };
  const [post, stages, fields, actions, runs] = await Promise.all([
    read(event, (api) => api.GET('/api/v1/workflow/posts/{id}', path)),
    read(event, (api) => api.GET('/api/v1/workflow/stages')),
    read(event, (api) => api.GET('/api/v1/workflow/fields')),
    read(event, (api) => api.GET('/api/v1/workflow/posts/{id}/available-actions', path)),
    read(event, (api) => api.GET('/api/v1/workflow/posts/{id}/runs', path)),
  ]);
  // The substage shown: the one asked for in the address, else the post's own.
  const asked = event.url.searchParams.get('substage');
  const known = stages.items.some((stage) => stage.substages.some((substage) => substage.id === asked));
  return {
    post,
    stages: stages.items,
    fields: fields.items,
    actions: actions.items,
    runs: runs.items,
    shown: known && asked ? asked : post.substage_id,
    ideaUnsaved: event.url.searchParams.get('idea') === 'unsaved',
    choicesUnsaved: event.url.searchParams.get('choices') === 'unsaved',
  };
};

export const actions: Actions = {
  /**
   * This post's choice for one action: offered here or not, and the field it writes; `restore` drops the
   * post's overrides of its inputs and field.
   */
  choice: async (event) => {
    const form = await formText(event);
    const restore = form.get('restore') === '1';
    const result = await submit(event, (api) =>
      api.PUT('/api/v1/workflow/posts/{id}/actions/{action_id}/choice', {
        params: { path: { id: event.params.id, action_id: form.get('action_id') } },
        body: restore
          ? { inputs: null, target_field: null }
          : form.get('part') === 'offered'
            ? { hidden: form.get('offered') !== 'on' }
            : { target_field: form.get('target_field') },
      }),
    );
    return 'ok' in result ? { choiceSaved: form.get('action_id') } : result;
  },
  /** Moves the post to another substage (the process indicator's "move here"). */
  move: async (event) => {
    const form = await formText(event);
    const substage = form.get('substage_id');
    return submit(event, (api) =>
      api.PATCH('/api/v1/workflow/posts/{id}', {
        params: { path: { id: event.params.id } },
        body: { substage_id: substage },
      }),
    );
  },
  /**
   * Runs every action of a step in one go: one request per action (each its own tasks), keyed by the
   * form's batch id so a form sent twice starts nothing twice. Stops at the first refusal and says which.
   */
  runStep: async (event) => {
    const form = await formText(event);
    const batch = form.get('batch');
    const started: string[] = [];
    for (const actionId of form.all('action_id')) {
      const result = await submit(event, (api) =>
        api.POST('/api/v1/workflow/posts/{id}/actions/{action_id}/runs', {
          params: { path: { id: event.params.id, action_id: actionId }, header: { 'idempotency-key': `${batch}:${actionId}` } },
          body: {},
        }),
      );
      if (!('ok' in result)) {
        const refused = showProblem(result.data.problem, 'refused');
        return { batch: started, batchProblem: refused.detail };
      }
      started.push(...(result.data?.runs.map((run) => run.id) ?? []));
    }
    return { batch: started };
  },
  addSection: async (event) =>
    submit(event, (api) =>
      api.POST('/api/v1/workflow/posts/{id}/sections', { params: { path: { id: event.params.id } }, body: {} }),
    ),
  removeSection: async (event) => {
    const form = await formText(event);
    return submit(event, (api) =>
      api.DELETE('/api/v1/workflow/posts/{id}/sections/{section_id}', {
        params: { path: { id: event.params.id, section_id: form.get('section_id') } },
      }),
    );
  },
};
