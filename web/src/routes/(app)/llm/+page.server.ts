import { gatewayClient } from '#lib/server/gateway.ts';
import { readSystemStatus } from '#lib/server/status.ts';
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

export const load: PageServerLoad = async (event) => {
  event.depends('app:status');
  event.depends('app:overview');
  const api = gatewayClient(event);
  const one = { params: { query: { limit: 1 } } } as const;
  const [status, provider, model, template, task] = await Promise.all([
    readSystemStatus(api),
    hasAny(() => api.GET('/api/v1/providers', one)),
    hasAny(() => api.GET('/api/v1/models', one)),
    hasAny(() => api.GET('/api/v1/templates', one)),
    hasAny(() => api.GET('/api/v1/tasks', one)),
  ]);
  return { status, steps: { provider, model, template, task } };
};
