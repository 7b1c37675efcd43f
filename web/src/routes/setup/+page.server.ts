import { redirect } from '@sveltejs/kit';
import { gatewayClient } from '#lib/server/gateway.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  const { session } = await event.parent();
  if (session) redirect(303, '/');
  const code = event.url.searchParams.get('code') ?? '';
  const { data } = await gatewayClient(event).GET('/api/v1/setup', { params: { query: code ? { code } : {} } });
  return { code, status: data ?? null };
};
