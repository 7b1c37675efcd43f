import type { Identity } from '@llmops/kit/http/identity';

export interface Actor {
  kind: 'account' | 'service';
  id: string;
}

export function actorOf(identity: Identity): Actor {
  return { kind: identity.kind, id: identity.subject };
}

/** How authors appear on rows: the account id, or `service:<name>`. */
export function authorOf(identity: Identity): string {
  return identity.kind === 'account' ? identity.subject : `service:${identity.subject}`;
}
