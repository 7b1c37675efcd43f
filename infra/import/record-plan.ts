/**
 * What a legacy database's `llm_interaction` rows become in the runner (docs/migration.md, "Historical
 * records"): each row that holds a prompt and an output, a historical task record; every other row is
 * skipped with its id and the reason. The records go in batches, each its own transaction in the runner, so
 * an import killed half-way keeps the batches it finished and the next run sends only the rest.
 */
import type { z } from 'zod';
import type { LegacyRecordImportResultSchema, LegacyRecordImportSchema } from '@llmops/kit/contracts/runner-legacy-import';
import { LEGACY_RECORDS_PER_REQUEST } from '@llmops/kit/contracts/runner-legacy-import';
import type { LegacySnapshot } from './legacy-source.ts';

export type RecordIn = z.input<typeof LegacyRecordImportSchema>['records'] extends (infer R)[] | undefined ? R : never;
export type RecordAnswer = z.output<typeof LegacyRecordImportResultSchema>;

export interface RecordSkip {
  kind: 'record';
  table: 'llm_interaction';
  legacy_id: string;
  reason: string;
}

/** A record kept without a link its legacy row names, and why. */
export interface RecordNote {
  kind: 'record';
  legacy_id: string;
  message: string;
}

/** What the registry and the prompt service answered, by legacy id (their `items`). */
export interface RecordLinks {
  /** `prompt:<id>` → the template it became. */
  templates: ReadonlyMap<string, string>;
  /** A model's legacy id (an `llm_model` id, or `name:<name>` before the registry) → the model it became. */
  models: ReadonlyMap<string, { id: string; provider_id: string | null }>;
}

/** A request body stays under the services' 1 MiB limit with room for the envelope. */
const MAX_BATCH_BYTES = 900_000;

const text = (value: unknown): string => (typeof value === 'string' ? value.trim() : '');
const objectOf = (value: unknown): Record<string, unknown> =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
/** A value as JSON keeps it: timestamps without a zone are read by pg as UTC on the importer's side. */
const plain = (value: unknown): unknown => (value instanceof Date ? value.toISOString() : value);

export function planRecords(snapshot: LegacySnapshot): { records: RecordIn[]; skipped: RecordSkip[] } {
  const records: RecordIn[] = [];
  const skipped: RecordSkip[] = [];
  for (const row of snapshot.rows.llm_interaction) {
    const legacyId = String(row.id);
    const skip = (reason: string) => skipped.push({ kind: 'record', table: 'llm_interaction', legacy_id: legacyId, reason });
    const used = text(objectOf(row.parameters_used).prompt_used);
    // What was sent: `parameters_used.prompt_used` when the row kept it (the E4 syndication rows), else input_text.
    const prompt = used || text(row.input_text);
    const output = text(row.output_text);
    if (!prompt && !output) {
      skip('holds neither a prompt nor an output (input_text and output_text are empty): there is nothing to keep');
      continue;
    }
    if (!output) {
      skip('holds no output (output_text is empty): a record keeps what was sent and what came back, and nothing came back');
      continue;
    }
    if (!prompt) {
      skip('holds no prompt (input_text is empty and parameters_used has no prompt_used): what was sent is unknown');
      continue;
    }
    const created = row.created_at instanceof Date ? row.created_at : null;
    const legacy = Object.fromEntries(
      Object.entries(row)
        .filter(([column]) => !['id', 'input_text', 'output_text', 'created_at'].includes(column))
        .map(([column, value]) => [column, plain(value)]),
    );
    if (used && text(row.input_text)) legacy.input_text = row.input_text;
    const record: RecordIn = {
      legacy_id: legacyId,
      prompt,
      output,
      created_at: created && !Number.isNaN(created.getTime()) ? created.toISOString() : null,
      model: text(objectOf(row.interaction_metadata).llm_model).slice(0, 200) || null,
      legacy,
    };
    const bytes = Buffer.byteLength(JSON.stringify(record));
    if (bytes > MAX_BATCH_BYTES) {
      skip(`is ${bytes} bytes as JSON, more than one request to the runner may carry (${MAX_BATCH_BYTES}): not imported`);
      continue;
    }
    records.push(record);
  }
  return { records, skipped };
}

