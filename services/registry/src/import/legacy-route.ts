import type { z } from 'zod';
import { withTransaction, type PoolClient, type Queryable } from '@llmops/kit/db';
import type { Audit } from '@llmops/kit/http/audit';
import { uuidv7 } from '@llmops/kit/ids';
import type { ServiceApp } from '@llmops/kit/http/app';
import type { Identity } from '@llmops/kit/http/identity';
import { Forbidden, Unprocessable } from '@llmops/kit/problem';
import { publish } from '@llmops/kit/bus/index';
import {
  importLegacyRegistry,
  type LegacyRegistryImportResultSchema,
  type LegacyRegistryImportSchema,
} from '@llmops/kit/contracts/registry';
import { presetChanged, providerChanged } from '@llmops/kit/events/registry';
import { DEFAULT_RETRY_POLICY } from '@llmops/kit/adapters/parameters';
import * as presets from '../db/presets.ts';
import type { PresetRow } from '../db/presets.ts';
import * as providers from '../db/providers.ts';
import { modelJson, presetJson, presetSnapshot, providerJson, providerSnapshot } from '../json.ts';
import { invalid, type RouteDeps } from '../routes/common.ts';
import { createModels, modelEvents } from '../routes/models.ts';
import { checkPreset } from '../routes/presets.ts';
import * as legacyIds from './legacy-ids.ts';

type Answer = z.output<typeof LegacyRegistryImportResultSchema>;
type Item = Answer['items'][number];

/** Only the legacy importer (the operator CLI's `import legacy`) comes this way. */
function onlyImporter(identity: Identity): void {
  if (identity.kind !== 'service' || identity.subject !== 'importer')
    throw new Forbidden('Only the legacy importer (`npm run llmops -- import legacy`) may import legacy rows.');
}

/** `name`, else `name (legacy)`, `name (legacy 2)`…: live names are unique, and the report says which one it took. */
function freeName(name: string, taken: Set<string>): string {
  let candidate = name;
  for (let n = 1; taken.has(candidate.toLowerCase()); n++) candidate = `${name.slice(0, 80)} (legacy${n === 1 ? '' : ` ${n}`})`;
  taken.add(candidate.toLowerCase());
  return candidate;
}

/**
 * The legacy importer's route (docs/migration.md): providers, then their models, then presets, in one
 * transaction, through the same checks and events as the public creates. What `registry.legacy_ids`
 * already holds for the source is answered, not created again, so a second import creates nothing.
 */
export function mountLegacyImport(app: ServiceApp, { pool }: RouteDeps): void {
  app.openapi(importLegacyRegistry, async (c) => {
    onlyImporter(c.get('identity'));
    const input = c.req.valid('json');
    const answer = await withTransaction(pool, async (tx) => {
      const out = await importRows(tx, input, c.var.audit);
      // A dry run goes through every check and insert, then rolls back: it answers what an import would do.
      if (input.dry_run) throw new DryRunDone(out);
      return out;
    }).catch((error: unknown) => {
      if (error instanceof DryRunDone) return error.answer;
      throw error;
    });
    return c.json(answer, 200);
  });
}

class DryRunDone extends Error {
  readonly answer: Answer;
  constructor(answer: Answer) {
    super('dry run');
    this.answer = answer;
  }
}

