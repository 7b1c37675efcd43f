import { gatewayClient } from '#lib/server/gateway.ts';
import { readSystemStatus } from '#lib/server/status.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  event.depends('app:status');
  return { status: await readSystemStatus(gatewayClient(event)) };
};
