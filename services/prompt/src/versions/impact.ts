import type { Queryable } from '@llmops/kit/db';
import * as parts from '../db/parts.ts';
import type { PartRow } from '../db/parts.ts';
import * as templates from '../db/templates.ts';
import type { DiscoveredVariable } from '../render/analyze.ts';
import { summarize, variableUses } from '../render/analyze.ts';
import type { RouteDeps } from '../routes/common.ts';

/**
 * What publishing a part's draft now would do, before anyone publishes it: template drafts that follow
 * the part's latest version would take the new version at their next publish; drafts that follow one
 * of the part's labels change only when that label moves (listed with the version it points at now);
 * drafts that pin a version and published template versions (frozen, ADR 0012) stay as they are.
 */
export async function partImpact(db: Queryable, deps: Pick<RouteDeps, 'renderer'>, part: PartRow) {
  const parsed = deps.renderer.parser.parse(part.content);
  const draftNames = parsed.ok
    ? new Set(
        summarize(variableUses(deps.renderer.parser.engine, parsed.templates).map((use) => ({ use, source: 'draft' }))).map(
          (v) => v.name,
        ),
      )
    : new Set<string>();
  const latest = part.latest_version === null ? undefined : await parts.version(db, part.id, part.latest_version);
  const latestNames = new Set(((latest?.variables ?? []) as DiscoveredVariable[]).map((v) => v.name));
  const entries = await templates.draftEntriesUsing(db, part.id);
  const labelled = new Map((await parts.labels(db, part.id)).map((row) => [row.name, row.version]));
  const ref = (e: (typeof entries)[number]) => ({
    template_id: e.template_id,
    name: e.name,
    message_index: e.message_index,
    entry_index: e.entry_index,
  });
  return {
    part_id: part.id,
    latest_version: part.latest_version,
    draft_differs: part.has_unpublished_changes,
    variables_added: [...draftNames].filter((name) => !latestNames.has(name)).sort(),
    variables_removed: [...latestNames].filter((name) => !draftNames.has(name)).sort(),
    would_change: part.has_unpublished_changes
      ? entries.filter((e) => e.part_version === null && e.part_label === null).map(ref)
      : [],
    label_followers: entries.flatMap((e) =>
      e.part_version === null && e.part_label !== null
        ? [{ ...ref(e), label: e.part_label, version: labelled.get(e.part_label) ?? null }]
        : [],
    ),
    pinned: entries.filter((e) => e.part_version !== null).map((e) => ({ ...ref(e), version: e.part_version as number })),
    published_versions: await templates.versionsUsing(db, part.id),
  };
}
