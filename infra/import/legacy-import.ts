/**
 * `import legacy`: reads a legacy BlogForge database (read only), plans what each owning service gets, and
 * sends it through that service's internal import route as the `importer` service identity. A dry run sends
 * the same request with `dry_run`, which the service checks in full and rolls back, so its report is what
 * `--apply` then does. Each service records the legacy ids it imported, so a second `--apply` (or one
 * resumed after a failure) creates nothing twice. The source is a live database or a plain-SQL pg_dump file
 * (dump-file.ts: loaded into a scratch database on the system's server, read, and dropped).
 */
import type { z } from 'zod';
import { signIdentity, IDENTITY_HEADER } from '@llmops/kit/http/identity';
import type { LegacyRegistryImportResultSchema } from '@llmops/kit/contracts/registry';
import type { LegacyPromptImportResultSchema } from '@llmops/kit/contracts/prompt/legacy-import';
import { readLegacy, type Epoch } from './legacy-source.ts';
import { planRegistry, type Note, type Skipped as RegistrySkipped } from './registry-plan.ts';
import { loadDump, type DumpReport } from './dump-file.ts';
import { planRecords, sendRecords, type RecordAnswer } from './record-plan.ts';
import type { Progress } from './progress.ts';

/** What the summary counts. */
export type ImportKind = 'provider' | 'model' | 'preset' | 'part' | 'record';
export type Skipped = Omit<RegistrySkipped, 'kind'> & { kind: ImportKind };

export interface ImportTargets {
  /** The registry's base URL. */
  registry: string;
  /** The prompt service's base URL. */
  prompt: string;
  /** LLMOPS_INTERNAL_SECRET: signs the `importer` identity. */
  secret: string;
  /** The runner's base URL: needed only when the source holds interactions to keep as records. */
  runner?: string | undefined;
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
  /** The prompt converter's warnings: every conversion that could change meaning, each naming its legacy row. */
  warnings: string[];
  /** When the source was a dump file: what loading it ran, skipped and reported. */
  dump?: DumpReport;
}

/** A service refused the import: its problem, as it said it. */
export class ImportRefused extends Error {}

type RegistryAnswer = z.output<typeof LegacyRegistryImportResultSchema>;
type PromptAnswer = z.output<typeof LegacyPromptImportResultSchema>;

const listOf = (value: unknown): string[] | null => (Array.isArray(value) ? value.map(String) : null);
const textOf = (value: unknown): string | null => (typeof value === 'string' ? value : null);

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

export interface ImportOptions {
  /** A postgres:// URL of the legacy database, or the path of a plain-SQL pg_dump file. */
  from: string;
  apply: boolean;
  targets: ImportTargets;
  /** For a dump file: an admin URL of the server to load it on (the system's own). */
  scratchServer?: string | undefined;
  /** Records per request to the runner (each request is one transaction there); default 100. */
  batch?: number | undefined;
  progress?: Progress | undefined;
}

/** A postgres:// URL, else a dump file's path. */
export const isDatabaseUrl = (from: string): boolean => /^postgres(ql)?:\/\//.test(from);

/**
 * The source at one instant: a live database as it is, or a dump loaded into a scratch database. The scratch
 * database is dropped while the services import (a drop waits for a checkpoint); `dropped` settles when it is
 * gone. One left by a process that died is dropped by the next import of the same file.
 */
async function readSource(options: ImportOptions) {
  if (isDatabaseUrl(options.from))
    return { snapshot: await readLegacy(options.from), dump: undefined, dropped: Promise.resolve() };
  if (!options.scratchServer)
    throw new ImportRefused('A dump file is loaded into a scratch database: say on which server (an admin DATABASE_URL).');
  const loaded = await loadDump(options.from, options.scratchServer, (done, total) =>
    options.progress?.('Loading the dump', done, total),
  );
  const snapshot = await readLegacy(loaded.url, loaded.source).catch(async (error: unknown) => {
    await loaded.drop();
    throw error;
  });
  return { snapshot, dump: loaded.report, dropped: loaded.drop().catch(() => undefined) };
}

