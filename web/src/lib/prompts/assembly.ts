import type { Schemas } from '../api/client.ts';

/**
 * The template's draft as the assembly pane edits it: messages of entries, each with a local key (new
 * ones have no id until saved), turned back into the contract's input for saving and previewing.
 */
export type Role = Schemas['MessageRole'];

export type Entry =
  | { key: string; id?: string; type: 'part'; part_id: string; part_name: string; version: number | null; label: string | null }
  | { key: string; id?: string; type: 'text'; text: string };

export interface Message {
  key: string;
  id?: string;
  role: Role;
  entries: Entry[];
}

let counter = 0;
export const newKey = (): string => `new-${++counter}`;

export function fromTemplate(messages: Schemas['TemplateMessage'][]): Message[] {
  return messages.map((message) => ({
    key: message.id,
    id: message.id,
    role: message.role,
    entries: message.entries.map((entry): Entry =>
      entry.type === 'part'
        ? {
            key: entry.id,
            id: entry.id,
            type: 'part',
            part_id: entry.part_id ?? '',
            part_name: entry.part_name ?? 'a deleted part',
            version: entry.follows ? null : entry.version,
            label: entry.follows && entry.follows !== 'latest' ? entry.follows : null,
          }
        : { key: entry.id, id: entry.id, type: 'text', text: entry.text ?? '' },
    ),
  }));
}

export function toInput(messages: Message[]): Schemas['TemplateMessageInput'][] {
  return messages.map((message) => ({
    ...(message.id ? { id: message.id } : {}),
    role: message.role,
    entries: message.entries.map((entry) =>
      entry.type === 'part'
        ? {
            ...(entry.id ? { id: entry.id } : {}),
            type: 'part' as const,
            part_id: entry.part_id,
            version: entry.version,
            label: entry.label,
          }
        : { ...(entry.id ? { id: entry.id } : {}), type: 'text' as const, text: entry.text },
    ),
  }));
}

/** The list with the item at `from` moved to `to` (both clamped to the list); the same list when nothing moves. */
export function move<T>(items: readonly T[], from: number, to: number): T[] {
  const target = Math.max(0, Math.min(items.length - 1, to));
  if (from < 0 || from >= items.length || from === target) return [...items];
  const copy = [...items];
  const [item] = copy.splice(from, 1);
  copy.splice(target, 0, item as T);
  return copy;
}

/** An entry moved from one message to a position in another (or the same) message. */
export function moveEntry(messages: readonly Message[], from: [number, number], to: [number, number]): Message[] {
  const [fromMessage, fromEntry] = from;
  const [toMessage, toEntry] = to;
  if (fromMessage === toMessage) {
    return messages.map((message, index) =>
      index === fromMessage ? { ...message, entries: move(message.entries, fromEntry, toEntry) } : message,
    );
  }
  const entry = messages[fromMessage]?.entries[fromEntry];
  if (!entry || !messages[toMessage]) return [...messages];
  return messages.map((message, index) => {
    if (index === fromMessage) return { ...message, entries: message.entries.filter((_, at) => at !== fromEntry) };
    if (index === toMessage) {
      const entries = [...message.entries];
      entries.splice(Math.max(0, Math.min(entries.length, toEntry)), 0, entry);
      return { ...message, entries };
    }
    return message;
  });
}

/** How a part entry is referenced, as a reader says it. */
export function reference(entry: Extract<Entry, { type: 'part' }>): string {
  if (entry.version !== null) return `pinned to version ${entry.version}`;
  return entry.label ? `follows the label “${entry.label}”` : 'follows the latest version';
}
