import type { z } from 'zod';
import { isPgError, PgCode, withTransaction, type Queryable } from '@llmops/kit/db';
import { uuidv7 } from '@llmops/kit/ids';
import type { ServiceApp } from '@llmops/kit/http/app';
import { checkIfMatch, etagOf } from '@llmops/kit/http/preconditions';
import { Conflict, NotFound, type FieldProblem } from '@llmops/kit/problem';
import { decodeSortCursor, sortedPage } from '@llmops/kit/contracts/common';
import * as contract from '@llmops/kit/contracts/registry';
import { publish } from '@llmops/kit/bus/index';
import { presetChanged } from '@llmops/kit/events/registry';
import { checkModelParameters, DEFAULT_RETRY_POLICY } from '@llmops/kit/adapters/parameters';
import * as models from '../db/models.ts';
import * as presets from '../db/presets.ts';
import type { PresetRow } from '../db/presets.ts';
import { presetJson, presetSnapshot } from '../json.ts';
import { flag, invalid, sortOf, type RouteDeps } from './common.ts';

type Parameters = z.output<typeof contract.PresetParametersSchema>;

/**
 * Checks a preset's parameters against its model and every fallback: each must exist and not be
 * archived, make the same kind of output (text or images) as the first, and take the parameters under
 * its own rules (kit's one parameter checker, which the runner runs on every task too). Every problem is
 * listed at once, each naming its field.
 */
export async function checkPreset(
  db: Queryable,
  preset: { model_id: string | null; fallback_model_ids: readonly string[]; parameters: Parameters },
): Promise<void> {
  const ids = [...new Set([...(preset.model_id ? [preset.model_id] : []), ...preset.fallback_model_ids])];
  const found = new Map((await models.getMany(db, ids)).map((view) => [view.id, view]));
  const problems: FieldProblem[] = [];
  const targets: { field: string; view: models.ModelView }[] = [];
  if (preset.model_id) {
    const view = found.get(preset.model_id);
    if (!view || view.archived_at)
      problems.push({ field: 'body.model_id', message: view ? 'this model is archived' : 'no such model' });
    else targets.push({ field: 'body.model_id', view });
  }
  const seen = new Set<string>();
  preset.fallback_model_ids.forEach((id, index) => {
    const field = `body.fallback_model_ids[${index}]`;
    const view = found.get(id);
    if (id === preset.model_id) problems.push({ field, message: 'the preset’s own model cannot be its fallback' });
    else if (seen.has(id)) problems.push({ field, message: 'this model is already in the list' });
    else if (!view || view.archived_at) problems.push({ field, message: view ? 'this model is archived' : 'no such model' });
    else targets.push({ field, view });
    seen.add(id);
  });
  // One chain makes one kind of output: a task on it would drop every model of the other kind.
  const first = targets[0];
  for (const { field, view } of targets.slice(1))
    if (first && view.modality !== first.view.modality)
      problems.push({
        field,
        message: `model "${view.display_name}" ${view.modality === 'image' ? 'generates images' : 'writes text'}, but the preset's chain ${first.view.modality === 'image' ? 'generates images' : 'writes text'} (model "${first.view.display_name}"): a fallback must make the same kind of output`,
      });
  const reported = new Set<string>();
  for (const { view } of targets)
    for (const problem of checkModelParameters(view, preset.parameters)) {
      const key = `${problem.field}\n${problem.message}`;
      if (!reported.has(key)) problems.push(problem);
      reported.add(key);
    }
  if (problems.length > 0) throw invalid(...problems);
}

function nameTaken(error: unknown): never {
  if (isPgError(error, PgCode.uniqueViolation))
    throw new Conflict('A preset with this name already exists; choose another name.');
  throw error;
}

async function changed(tx: Queryable, row: PresetRow, change: 'created' | 'updated' | 'archived') {
  await publish(tx, presetChanged, { preset_id: row.id, change, preset: presetSnapshot(row), at: new Date().toISOString() });
}

