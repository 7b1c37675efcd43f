import { formText, submit } from '#lib/server/api.ts';
import type { Actions } from './$types';

export const actions: Actions = {
  /** Your own password: the gateway checks the current one, ends your other sessions and keeps this one. */
  password: async (event) => {
    const form = await formText(event);
    const result = await submit(event, (api) =>
      api.POST('/api/v1/session/password', {
        body: { current_password: form.get('current_password'), new_password: form.get('new_password') },
      }),
    );
    if (!('ok' in result)) return result;
    return { changed: true };
  },
};