/**
 * Links each record to what its legacy row names, where that was imported (docs/migration.md, "Historical
 * records"): `prompt_id` → the template it became (version 1, label `legacy`); the model name of
 * `interaction_metadata.llm_model` → the model, resolved as the legacy runtime resolved names (the first
 * `llm_model` row of that name; `llm_provider`, when the row kept it, picks among several). A link that
 * cannot be made is a note with the reason; the record is kept either way.
 */
export function linkRecords(
  records: readonly RecordIn[],
  snapshot: LegacySnapshot,
  links: RecordLinks,
): { records: RecordIn[]; notes: RecordNote[] } {
  const notes: RecordNote[] = [];
  const providers = new Map(snapshot.rows.llm_provider.map((row) => [String(row.id), row]));
  const prompts = new Set(snapshot.rows.llm_prompt.map((row) => String(row.id)));
  const modelOf = (name: string, provider: string): string | null => {
    if (!snapshot.columns.has('llm_model')) return `name:${name}`;
    const rows = snapshot.rows.llm_model.filter((row) => text(row.name) === name);
    const wanted = provider.toLowerCase();
    const kindOf = (row: (typeof rows)[number]) => providers.get(String(row.provider_id));
    const matching = wanted
      ? rows.find((row) => [text(kindOf(row)?.type), text(kindOf(row)?.name)].some((v) => v.toLowerCase() === wanted))
      : undefined;
    const row = matching ?? rows[0];
    return row ? String(row.id) : null;
  };
  const out = records.map((record) => {
    const note = (message: string) => notes.push({ kind: 'record', legacy_id: record.legacy_id, message });
    const legacy = record.legacy ?? {};
    const promptId = legacy.prompt_id == null ? '' : String(legacy.prompt_id);
    let templateId: string | null = null;
    if (promptId) {
      templateId = links.templates.get(`prompt:${promptId}`) ?? null;
      if (!templateId)
        note(
          prompts.has(promptId)
            ? `its prompt (llm_prompt ${promptId}) is not imported (see the template's reason): the record is not linked to a template`
            : `its prompt_id ${promptId} names no llm_prompt row: the record is not linked to a template`,
        );
    }
    let model: { id: string; provider_id: string | null } | null = null;
    if (record.model) {
      const provider = text(objectOf(legacy.interaction_metadata).llm_provider);
      const legacyModel = modelOf(record.model, provider);
      model = legacyModel ? (links.models.get(legacyModel) ?? null) : null;
      if (!model)
        note(
          legacyModel
            ? `its model "${record.model}"${legacyModel.startsWith('name:') ? '' : ` (llm_model ${legacyModel})`} is not imported (see the model's reason): the record is not linked to a model`
            : `its model "${record.model}" has no llm_model row (a test row?): the record is not linked to a model`,
        );
    }
    return { ...record, template_id: templateId, model_id: model?.id ?? null, provider_id: model?.provider_id ?? null };
  });
  return { records: out, notes };
}

/** The records in batches of at most `size` rows and under the body limit, in their order. */
export function batches(records: readonly RecordIn[], size: number): RecordIn[][] {
  const limit = Math.max(1, Math.min(size, LEGACY_RECORDS_PER_REQUEST));
  const out: RecordIn[][] = [];
  let current: RecordIn[] = [];
  let bytes = 0;
  for (const record of records) {
    const length = Buffer.byteLength(JSON.stringify(record)) + 1;
    if (current.length > 0 && (current.length >= limit || bytes + length > MAX_BATCH_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += length;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/** Sends every batch in order; `done` hears how many records are through after each. */
export async function sendRecords(
  records: readonly RecordIn[],
  size: number,
  send: (batch: RecordIn[]) => Promise<RecordAnswer>,
  done?: (count: number, total: number) => void,
): Promise<RecordAnswer['items']> {
  const items: RecordAnswer['items'] = [];
  for (const batch of batches(records, size)) {
    items.push(...(await send(batch)).items);
    done?.(items.length, records.length);
  }
  return items;
}
