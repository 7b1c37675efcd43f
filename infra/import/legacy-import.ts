/**
 * `import legacy`: reads a legacy BlogForge database (read only), plans what each owning service gets, and
 * sends it through that service's internal import route as the `importer` service identity. A dry run sends
 * the same request with `dry_run`, which the service checks in full and rolls back, so its report is what
 * `--apply` then does. Each service records the legacy ids it imported, so a second `--apply` (or one
 * resumed after a failure) creates nothing twice.
 */
import type { z } from 'zod';
import { signIdentity, IDENTITY_HEADER } from '@llmops/kit/http/identity';
import type { LegacyRegistryImportResultSchema } from '@llmops/kit/contracts/registry';
import { readLegacy, type Epoch } from './legacy-source.ts';
import { planRegistry, type ImportKind, type Note, type Skipped } from './registry-plan.ts';

export interface ImportTargets {
  /** The registry's base URL. */
  registry: string;
  /** LLMOPS_INTERNAL_SECRET: signs the `importer` identity. */
  secret: string;
}

export interface KindCount {
  /** Created by this run (in a dry run: would be created). */
  imported: number;
  /** Imported by an earlier run of the same source. */
  already: number;
  skipped: number;
}

/** The final summary, printed and written as JSON. */
export interface ImportSummary {
  source: string;
  epoch: Epoch;
  applied: boolean;
  /** The legacy tables found, with their columns. */
  tables: Record<string, string[]>;
  counts: Record<ImportKind, KindCount>;
  items: { kind: ImportKind; legacy_id: string; id: string; name: string; created: boolean }[];
  skipped: Skipped[];
  notes: Note[];
}

/** A service refused the import: its problem, as it said it. */
export class ImportRefused extends Error {}

type RegistryAnswer = z.output<typeof LegacyRegistryImportResultSchema>;

async function post(url: string, secret: string, audience: string, body: unknown): Promise<unknown> {
  const token = await signIdentity(secret, { kind: 'service', subject: 'importer', requestId: `import-${Date.now()}` }, audience);
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [IDENTITY_HEADER]: token },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(120_000),
  });
  const text = await response.text();
  if (!response.ok) {
    const problem = (text ? JSON.parse(text) : {}) as { detail?: string; title?: string };
    throw new ImportRefused(
      `The ${audience} service refused the import (${response.status}): ${problem.detail ?? problem.title ?? text}`,
    );
  }
  return JSON.parse(text) as unknown;
}

/** The legacy table of a preset's legacy id (`config:2` is llm_config 2, `model:3` the api_params of llm_model 3). */
const tableOf = (legacyId: string): string =>
  legacyId.startsWith('config:') ? 'llm_config' : legacyId.startsWith('model:') ? 'llm_model' : 'legacy row';

export async function importLegacy(options: { from: string; apply: boolean; targets: ImportTargets }): Promise<ImportSummary> {
  const snapshot = await readLegacy(options.from);
  const registry = planRegistry(snapshot);
  const answer = (await post(`${options.targets.registry}/internal/import/legacy`, options.targets.secret, 'registry', {
    ...registry.request,
    dry_run: !options.apply,
  })) as RegistryAnswer;
  const skipped: Skipped[] = [
    ...registry.skipped,
    ...answer.refused.map((row) => ({
      kind: row.kind,
      table: tableOf(row.legacy_id),
      legacy_id: row.legacy_id,
      reason: row.reason,
    })),
  ];
  const counts = {} as Record<ImportKind, KindCount>;
  for (const kind of ['provider', 'model', 'preset'] as const) {
    const items = answer.items.filter((item) => item.kind === kind);
    counts[kind] = {
      imported: items.filter((item) => item.created).length,
      already: items.filter((item) => !item.created).length,
      skipped: skipped.filter((skip) => skip.kind === kind).length,
    };
  }
  return {
    source: snapshot.source,
    epoch: snapshot.epoch,
    applied: options.apply,
    tables: Object.fromEntries(
      [...snapshot.columns].filter(([table]) => table.startsWith('llm_')).map(([table, cols]) => [table, [...cols]]),
    ),
    counts,
    items: answer.items,
    skipped,
    notes: registry.notes,
  };
}

/** The summary as the console shows it. */
export function formatSummary(summary: ImportSummary): string {
  const lines = [
    `${summary.applied ? 'Imported' : 'Dry run (nothing changed)'}: legacy database "${summary.source}", shape ${summary.epoch}`,
    `  tables read: ${Object.keys(summary.tables).sort().join(', ') || 'none'}`,
  ];
  for (const [kind, count] of Object.entries(summary.counts))
    lines.push(
      `  ${`${kind}s`.padEnd(10)} ${summary.applied ? 'imported' : 'to import'} ${count.imported}, already imported ${count.already}, skipped ${count.skipped}`,
    );
  if (summary.skipped.length > 0) {
    lines.push('Skipped (not imported):');
    for (const skip of summary.skipped) lines.push(`  ${skip.table} ${skip.legacy_id}: ${skip.reason}`);
  }
  if (summary.notes.length > 0) {
    lines.push('To check or finish:');
    for (const note of summary.notes) lines.push(`  ${note.kind} ${note.legacy_id}: ${note.message}`);
  }
  if (!summary.applied) lines.push('Run again with --apply to import.');
  return `${lines.join('\n')}\n`;
}
