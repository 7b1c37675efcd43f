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
import type { LegacyWorkflowImportResultSchema } from '@llmops/kit/contracts/workflow-legacy-import';
import { LEGACY_TABLES, readLegacy, type Epoch } from './legacy-source.ts';
import { planRegistry, type Note as RegistryNote, type Skipped as RegistrySkipped } from './registry-plan.ts';
import { planActionPresets, planTemplates, planWorkflow, type WorkflowKind } from './workflow-plan.ts';
import { checkPreviews, type PreviewOutcome } from './preview-check.ts';
import { sendInBatches } from './workflow-batches.ts';
import { loadDump, type DumpReport } from './dump-file.ts';
import { linkRecords, planRecords, sendRecords, type RecordAnswer } from './record-plan.ts';
import type { Progress } from './progress.ts';

/** What the summary counts. */
export type ImportKind = 'provider' | 'model' | 'preset' | 'part' | WorkflowKind | 'record';
export const IMPORT_KINDS: readonly ImportKind[] = [
  'provider',
  'model',
  'preset',
  'part',
  'template',
  'stage',
  'substage',
  'field',
  'action',
  'post',
  'section',
  'value',
  'choice',
  'record',
];
export type Skipped = Omit<RegistrySkipped, 'kind'> & { kind: ImportKind };
export type Note = Omit<RegistryNote, 'kind'> & { kind: ImportKind };

export interface ImportTargets {
  /** The registry's base URL. */
  registry: string;
  /** The prompt service's base URL. */
  prompt: string;
  /** The workflow service's base URL. */
  workflow: string;
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
  items: { kind: ImportKind; legacy_id: string; id: string; name: string; created: boolean; existing?: boolean | undefined }[];
  skipped: Skipped[];
  notes: Note[];
  /** The prompt converter's warnings: every conversion that could change meaning, each naming its legacy row. */
  warnings: string[];
  /** After --apply: each imported template previewed for an imported post's values, or why not (empty in a dry run). */
  previews: PreviewOutcome[];
  /** When the source was a dump file: what loading it ran, skipped and reported. */
  dump?: DumpReport;
}

/** A service refused the import: its problem, as it said it. */
export class ImportRefused extends Error {}

type RegistryAnswer = z.output<typeof LegacyRegistryImportResultSchema>;
type PromptAnswer = z.output<typeof LegacyPromptImportResultSchema>;
type WorkflowAnswer = z.output<typeof LegacyWorkflowImportResultSchema>;

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
  legacyId.startsWith('config:')
    ? 'llm_config'
    : legacyId.startsWith('model:')
      ? 'llm_model'
      : legacyId.startsWith('prompt:')
        ? 'llm_prompt'
        : legacyId.startsWith('action:')
          ? 'llm_action'
          : legacyId.startsWith('step:')
            ? 'workflow_step_entity'
            : 'legacy row';

/** The legacy table and row of what the workflow service refused, from its kind and legacy id. */
function workflowRow(kind: WorkflowKind, legacyId: string): { table: string; legacy_id: string } {
  const [head = '', rest = ''] = legacyId.split(/:(.*)/s);
  if (kind === 'stage') return { table: 'workflow_stage_entity', legacy_id: legacyId };
  if (kind === 'substage') return { table: 'workflow_sub_stage_entity', legacy_id: legacyId };
  if (kind === 'post') return { table: 'post', legacy_id: legacyId };
  if (kind === 'section') return { table: 'post_section', legacy_id: legacyId };
  if (kind === 'field') return { table: legacyId.split('.')[0] ?? 'field', legacy_id: legacyId };
  if (kind === 'action' || kind === 'choice')
    return rest
      ? { table: head === 'step' ? 'workflow_step_entity' : head, legacy_id: rest }
      : { table: kind, legacy_id: legacyId };
  // A value: `post 3 basic_idea` (post 3's post_development row) or `post_section 5 section_heading`.
  const [table = 'post', row = legacyId] = legacyId.split(/ (.*)/s);
  return { table: table === 'post' ? 'post_development' : table, legacy_id: row };
}

export interface ImportOptions {
  /** A postgres:// URL of the legacy database, or the path of a plain-SQL pg_dump file. */
  from: string;
  apply: boolean;
  targets: ImportTargets;
  /** For a dump file: an admin URL of the server to load it on (the system's own). */
  scratchServer?: string | undefined;
  /**
   * The name the imported rows are recorded under (default: the legacy database's own name, or the one the
   * dump was taken of). A run finds what an earlier one imported by it: name it when the legacy database
   * was restored under another name.
   */
  source?: string | undefined;
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
    return { snapshot: await readLegacy(options.from, options.source), dump: undefined, dropped: Promise.resolve() };
  if (!options.scratchServer)
    throw new ImportRefused('A dump file is loaded into a scratch database: say on which server (an admin DATABASE_URL).');
  const loaded = await loadDump(options.from, options.scratchServer, (done, total) =>
    options.progress?.('Loading the dump', done, total),
  );
  const snapshot = await readLegacy(loaded.url, options.source ?? loaded.source).catch(async (error: unknown) => {
    await loaded.drop();
    throw error;
  });
  return { snapshot, dump: loaded.report, dropped: loaded.drop().catch(() => undefined) };
}