export async function importLegacy(options: ImportOptions): Promise<ImportSummary> {
  const { snapshot, dump, dropped } = await readSource(options);
  const registry = planRegistry(snapshot);
  const answer = (await post(`${options.targets.registry}/internal/import/legacy`, options.targets.secret, 'registry', {
    ...registry.request,
    dry_run: !options.apply,
  })) as RegistryAnswer;
  // Parts are converted by the prompt service (it owns the converter); the rows go as read.
  const prompt = (await post(`${options.targets.prompt}/internal/import/legacy`, options.targets.secret, 'prompt', {
    source: snapshot.source,
    dry_run: !options.apply,
    parts: snapshot.rows.llm_prompt_part.map((row) => ({
      legacy_id: String(row.id),
      name: textOf(row.name),
      type: textOf(row.type),
      content: textOf(row.content),
      tags: listOf(row.tags),
    })),
  })) as PromptAnswer;
  // Interactions go last, in batches: a run killed half-way keeps what it finished (resume.ts in tests).
  const records = planRecords(snapshot);
  const { runner } = options.targets;
  if (records.records.length > 0 && !runner)
    throw new ImportRefused('The source holds interactions to keep as task records: set RUNNER_URL to the runner service.');
  const recordItems = await sendRecords(
    records.records,
    options.batch ?? 100,
    async (batch) =>
      (await post(`${runner}/internal/import/legacy`, options.targets.secret, 'runner', {
        source: snapshot.source,
        dry_run: !options.apply,
        records: batch,
      })) as RecordAnswer,
    (done, total) => options.progress?.('Keeping interactions as task records', done, total),
  );
  const skipped: Skipped[] = [
    ...registry.skipped,
    ...records.skipped,
    ...prompt.refused.map((row) => ({ kind: row.kind, table: 'llm_prompt_part', legacy_id: row.legacy_id, reason: row.reason })),
    ...answer.refused.map((row) => ({
      kind: row.kind,
      table: tableOf(row.legacy_id),
      legacy_id: row.legacy_id,
      reason: row.reason,
    })),
  ];
  await dropped;
  const counts = {} as Record<ImportKind, KindCount>;
  const items = [...answer.items, ...prompt.items, ...recordItems];
  for (const kind of ['provider', 'model', 'preset', 'part', 'record'] as const) {
    const ofKind = items.filter((item) => item.kind === kind);
    counts[kind] = {
      imported: ofKind.filter((item) => item.created).length,
      already: ofKind.filter((item) => !item.created).length,
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
    items,
    skipped,
    notes: registry.notes,
    warnings: prompt.warnings,
    ...(dump ? { dump } : {}),
  };
}

/** The summary as the console shows it. */
export function formatSummary(summary: ImportSummary): string {
  const lines = [
    `${summary.applied ? 'Imported' : 'Dry run (nothing changed)'}: legacy database "${summary.source}", shape ${summary.epoch}`,
    ...(summary.dump ? dumpLines(summary.dump) : []),
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
  if (summary.warnings.length > 0) {
    lines.push('Conversions to check (they may change what a prompt says):');
    for (const warning of summary.warnings) lines.push(`  ${warning}`);
  }
  if (!summary.applied) lines.push('Run again with --apply to import.');
  return `${lines.join('\n')}\n`;
}

/** What loading a dump did: counts, each line not run, and the harmless failures grouped by error (the JSON has each). */
function dumpLines(dump: DumpReport): string[] {
  const byError = new Map<string, number[]>();
  for (const fail of dump.failed) byError.set(fail.error, [...(byError.get(fail.error) ?? []), fail.line]);
  return [
    `  from the dump ${dump.file}: ${dump.statements} statements run, ${dump.copied_rows} rows copied (a scratch database, dropped)`,
    ...dump.skipped.map((skip) => `  dump line ${skip.line} not run: ${skip.text} (${skip.reason})`),
    ...[...byError].map(
      ([error, lines]) =>
        `  dump ${lines.length === 1 ? 'line' : 'lines'} ${lines.join(', ')} failed, not needed here (owners, rights or settings of the dump's server): ${error}`,
    ),
  ];
}
