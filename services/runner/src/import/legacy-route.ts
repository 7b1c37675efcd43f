import type { z } from 'zod';
import { withTransaction, type Pool, type Queryable } from '@llmops/kit/db';
import type { Audit } from '@llmops/kit/http/audit';
import type { ServiceApp } from '@llmops/kit/http/app';
import type { Identity } from '@llmops/kit/http/identity';
import { uuidv7At } from '@llmops/kit/ids';
import { Forbidden } from '@llmops/kit/problem';
import {
  importLegacyRecords,
  type LegacyRecordImportResultSchema,
  type LegacyRecordImportSchema,
} from '@llmops/kit/contracts/runner-legacy-import';
import * as legacy from './legacy-records.ts';
import * as usage from '../tasks/usage.ts';

type Answer = z.output<typeof LegacyRecordImportResultSchema>;
type Input = z.output<typeof LegacyRecordImportSchema>;

/** Only the legacy importer (the operator CLI's `import legacy`) comes this way. */
function onlyImporter(identity: Identity): void {
  if (identity.kind !== 'service' || identity.subject !== 'importer')
    throw new Forbidden('Only the legacy importer (`npm run llmops -- import legacy`) may import legacy rows.');
}

class DryRunDone extends Error {
  readonly answer: Answer;
  constructor(answer: Answer) {
    super('dry run');
    this.answer = answer;
  }
}

/**
 * The legacy importer's route (docs/migration.md): `llm_interaction` rows that hold a prompt and an output,
 * kept as historical task records of source `legacy` (done, never claimable, read only: see
 * sql/runner/000008). No task event is published: nothing happened now, and nothing is to run. One
 * transaction per request; a dry run does all of it and rolls back; `runner.legacy_ids` makes a second
 * import create nothing, only give a record made before the links it lacked and can now have.
 */
export function mountLegacyImport(app: ServiceApp, { pool }: { pool: Pool }): void {
  app.openapi(importLegacyRecords, async (c) => {
    onlyImporter(c.get('identity'));
    const input = c.req.valid('json');
    const answer = await withTransaction(pool, async (tx) => {
      const out = await importRecords(tx, input, c.var.audit);
      if (input.dry_run) throw new DryRunDone(out);
      return out;
    }).catch((error: unknown) => {
      if (error instanceof DryRunDone) return error.answer;
      throw error;
    });
    return c.json(answer, 200);
  });
}

async function importRecords(tx: Queryable, input: Input, audit: Audit): Promise<Answer> {
  const { source } = input;
  await legacy.lockSource(tx, source);
  const known = await legacy.ofSource(
    tx,
    source,
    input.records.map((record) => record.legacy_id),
  );
  const name = (legacyId: string) => `llm_interaction ${legacyId}`;
  const fresh = new Map<string, legacy.LegacyRecord>();
  for (const record of input.records) {
    if (known.has(record.legacy_id) || fresh.has(record.legacy_id)) continue;
    const at = record.created_at === null ? new Date() : new Date(record.created_at);
    fresh.set(record.legacy_id, {
      // The id carries the legacy time, so the history (newest first, by id) shows the record where it happened.
      id: uuidv7At(at.getTime()),
      legacy_id: record.legacy_id,
      snapshot: {
        messages: [{ role: 'user', content: record.prompt }],
        parameters: {},
        chain: [],
        retry_policy: { max_attempts: 0, initial_backoff_ms: 0, max_backoff_ms: 0, backoff_multiplier: 1 },
        timeouts: { first_byte_ms: null, idle_ms: null },
        image: null,
        estimated_input_tokens: 0,
        rendered: false,
        legacy: { source, table: 'llm_interaction', id: record.legacy_id, model: record.model, ...record.legacy },
      },
      correlation: { legacy_source: source, legacy_interaction_id: record.legacy_id },
      output_text: record.output,
      created_at: at.toISOString(),
      template_id: record.template_id,
      model_id: record.model_id,
      provider_id: record.provider_id,
    });
  }
  const rows = await legacy.insert(tx, [...fresh.values()]);
  // No task event comes for an imported record: it enters the usage rollup's buckets here (tasks/usage.ts).
  await usage.rollUp(
    tx,
    rows.map((row) => row.id),
  );
  await legacy.record(
    tx,
    source,
    rows.map((row) => ({ legacy_id: String(row.correlation?.legacy_interaction_id), id: row.id })),
  );
  for (const row of rows)
    await audit(tx, 'task.imported', { type: 'task', id: row.id }, null, {
      source: 'legacy',
      legacy: { source, table: 'llm_interaction', id: row.correlation?.legacy_interaction_id },
    });
  // A record made before gets the links it lacked where its template or model has been imported since.
  const linked = await legacy.linkLater(
    tx,
    input.records.flatMap((record) => {
      const id = known.get(record.legacy_id);
      return id ? [{ id, template_id: record.template_id, model_id: record.model_id, provider_id: record.provider_id }] : [];
    }),
  );
  for (const link of linked)
    await audit(tx, 'task.linked', { type: 'task', id: link.id }, link.before, { source: 'legacy', ...link.after });
  const made = new Map(rows.map((row) => [String(row.correlation?.legacy_interaction_id), row.id]));
  return {
    items: input.records.map((record) => {
      const earlier = known.get(record.legacy_id);
      return {
        kind: 'record' as const,
        legacy_id: record.legacy_id,
        id: earlier ?? (made.get(record.legacy_id) as string),
        created: earlier === undefined,
        name: name(record.legacy_id),
      };
    }),
  };
}
