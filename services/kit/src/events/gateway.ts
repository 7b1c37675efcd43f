import { z } from 'zod';
import { defineEvent } from '../bus/contract.ts';

/**
 * Credentials stopped being valid: a token was revoked, a session ended (logout), or an account changed
 * role or was disabled (every credential of it must be checked again). Every gateway instance reads
 * these (a broadcast reader) and drops what it cached, so auth needs no database round trip per request.
 */
export const credentialsRevoked = defineEvent({
  topic: 'gateway.credentials.revoked',
  payload: z.object({
    kind: z.enum(['token', 'session', 'account']),
    /** The token, session or account id. */
    id: z.uuid(),
    account_id: z.uuid(),
  }),
  key: (payload) => payload.account_id,
});
export type CredentialsRevoked = z.output<typeof credentialsRevoked.payload>;
