import type { RequestEvent } from '@sveltejs/kit';
import type { Schemas } from '../api/client.ts';
import { gatewayClient } from './gateway.ts';
import { errorFields, log } from './log.ts';

export type Session = Schemas['Session'];

/**
 * Who is signed in, as the gateway sees the browser's cookie. `unavailable` says the gateway could not
 * tell (it is restarting, unreachable, or failed): that is not a sign-out, and the signed-in pages show
 * an error rather than sending the reader to /login and dropping where they were.
 */
export type SessionState = { session: Session | null; unavailable: string | null };

export async function readSession(event: RequestEvent): Promise<SessionState> {
  if (!event.cookies.get('llmops_session') && !event.request.headers.get('authorization')) {
    return { session: null, unavailable: null };
  }
  try {
    const { data, response } = await gatewayClient(event).GET('/api/v1/session');
    if (data) return { session: data, unavailable: null };
    if (response.status === 401) return { session: null, unavailable: null };
    log.warn({ status: response.status }, 'the gateway did not say who is signed in');
    return { session: null, unavailable: `the gateway answered ${response.status}` };
  } catch (error) {
    log.warn(errorFields(error), 'the session could not be read from the gateway');
    return { session: null, unavailable: 'the gateway could not be reached' };
  }
}
