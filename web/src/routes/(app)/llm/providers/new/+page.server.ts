import { redirect } from '@sveltejs/kit';
import { formText, submit } from '#lib/server/api.ts';
import { providerLimits } from '#lib/server/provider-form.ts';
import type { Actions } from './$types';

const KINDS = ['openai', 'anthropic', 'ollama'] as const;

export const actions: Actions = {
  default: async (event) => {
    const form = await formText(event);
    const kindText = form.get('kind');
    const kind = (KINDS as readonly string[]).includes(kindText) ? (kindText as (typeof KINDS)[number]) : 'openai';
    const values = {
      name: form.get('name'),
      kind,
      base_url: form.get('base_url'),
      max_concurrency: form.get('max_concurrency'),
      rpm_limit: form.get('rpm_limit'),
      monthly_spend_cap_usd: form.get('monthly_spend_cap_usd'),
    };
    const key = form.get('api_key');
    const result = await submit(
      event,
      (api) =>
        api.POST('/api/v1/providers', {
          body: {
            name: values.name,
            kind,
            ...(values.base_url ? { base_url: values.base_url } : {}),
            ...(key ? { api_key: key } : {}),
            // Left out when empty (omitEmpty), so never null here.
            ...(providerLimits(form, { omitEmpty: true }) as {
              max_concurrency?: number;
              rpm_limit?: number;
              monthly_spend_cap_usd?: string;
            }),
          },
        }),
      values,
    );
    if (!('ok' in result)) return result;
    redirect(303, `/llm/providers/${result.data?.id ?? ''}`);
  },
};
