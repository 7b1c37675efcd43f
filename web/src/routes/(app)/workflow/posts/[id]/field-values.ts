import type { Schemas } from '#lib/api/client.ts';
import { accountName } from '#lib/account-names.svelte.ts';

export type Field = Schemas['WorkflowField'];
export type Kind = Field['kind'];
export interface Image {
  url: string;
  prompt: string;
  caption: string;
  alt: string;
}

/** What an editor holds while the reader types: text for text, markdown and JSON, items for a list. */
export type Draft = { kind: 'text'; text: string } | { kind: 'list'; items: string[] } | { kind: 'image'; image: Image };

export function draftOf(kind: Kind, value: unknown): Draft {
  if (kind === 'list') return { kind: 'list', items: Array.isArray(value) ? value.map(String) : [] };
  if (kind === 'image') {
    const image = (typeof value === 'object' && value !== null ? value : {}) as Partial<Record<keyof Image, unknown>>;
    const text = (part: unknown) => (typeof part === 'string' ? part : '');
    return {
      kind: 'image',
      image: { url: text(image.url), prompt: text(image.prompt), caption: text(image.caption), alt: text(image.alt) },
    };
  }
  if (kind === 'json') return { kind: 'text', text: value === null || value === undefined ? '' : JSON.stringify(value, null, 2) };
  return { kind: 'text', text: typeof value === 'string' ? value : '' };
}

/** The value to send for a draft, or why it cannot be sent yet (JSON that does not parse). */
export function valueOf(kind: Kind, draft: Draft): { value: unknown } | { problem: string } {
  if (draft.kind === 'list') return { value: draft.items };
  if (draft.kind === 'image') {
    const entries = Object.entries(draft.image).filter(([, part]) => part !== '');
    return { value: entries.length === 0 ? null : Object.fromEntries(entries) };
  }
  if (kind === 'json') {
    if (draft.text.trim() === '') return { value: null };
    try {
      return { value: JSON.parse(draft.text) as unknown };
    } catch (caught) {
      return { problem: `This is not JSON yet: ${caught instanceof Error ? caught.message : String(caught)}` };
    }
  }
  return { value: draft.text === '' ? null : draft.text };
}

/** A value as text to read or compare (lists one item a line, JSON indented). */
export function shown(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value.map((item) => `• ${item}`).join('\n');
  return JSON.stringify(value, null, 2);
}

/** The 409 `stale-revision` problem's two values. */
export interface Stale {
  current: { revision_id: string | null; value: unknown; author: { kind: string; id: string } | null };
  yours: { value: unknown };
}

export function staleOf(problem: unknown): Stale | undefined {
  if (typeof problem !== 'object' || problem === null) return undefined;
  const body = problem as { type?: unknown; current?: Stale['current']; yours?: Stale['yours'] };
  if (typeof body.type !== 'string' || !body.type.endsWith('stale-revision') || !body.current || !body.yours) return undefined;
  return { current: body.current, yours: body.yours };
}

export function authorOf(author: { kind: string; id: string } | null | undefined): string {
  if (!author) return 'nobody';
  if (author.kind === 'task') return `an LLM task (…${author.id.slice(-8)})`;
  if (author.kind === 'service') return `the ${author.id} service`;
  return accountName(author.id) ?? `account …${author.id.slice(-8)}`;
}
