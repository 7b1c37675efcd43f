import type { Queryable } from '@llmops/kit/db';
import { NotFound } from '@llmops/kit/problem';
import * as templates from '../db/templates.ts';
import type { FrozenEntry, FrozenMessage, TemplateRow } from '../db/templates.ts';
import { lineDiff, type DiffLine } from './line-diff.ts';
import { resolveDraft, resolveFrozen } from './resolve.ts';
import type { ResolvedMessage } from '../render/render.ts';

type Side = number | 'draft';
type Change = 'added' | 'removed' | 'changed' | 'unchanged';

interface SideView {
  settings: Record<string, unknown>;
  frozen: FrozenMessage[];
  resolved: ResolvedMessage[];
}

const SETTINGS = ['name', 'description', 'merge_adjacent', 'default_model_id', 'default_preset_id', 'variables'] as const;

/** One side of a diff: the draft as it would be frozen now, or a version. */
export async function sideOf(db: Queryable, template: TemplateRow, side: Side): Promise<SideView> {
  if (side === 'draft') {
    const resolution = await resolveDraft(db, await templates.messages(db, template.id));
    return { settings: pick(template), frozen: resolution.frozen, resolved: resolution.messages };
  }
  const row = await templates.findVersion(db, template.id, side);
  if (!row)
    throw new NotFound(
      `Template "${template.name}" has no version ${side} (latest: ${template.latest_version ?? 'never published'}).`,
    );
  const { messages } = await resolveFrozen(db, row.messages);
  return { settings: pick(row), frozen: row.messages, resolved: messages };
}

function pick(row: Record<(typeof SETTINGS)[number], unknown>): Record<string, unknown> {
  return Object.fromEntries(SETTINGS.map((key) => [key, row[key]]));
}

function entryJson(entry: FrozenEntry) {
  return { ...entry };
}

function sameEntry(a: FrozenEntry, b: FrozenEntry): boolean {
  return a.type === b.type && a.part_id === b.part_id && a.version === b.version && a.text === b.text;
}

function textOf(message: ResolvedMessage | undefined): string {
  return message ? message.entries.map((entry) => entry.content).join('\n\n') : '';
}

/**
 * A template diff, message by message: messages and entries are matched by id (ids survive edits and
 * publishing), each with its role change, entry changes (a part re-pinned from v2 to v3 is "changed"),
 * and a line diff of its source text (the parts' content at their versions and the inline text).
 */
export async function templateDiff(db: Queryable, template: TemplateRow, from: Side | null, to: Side) {
  const empty: SideView = { settings: {}, frozen: [], resolved: [] };
  const [a, b] = await Promise.all([from === null ? empty : sideOf(db, template, from), sideOf(db, template, to)]);
  const fields = SETTINGS.filter(
    (key) => from !== null && JSON.stringify(a.settings[key]) !== JSON.stringify(b.settings[key]),
  ).map((key) => ({ field: key, from: a.settings[key], to: b.settings[key] }));
  const messages: {
    index: number;
    change: Change;
    role: { from: FrozenMessage['role'] | null; to: FrozenMessage['role'] | null };
    entries: { change: Change; from: FrozenEntry | null; to: FrozenEntry | null }[];
    text: DiffLine[];
  }[] = [];
  const matched = new Set<number>();
  b.frozen.forEach((message, index) => {
    const fromIndex = a.frozen.findIndex((m) => m.id === message.id);
    const before = fromIndex >= 0 ? a.frozen[fromIndex] : undefined;
    if (fromIndex >= 0) matched.add(fromIndex);
    const entries: { change: Change; from: FrozenEntry | null; to: FrozenEntry | null }[] = [];
    const seen = new Set<string>();
    for (const entry of message.entries) {
      const old = before?.entries.find((e) => e.id === entry.id);
      if (old) seen.add(old.id);
      entries.push({
        change: !old ? 'added' : sameEntry(old, entry) ? 'unchanged' : 'changed',
        from: old ? entryJson(old) : null,
        to: entryJson(entry),
      });
    }
    for (const old of before?.entries ?? []) {
      if (!seen.has(old.id)) entries.push({ change: 'removed', from: entryJson(old), to: null });
    }
    const text = lineDiff(textOf(fromIndex >= 0 ? a.resolved[fromIndex] : undefined), textOf(b.resolved[index]));
    const changed =
      !before || before.role !== message.role || entries.some((e) => e.change !== 'unchanged') || fromIndex !== index;
    messages.push({
      index,
      change: !before ? 'added' : changed ? 'changed' : 'unchanged',
      role: { from: before?.role ?? null, to: message.role },
      entries,
      text,
    });
  });
  a.frozen.forEach((message, index) => {
    if (matched.has(index)) return;
    messages.push({
      index,
      change: 'removed',
      role: { from: message.role, to: null },
      entries: message.entries.map((entry) => ({ change: 'removed' as const, from: entryJson(entry), to: null })),
      text: lineDiff(textOf(a.resolved[index]), ''),
    });
  });
  return {
    from,
    to,
    changed: fields.length > 0 || messages.some((m) => m.change !== 'unchanged'),
    fields,
    messages,
  };
}