export function mountPresets(app: ServiceApp, { pool }: RouteDeps): void {
  app.openapi(contract.listPresets, async (c) => {
    const query = c.req.valid('query');
    const rows = await presets.list(pool, {
      limit: query.limit + 1,
      ...sortOf(query.sort),
      after: decodeSortCursor(query.cursor, query.sort),
      modelId: query.model_id,
      includeArchived: flag(query.include_archived) ?? false,
    });
    const { page, next_cursor } = sortedPage(rows, query.limit, query.sort);
    return c.json({ items: page.map(presetJson), next_cursor }, 200);
  });

  app.openapi(contract.createPreset, async (c) => {
    const input = c.req.valid('json');
    const { body } = await withTransaction(pool, (tx) =>
      c.var.idempotent(tx, 'preset.create', input, async () => {
        const fields = {
          model_id: input.model_id ?? null,
          fallback_model_ids: input.fallback_model_ids ?? [],
          parameters: input.parameters ?? {},
        };
        await checkPreset(tx, fields);
        const id = uuidv7();
        await presets
          .insert(tx, {
            id,
            name: input.name,
            description: input.description ?? '',
            ...fields,
            retry_policy: input.retry_policy ?? DEFAULT_RETRY_POLICY,
            enabled: input.enabled ?? true,
          })
          .catch(nameTaken);
        const row = (await presets.get(tx, id)) as PresetRow;
        await changed(tx, row, 'created');
        const json = presetJson(row);
        await c.var.audit(tx, 'preset.created', { type: 'preset', id }, null, json);
        return { status: 201, body: json };
      }),
    );
    c.header('ETag', etagOf(body.updated_at));
    return c.json(body, 201);
  });

  app.openapi(contract.getPreset, async (c) => {
    const row = await presets.get(pool, c.req.valid('param').id);
    if (!row) throw new NotFound('No such parameter preset.');
    c.header('ETag', etagOf(row.updated_at));
    return c.json(presetJson(row), 200);
  });

  app.openapi(contract.updatePreset, async (c) => {
    const { id } = c.req.valid('param');
    const input = c.req.valid('json');
    const json = await withTransaction(pool, async (tx) => {
      const row = await presets.get(tx, id, { lock: true });
      if (!row) throw new NotFound('No such parameter preset.');
      checkIfMatch(c, row.updated_at, 'The preset');
      if (row.archived_at) throw new Conflict('This preset is archived; archived presets cannot be changed.');
      const next = {
        model_id: input.model_id === undefined ? row.model_id : input.model_id,
        fallback_model_ids: input.fallback_model_ids ?? row.fallback_model_ids,
        parameters: (input.parameters ?? row.parameters) as Parameters,
      };
      await checkPreset(tx, next);
      await presets
        .update(tx, id, {
          name: input.name,
          description: input.description,
          model_id: input.model_id,
          parameters: input.parameters,
          retry_policy: input.retry_policy,
          fallback_model_ids: input.fallback_model_ids,
          enabled: input.enabled,
        })
        .catch(nameTaken);
      const updated = (await presets.get(tx, id)) as PresetRow;
      await changed(tx, updated, 'updated');
      const after = presetJson(updated);
      await c.var.audit(tx, 'preset.updated', { type: 'preset', id }, presetJson(row), after);
      return after;
    });
    c.header('ETag', etagOf(json.updated_at));
    return c.json(json, 200);
  });

  app.openapi(contract.deletePreset, async (c) => {
    const { id } = c.req.valid('param');
    const archivedAt = await withTransaction(pool, async (tx) => {
      const row = await presets.get(tx, id, { lock: true });
      if (!row) throw new NotFound('No such parameter preset.');
      checkIfMatch(c, row.updated_at, 'The preset');
      if (row.archived_at) return row.archived_at;
      await presets.archive(tx, id);
      const archived = (await presets.get(tx, id)) as PresetRow;
      await changed(tx, archived, 'archived');
      await c.var.audit(tx, 'preset.archived', { type: 'preset', id }, presetJson(row), presetJson(archived));
      return archived.archived_at as Date;
    });
    return c.json({ archived: true as const, archived_at: archivedAt.toISOString() }, 200);
  });
}
