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
