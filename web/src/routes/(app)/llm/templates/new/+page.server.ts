import { redirect } from '@sveltejs/kit';
import { formText, submit } from '#lib/server/api.ts';
import type { Actions } from './$types';

export const actions: Actions = {
  default: async (event) => {
    const form = await formText(event);
    const values = { name: form.get('name'), description: form.get('description') };
    const result = await submit(
      event,
      (api) =>
        api.POST('/api/v1/templates', {
          body: {
            ...values,
            merge_adjacent: false,
            default_model_id: null,
            default_preset_id: null,
            variables: [],
            messages: [],
          },
        }),
      values,
    );
    if (!('ok' in result)) return result;
    redirect(303, `/llm/templates/${result.data?.id ?? ''}`);
  },
};
