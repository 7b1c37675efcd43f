import type { CredentialsRevoked } from '@llmops/kit/events/gateway';
import type { Principal } from './auth/access.ts';

/*
 * What the HTTP layer needs of the runtime, as interfaces: the app does not load the bus's LISTEN
 * machinery, and a test can build it with stand-ins.
 */

/** Checks credentials (see Authenticator). */
export interface CredentialChecker {
  fromToken(secret: string): Promise<Principal>;
  fromSession(secret: string): Promise<Principal | undefined>;
  revoked(change: CredentialsRevoked): void;
}

/**
 * What a client of the event stream asked to see: every given field must match (AND), one of the values of
 * a list (OR). Its topics are exact and already narrowed to those the caller may see (events/live.ts).
 */
export interface EventFilter {
  task_id?: readonly string[] | undefined;
  group_id?: readonly string[] | undefined;
  /** Events whose payload `correlation` object has every key of this one with an equal value (compared as JSON). */
  correlation?: Record<string, unknown> | undefined;
  /** The topics to send: public ones the caller may see, and that its topic filter named. */
  topics: readonly string[];
  /** `matching`: deltas of the tasks the filter selects (when `topics` has task events); `none`: no deltas. */
  deltas: 'none' | 'matching';
}

/** Opens event streams (see EventHub). */
export interface EventStreams {
  /** `drop` ends the client's connection at once (its socket), for a client too slow to keep up. */
  open(filter: EventFilter, lastEventId: string | undefined, drop?: () => void): Promise<ReadableStream<Uint8Array>>;
}
