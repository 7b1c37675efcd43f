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
