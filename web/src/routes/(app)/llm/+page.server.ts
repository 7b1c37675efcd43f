import { gatewayClient } from '#lib/server/gateway.ts';
import { readSystemStatus } from '#lib/server/status.ts';
import { daysBetween, type UsageSplit } from '#lib/usage/series.ts';
import type { PageServerLoad } from './$types';

/** A first-run step: done when the list it stands for has an item, unknown when the list could not be read. */
export type StepState = 'done' | 'todo' | 'unknown';

async function hasAny(read: () => Promise<{ data?: { items: unknown[] } | undefined }>): Promise<StepState> {
  try {
    const { data } = await read();
    return data ? (data.items.length > 0 ? 'done' : 'todo') : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The data, or null when it could not be read (the panel says so; the rest of the overview still shows). */
async function attempt<T>(read: () => Promise<{ data?: T | undefined }>): Promise<T | null> {
  try {
    return (await read()).data ?? null;
  } catch {
    return null;
  }
}

/** Days the usage charts cover, today (UTC) included. */
const CHART_DAYS = 30;
const SPLITS: readonly UsageSplit[] = ['model', 'provider', 'template'];

export const load: PageServerLoad = async (event) => {
  event.depends('app:status');
  event.depends('app:overview');
  const api = gatewayClient(event);
  const one = { params: { query: { limit: 1 } } } as const;
  const asked = event.url.searchParams.get('split') as UsageSplit | null;
  const split: UsageSplit = asked && SPLITS.includes(asked) ? asked : 'model';
  const now = new Date();
  const today = now.toISOString().slice(0, 10);
  const first = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - (CHART_DAYS - 1)));
  const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();
  const [status, provider, model, template, task, usage, month, providers, active, failures, templates, models] =
    await Promise.all([
      readSystemStatus(api),
      hasAny(() => api.GET('/api/v1/providers', one)),
      hasAny(() => api.GET('/api/v1/models', one)),
      hasAny(() => api.GET('/api/v1/templates', one)),
      hasAny(() => api.GET('/api/v1/tasks', one)),
      attempt(() =>
        api.GET('/api/v1/usage', {
          params: { query: { group_by: 'day', split_by: split, from: first.toISOString(), tz: 'UTC' } },
        }),
      ),
      attempt(() => api.GET('/api/v1/usage', { params: { query: { group_by: 'provider', from: monthStart, tz: 'UTC' } } })),
      attempt(() => api.GET('/api/v1/providers', { params: { query: { limit: 200 } } })),
      attempt(() =>
        api.GET('/api/v1/tasks', { params: { query: { status: 'queued,running', limit: 20, include_output: 'false' } } }),
      ),
      attempt(() => api.GET('/api/v1/tasks', { params: { query: { status: 'failed', limit: 5, include_output: 'false' } } })),
      split === 'template' ? attempt(() => api.GET('/api/v1/templates', { params: { query: { limit: 200 } } })) : null,
      attempt(() => api.GET('/api/v1/models', { params: { query: { limit: 200 } } })),
    ]);
  return {
    status,
    steps: { provider, model, template, task },
    split,
    days: daysBetween(first.toISOString().slice(0, 10), today),
    usage,
    month,
    providers: providers?.items.map(({ id, name, monthly_spend_cap_usd }) => ({ id, name, cap: monthly_spend_cap_usd })) ?? null,
    active: active?.items ?? null,
    failures: failures?.items ?? null,
    templateNames: templates?.items.map(({ id, name }) => [id, name] as [string, string]) ?? [],
    modelNames: models?.items.map(({ id, display_name }) => [id, display_name] as [string, string]) ?? [],
  };
};