export async function importLegacy(options: ImportOptions): Promise<ImportSummary> {
  const { snapshot, dump, dropped } = await readSource(options);
  const registry = planRegistry(snapshot);
  registry.request.presets.push(...planActionPresets(snapshot, new Set(registry.request.models.map((model) => model.legacy_id))));
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
    templates: planTemplates(snapshot),
  })) as PromptAnswer;
  const idsOf = (items: readonly { kind: string; legacy_id: string; id: string }[], kind: string) =>
    new Map(items.filter((item) => item.kind === kind).map((item) => [item.legacy_id, item.id]));
  const workflowPlan = planWorkflow(snapshot, {
    models: idsOf(answer.items, 'model'),
    presets: idsOf(answer.items, 'preset'),
    templates: new Map(
      prompt.items
        .filter((item) => item.kind === 'template')
        .map((item) => [item.legacy_id, { id: item.id, variables: (item.variables ?? []).map((v) => v.name) }]),
    ),
  });
  const { request: workflowRequest } = workflowPlan;
  const workflow = await sendInBatches(
    workflowRequest,
    async (batch) =>
      (await post(`${options.targets.workflow}/internal/import/legacy`, options.targets.secret, 'workflow', {
        ...batch,
        dry_run: !options.apply,
      })) as WorkflowAnswer,
    { done: (sent, total) => options.progress?.('Importing the posts', sent, total) },
  );
  // Interactions go last, in batches: a run killed half-way keeps what it finished (resume.ts in tests).
  const records = planRecords(snapshot);
  const providerIds = idsOf(answer.items, 'provider');
  const linked = linkRecords(records.records, snapshot, {
    templates: idsOf(prompt.items, 'template'),
    models: new Map(
      registry.request.models.flatMap((model) => {
        const id = answer.items.find((item) => item.kind === 'model' && item.legacy_id === model.legacy_id)?.id;
        return id ? [[model.legacy_id, { id, provider_id: providerIds.get(model.provider_legacy_id) ?? null }] as const] : [];
      }),
    ),
  });
  const { runner } = options.targets;
  if (records.records.length > 0 && !runner)
    throw new ImportRefused('The source holds interactions to keep as task records: set RUNNER_URL to the runner service.');
  const recordItems = await sendRecords(
    linked.records,
    options.batch ?? 100,
    async (batch) =>
      (await post(`${runner}/internal/import/legacy`, options.targets.secret, 'runner', {
        source: snapshot.source,
        dry_run: !options.apply,
        records: batch,
      })) as RecordAnswer,
    (done, total) => options.progress?.('Keeping interactions as task records', done, total),
  );
  const imported = prompt.items.flatMap((item) =>
    item.kind === 'template'
      ? [{ legacy_id: item.legacy_id, id: item.id, name: item.name, variables: item.variables ?? [] }]
      : [],
  );
  const previews = options.apply
    ? await checkPreviews(imported, workflowPlan, async (body) => {
        const answer = (await post(`${options.targets.prompt}/internal/render`, options.targets.secret, 'prompt', body)) as {
          ok: boolean;
          problems: { message: string }[];
        };
        return answer;
      })
    : [];
  const skipped: Skipped[] = [
    ...registry.skipped,
    ...records.skipped,
    ...prompt.refused.map((row) => ({
      kind: row.kind,
      table: row.kind === 'part' ? 'llm_prompt_part' : tableOf(row.legacy_id),
      // A template's legacy id names its table (`prompt:5`); the report names the table and the row.
      legacy_id: row.kind === 'part' ? row.legacy_id : row.legacy_id.replace(/^[a-z]+:/, ''),
      reason: row.reason,
    })),
    ...workflowPlan.skipped,
    ...workflow.refused.map((row) => ({ kind: row.kind, ...workflowRow(row.kind, row.legacy_id), reason: row.reason })),
    ...answer.refused.map((row) => ({
      kind: row.kind,
      table: tableOf(row.legacy_id),
      legacy_id: row.legacy_id,
      reason: row.reason,
    })),
  ];
  await dropped;
  const counts = {} as Record<ImportKind, KindCount>;
  const items = [
    ...answer.items,
    ...prompt.items.map(({ variables: _variables, ...item }) => item),
    ...workflow.items,
    ...recordItems,
  ];
  for (const kind of IMPORT_KINDS) {
    const ofKind = items.filter((item) => item.kind === kind);
    counts[kind] = {
      // A stage, field or substage of the same key already there is used as it is (`existing`), not imported.
      imported: ofKind.filter((item) => item.created).length,
      already: ofKind.filter((item) => !item.created && !('existing' in item && item.existing)).length,
      skipped: skipped.filter((skip) => skip.kind === kind).length,
    };
  }
  return {
    source: snapshot.source,
    epoch: snapshot.epoch,
    applied: options.apply,
    tables: Object.fromEntries(
      [...snapshot.columns]
        .filter(([table]) => (LEGACY_TABLES as readonly string[]).includes(table))
        .map(([table, cols]) => [table, [...cols]]),
    ),
    counts,
    items,
    skipped,
    notes: [...registry.notes, ...workflowPlan.notes, ...linked.notes],
    warnings: prompt.warnings,
    previews,
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
  if (summary.applied) {
    const failed = summary.previews.filter((preview) => !preview.ok);
    lines.push(
      `Previews: ${summary.previews.length - failed.length} of ${summary.previews.length} templates render for an imported post's values`,
    );
    for (const preview of failed)
      lines.push(
        `  ${preview.template_legacy_id.replace(':', ' ')} "${preview.template}"${preview.post_legacy_id ? ` (post ${preview.post_legacy_id})` : ''}: ${preview.problems.join('; ')}`,
      );
  } else lines.push('Run again with --apply to import.');
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
