export interface SentMessage {
  role: string;
  content: string;
}

/** The messages a task sends, from its snapshot (`{ messages: [{ role, content }] }`, ADR 0010). */
export function sentMessages(snapshot: Record<string, unknown>): SentMessage[] {
  const messages = snapshot.messages;
  if (!Array.isArray(messages)) return [];
  return messages.flatMap((message: unknown) => {
    if (typeof message !== 'object' || message === null) return [];
    const { role, content } = message as Record<string, unknown>;
    return typeof role === 'string' && typeof content === 'string' ? [{ role, content }] : [];
  });
}

/** The messages as one text, a header line per message, for a side-by-side diff. */
export function messagesText(messages: readonly SentMessage[]): string {
  return messages.map((message) => `[${message.role}]\n${message.content}`).join('\n\n');
}

/** Where a legacy record came from (its snapshot's `legacy`, docs/migration.md); undefined when it says nothing usable. */
export function legacyOrigin(
  snapshot: Record<string, unknown>,
): { source: string; table: string; id: string; model: string | null } | undefined {
  const legacy = snapshot.legacy;
  if (typeof legacy !== 'object' || legacy === null) return undefined;
  const { source, table, id, model } = legacy as Record<string, unknown>;
  if (typeof source !== 'string' || typeof table !== 'string' || typeof id !== 'string') return undefined;
  return { source, table, id, model: typeof model === 'string' ? model : null };
}
