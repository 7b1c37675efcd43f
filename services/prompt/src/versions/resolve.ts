import type { Queryable } from '@llmops/kit/db';
import * as parts from '../db/parts.ts';
import type { DraftMessage, FrozenMessage } from '../db/templates.ts';
import type { RenderProblem, ResolvedMessage } from '../render/render.ts';

export interface Resolution {
  /** What renders: every entry that could be resolved (unresolvable ones are left out, with a problem). */
  messages: ResolvedMessage[];
  /** The draft as it would be frozen now: part entries with the version they resolve to. */
  frozen: FrozenMessage[];
  problems: RenderProblem[];
  /** The exact part versions used, in first-use order. */
  partVersions: { part_id: string; version: number }[];
}

function uniquePairs(frozen: readonly FrozenMessage[]) {
  const pairs = new Map<string, { part_id: string; version: number }>();
  for (const entry of frozen.flatMap((message) => message.entries)) {
    if (entry.part_id && entry.version)
      pairs.set(`${entry.part_id}@${entry.version}`, { part_id: entry.part_id, version: entry.version });
  }
  return [...pairs.values()];
}

/**
 * Resolves a draft's (or an ad-hoc) message list: each part entry to the version it pins, to the
 * version its part label points at, or to the part's latest published version when it follows that
 * (what publishing would freeze, ADR 0012). A reference to an unknown, deleted or never-published
 * part, or to a part label that does not exist, is a problem that names it.
 */
export async function resolveDraft(db: Queryable, draft: readonly DraftMessage[]): Promise<Resolution> {
  const ids = [...new Set(draft.flatMap((m) => m.entries.flatMap((e) => (e.part_id ? [e.part_id] : []))))];
  const found = new Map((await parts.findMany(db, ids)).map((row) => [row.id, row]));
  const labelPairs = draft.flatMap((m) =>
    m.entries.flatMap((e) => (e.part_id && e.version === null && e.label ? [{ part_id: e.part_id, label: e.label }] : [])),
  );
  const labelled = new Map(
    (labelPairs.length ? await parts.labelsOf(db, labelPairs) : []).map((row) => [`${row.part_id}@${row.name}`, row.version]),
  );
  const problems: RenderProblem[] = [];
  const frozen: FrozenMessage[] = draft.map((message, messageIndex) => ({
    id: message.id,
    role: message.role,
    entries: message.entries.map((entry, entryIndex) => {
      if (entry.type === 'text' || !entry.part_id) {
        return {
          id: entry.id,
          type: 'text',
          part_id: null,
          part_name: null,
          version: null,
          follows: null,
          text: entry.text ?? '',
        };
      }
      const part = found.get(entry.part_id);
      const source = {
        message_index: messageIndex,
        entry_index: entryIndex,
        part_id: entry.part_id,
        part_name: part?.name ?? null,
        part_version: entry.version,
      };
      const where = `message ${messageIndex + 1}, entry ${entryIndex + 1}`;
      const label = entry.version === null ? (entry.label ?? null) : null;
      let version: number | null =
        entry.version ?? (label === null ? (part?.latest_version ?? null) : (labelled.get(`${entry.part_id}@${label}`) ?? null));
      if (!part) {
        problems.push({
          code: 'unknown_part',
          message: `${where} uses part ${entry.part_id}, which does not exist`,
          variable: null,
          source,
          line: null,
          column: null,
        });
        version = null;
      } else if (part.deleted_at) {
        problems.push({
          code: 'deleted_part',
          message: `${where} uses part "${part.name}", which was deleted; remove or replace the entry`,
          variable: null,
          source,
          line: null,
          column: null,
        });
        version = null;
      } else if (version === null && label !== null) {
        problems.push({
          code: 'unknown_part',
          message: `${where} follows label "${label}" of part "${part.name}", which does not exist; set the label or change the entry`,
          variable: null,
          source,
          line: null,
          column: null,
        });
      } else if (version === null) {
        problems.push({
          code: 'unpublished_part',
          message: `${where} follows part "${part.name}", which has never been published; publish it or pin nothing from it`,
          variable: null,
          source,
          line: null,
          column: null,
        });
      } else if (part.latest_version === null || version > part.latest_version) {
        problems.push({
          code: 'unknown_part',
          message: `${where} pins part "${part.name}" version ${version}, which does not exist (latest is ${part.latest_version ?? 'none'})`,
          variable: null,
          source,
          line: null,
          column: null,
        });
        version = null;
      }
      return {
        id: entry.id,
        type: 'part' as const,
        part_id: entry.part_id,
        part_name: part?.name ?? null,
        version,
        follows: entry.version === null ? (label ?? 'latest') : null,
        text: null,
      };
    }),
  }));
  return { ...(await resolveFrozen(db, frozen)), frozen, problems };
}

/** Resolves frozen messages (a version's, or a draft's as frozen now) to the content of each entry. */
export async function resolveFrozen(
  db: Queryable,
  frozen: readonly FrozenMessage[],
): Promise<{ messages: ResolvedMessage[]; partVersions: { part_id: string; version: number }[] }> {
  const pairs = uniquePairs(frozen);
  const contents = new Map((await parts.versionsOf(db, pairs)).map((row) => [`${row.part_id}@${row.version}`, row]));
  const messages: ResolvedMessage[] = frozen.map((message, messageIndex) => ({
    role: message.role,
    entries: message.entries.flatMap((entry, entryIndex) => {
      const source = {
        message_index: messageIndex,
        entry_index: entryIndex,
        part_id: entry.part_id,
        part_name: entry.part_name,
        part_version: entry.version,
      };
      if (entry.type === 'text') return [{ source, content: entry.text ?? '' }];
      const row = contents.get(`${entry.part_id}@${entry.version}`);
      return row ? [{ source: { ...source, part_name: row.name }, content: row.content }] : [];
    }),
  }));
  return { messages, partVersions: pairs };
}