async function importRows(tx: PoolClient, input: z.output<typeof LegacyRegistryImportSchema>, audit: Audit): Promise<Answer> {
  const { source } = input;
  await legacyIds.lockSource(tx, source);
  const known = await legacyIds.ofSource(tx, source);
  const out: Item[] = [];
  const refused: Answer['refused'] = [];
  const kept = (kind: Item['kind'], legacyId: string, name: string): boolean => {
    const id = known.get(`${kind}:${legacyId}`);
    if (id) out.push({ kind, legacy_id: legacyId, id, created: false, name });
    return id !== undefined;
  };
  const made = async (kind: Item['kind'], legacyId: string, id: string, name: string, after: unknown) => {
    await legacyIds.record(tx, source, kind, legacyId, id);
    known.set(`${kind}:${legacyId}`, id);
    out.push({ kind, legacy_id: legacyId, id, created: true, name });
    await audit(tx, `${kind}.imported`, { type: kind, id }, null, after);
  };

  const providerNames = await legacyIds.liveNames(tx, 'providers');
  for (const provider of input.providers) {
    if (kept('provider', provider.legacy_id, provider.name)) continue;
    const row = await providers.insert(tx, {
      id: uuidv7(),
      name: freeName(provider.name, providerNames),
      kind: provider.kind,
      base_url: provider.base_url.replace(/\/+$/, ''),
      api_key_envelope: null,
      api_key_hint: null,
      organization: null,
      project: null,
      extra_headers: {},
      timeout_ms: 60_000,
      max_concurrency: null,
      rpm_limit: null,
      monthly_spend_cap_usd: null,
      max_tokens_field: null,
      enabled: true,
    });
    await publish(tx, providerChanged, {
      provider_id: row.id,
      change: 'created',
      provider: providerSnapshot(row, false),
      at: new Date().toISOString(),
    });
    await made('provider', provider.legacy_id, row.id, row.name, providerJson(row));
  }

  for (const [index, model] of input.models.entries()) {
    if (kept('model', model.legacy_id, model.provider_model_id)) continue;
    const provider = await providerOf(tx, known, model.provider_legacy_id, `body.models[${index}].provider_legacy_id`);
    const [view] = await createModels(
      tx,
      provider,
      [{ provider_model_id: model.provider_model_id, max_output_tokens: model.max_output_tokens ?? null }],
      () => `body.models[${index}]`,
    );
    if (!view) throw new Error('createModels made no model');
    await modelEvents(tx, 'created', [view]);
    await made('model', model.legacy_id, view.id, view.display_name, modelJson(view));
  }

  const presetNames = await legacyIds.liveNames(tx, 'presets');
  for (const [index, preset] of input.presets.entries()) {
    if (kept('preset', preset.legacy_id, preset.name)) continue;
    const modelId = preset.model_legacy_id === null ? null : known.get(`model:${preset.model_legacy_id}`);
    if (modelId === undefined)
      throw invalid({
        field: `body.presets[${index}].model_legacy_id`,
        message: `no model of legacy id ${preset.model_legacy_id} in this import or an earlier one of "${source}"`,
      });
    const fields = { model_id: modelId, fallback_model_ids: [], parameters: preset.parameters };
    // A preset its model refuses is left out with the model's reason; the rest of the import goes on.
    const problem = await checkPreset(tx, fields).then(
      () => undefined,
      (error: unknown) => (error instanceof Unprocessable ? error : Promise.reject(error)),
    );
    if (problem) {
      refused.push({ kind: 'preset', legacy_id: preset.legacy_id, reason: presetRefusal(problem) });
      continue;
    }
    const id = uuidv7();
    await presets.insert(tx, {
      id,
      name: freeName(preset.name, presetNames),
      description: preset.description,
      ...fields,
      retry_policy: { ...DEFAULT_RETRY_POLICY },
      enabled: true,
    });
    const row = (await presets.get(tx, id)) as PresetRow;
    await publish(tx, presetChanged, {
      preset_id: id,
      change: 'created',
      preset: presetSnapshot(row),
      at: new Date().toISOString(),
    });
    await made('preset', preset.legacy_id, id, row.name, presetJson(row));
  }
  return { items: out, refused };
}

/** The model's reasons, without the request's field paths (the importer's report names the row). */
function presetRefusal(problem: Unprocessable): string {
  const reasons = (problem.errors ?? []).map((error) => `${error.field.replace(/^body\./, '')}: ${error.message}`);
  return `the registry refuses its parameters (${reasons.join('; ') || problem.message})`;
}

async function providerOf(tx: Queryable, known: Map<string, string>, legacyId: string, field: string) {
  const id = known.get(`provider:${legacyId}`);
  const row = id ? await providers.get(tx, id, { lock: true }) : undefined;
  if (!row || row.archived_at)
    throw invalid({
      field,
      message: row ? 'the provider imported for this legacy id is archived' : `no provider of legacy id ${legacyId} was imported`,
    });
  return row;
}
