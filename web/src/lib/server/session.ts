import type { RequestEvent } from '@sveltejs/kit';
import type { Schemas } from '../api/client.ts';
import { gatewayClient } from './gateway.ts';
import { errorFields, log } from './log.ts';

export type Session = Schemas['Session'];

/** Who is signed in, as the gateway sees the browser's cookie; null when nobody is (or the gateway is away). */
export async function readSession(event: RequestEvent): Promise<Session | null> {
  if (!event.cookies.get('llmops_session') && !event.request.headers.get('authorization')) return null;
  try {
    const { data } = await gatewayClient(event).GET('/api/v1/session');
    return data ?? null;
  } catch (error) {
    log.warn(errorFields(error), 'the session could not be read from the gateway');
    return null;
  }
}
