import { redirect } from '@sveltejs/kit';
import { formText, load as read, submit } from '#lib/server/api.ts';
import { tagList } from '../tags.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  const kinds = await read(event, (api) => api.GET('/api/v1/part-kinds'));
  return { kinds: kinds.items };
};

export const actions: Actions = {
  default: async (event) => {
    const form = await formText(event);
    const values = {
      kind: form.get('kind'),
      name: form.get('name'),
      description: form.get('description'),
      tags: form.get('tags'),
      content: form.get('content'),
    };
    const result = await submit(
      event,
      (api) =>
        api.POST('/api/v1/parts', {
          body: {
            kind: values.kind,
            name: values.name,
            description: values.description,
            tags: tagList(values.tags),
            content: values.content,
          },
        }),
      values,
    );
    if (!('ok' in result)) return result;
    redirect(303, `/llm/parts/${result.data?.id ?? ''}`);
  },
};
