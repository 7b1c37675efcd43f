import type { z } from 'zod';
import { isPgError, PgCode, withTransaction, type Queryable } from '@llmops/kit/db';
import { uuidv7 } from '@llmops/kit/ids';
import type { ServiceApp } from '@llmops/kit/http/app';
import { checkIfMatch, etagOf } from '@llmops/kit/http/preconditions';
import { Conflict, NotFound } from '@llmops/kit/problem';
import { decodeSortCursor, sortedPage } from '@llmops/kit/contracts/common';
import * as contract from '@llmops/kit/contracts/registry';
import { publish } from '@llmops/kit/bus/index';
import { modelChanged } from '@llmops/kit/events/registry';
import { defaultRules, rulesProblems, type ModelRules } from '@llmops/kit/adapters/rules';
import type { ProviderKind } from '@llmops/kit/adapters/types';
import * as families from '../db/model-families.ts';
import * as models from '../db/models.ts';
import * as providers from '../db/providers.ts';
import { modelJson, modelSnapshot } from '../json.ts';
import { flag, invalid, sortOf, type RouteDeps } from './common.ts';

type ModelInput = Omit<z.output<typeof contract.ModelCreateSchema>, 'provider_id'>;
type PriceInput = z.output<typeof contract.PriceInputSchema>;

/** Adds a price, or a 422 naming `<field>.effective_from` when it would rewrite history. */
export async function addPrice(tx: Queryable, modelId: string, price: PriceInput, field: string): Promise<void> {
  const outcome = await models.addPrice(tx, modelId, {
    input_per_mtok: price.input_per_mtok,
    output_per_mtok: price.output_per_mtok,
    cached_input_per_mtok: price.cached_input_per_mtok ?? null,
    per_image: price.per_image ?? null,
    effective_from: price.effective_from,
  });
  if (outcome === 'past')
    throw invalid({ field: `${field}.effective_from`, message: 'must not be in the past: past calls keep the price they had' });
  if (outcome === 'not-after-latest')
    throw invalid({ field: `${field}.effective_from`, message: 'must be later than the latest price’s effective_from' });
}

/**
 * The rules a new model starts with: the ones given (checked against what the kind's protocol has), else
 * a copy of its family's (sql/registry model_families), else the kind's permissive default.
 */
async function startingRules(
  tx: Queryable,
  kind: ProviderKind,
  input: ModelInput,
  field: string,
): Promise<{ rules: ModelRules; rules_family: string | null }> {
  const modality = input.modality ?? 'chat';
  if (input.rules) {
    const problems = rulesProblems(kind, input.rules, `${field}.rules`);
    if (problems.length > 0) throw invalid(...problems);
    return { rules: input.rules, rules_family: null };
  }
  const family = await families.match(tx, kind, modality, input.provider_model_id);
  return family ? { rules: family.rules, rules_family: family.id } : { rules: defaultRules(kind, modality), rules_family: null };
}

/**
 * Creates models of one provider in the caller's transaction, each with its first price and its rules.
 * A provider model id that the provider already has (or that appears twice) is a 422 naming the field.
 */
export async function createModels(
  tx: Queryable,
  provider: { id: string; kind: ProviderKind },
  inputs: readonly ModelInput[],
  fieldOf: (index: number) => string,
): Promise<models.ModelView[]> {
  const providerId = provider.id;
  const existing = new Set(
    (await models.ofProvider(tx, providerId)).filter((m) => !m.archived_at).map((m) => m.provider_model_id),
  );
  const seen = new Set<string>();
  const problems = inputs.flatMap((input, index) => {
    const duplicate = existing.has(input.provider_model_id) || seen.has(input.provider_model_id);
    seen.add(input.provider_model_id);
    return duplicate
      ? [
          {
            field: `${fieldOf(index)}.provider_model_id`,
            message: `this provider already has a model "${input.provider_model_id}"`,
          },
        ]
      : [];
  });
  if (problems.length > 0) throw invalid(...problems);
  const ids: string[] = [];
  for (const [index, input] of inputs.entries()) {
    const id = uuidv7();
    const rules = await startingRules(tx, provider.kind, input, fieldOf(index));
    try {
      await models.insert(tx, {
        id,
        provider_id: providerId,
        provider_model_id: input.provider_model_id,
        display_name: input.display_name ?? input.provider_model_id,
        modality: input.modality ?? 'chat',
        context_window: input.context_window ?? null,
        max_output_tokens: input.max_output_tokens ?? null,
        supports_streaming: input.capabilities?.streaming ?? true,
        supports_json: input.capabilities?.json_output ?? false,
        supports_vision: input.capabilities?.vision ?? false,
        supports_tools: input.capabilities?.tools ?? false,
        ...rules,
        enabled: input.enabled ?? true,
      });
    } catch (error) {
      if (isPgError(error, PgCode.uniqueViolation))
        throw invalid({
          field: `${fieldOf(index)}.provider_model_id`,
          message: `this provider already has a model "${input.provider_model_id}"`,
        });
      throw error;
    }
    if (input.price) await addPrice(tx, id, input.price, `${fieldOf(index)}.price`);
    ids.push(id);
  }
  return models.getMany(tx, ids);
}

/** Publishes registry.model.changed for each model, in the caller's transaction. */
export async function modelEvents(tx: Queryable, change: 'created' | 'updated' | 'archived', views: readonly models.ModelView[]) {
  const at = new Date().toISOString();
  for (const view of views) await publish(tx, modelChanged, { model_id: view.id, change, model: modelSnapshot(view), at });
}

export function mountModels(app: ServiceApp, { pool }: RouteDeps): void {
  app.openapi(contract.listModels, async (c) => {
    const query = c.req.valid('query');
    const rows = await models.list(pool, {
      limit: query.limit + 1,
      ...sortOf(query.sort),
      after: decodeSortCursor(query.cursor, query.sort),
      providerId: query.provider_id,
      modality: query.modality,
      enabled: flag(query.enabled),
      includeArchived: flag(query.include_archived) ?? false,
    });
    const { page, next_cursor } = sortedPage(rows, query.limit, query.sort);
    return c.json({ items: page.map(modelJson), next_cursor }, 200);
  });

  app.openapi(contract.createModel, async (c) => {
    const input = c.req.valid('json');
    const { body } = await withTransaction(pool, async (tx) =>
      c.var.idempotent(tx, 'model.create', input, async () => {
        const provider = await providers.get(tx, input.provider_id, { lock: true });
        if (!provider || provider.archived_at)
          throw invalid({ field: 'body.provider_id', message: provider ? 'this provider is archived' : 'no such provider' });
        const { provider_id: _provider, ...fields } = input;
        const [view] = await createModels(tx, provider, [fields], () => 'body');
        const created = view as models.ModelView;
        await modelEvents(tx, 'created', [created]);
        const json = modelJson(created);
        await c.var.audit(tx, 'model.created', { type: 'model', id: created.id }, null, json);
        return { status: 201, body: json };
      }),
    );
    c.header('ETag', etagOf(body.updated_at));
    return c.json(body, 201);
  });

  app.openapi(contract.getModel, async (c) => {
    const view = await models.get(pool, c.req.valid('param').id);
    if (!view) throw new NotFound('No such model.');
    c.header('ETag', etagOf(view.updated_at));
    return c.json(modelJson(view), 200);
  });

  app.openapi(contract.updateModel, async (c) => {
    const { id } = c.req.valid('param');
    const input = c.req.valid('json');
    const json = await withTransaction(pool, async (tx) => {
      const row = await models.lock(tx, id);
      if (!row) throw new NotFound('No such model.');
      checkIfMatch(c, row.updated_at, 'The model');
      if (row.archived_at) throw new Conflict('This model is archived; archived models cannot be changed.');
      const current = (await models.get(tx, id)) as models.ModelView;
      const before = modelJson(current);
      if (input.rules) {
        const problems = rulesProblems(current.provider_kind, input.rules, 'body.rules');
        if (problems.length > 0) throw invalid(...problems);
      }
      await models.update(tx, id, {
        ...(input.rules ? { rules: input.rules, rules_family: null } : {}),
        display_name: input.display_name,
        context_window: input.context_window,
        max_output_tokens: input.max_output_tokens,
        supports_streaming: input.capabilities?.streaming,
        supports_json: input.capabilities?.json_output,
        supports_vision: input.capabilities?.vision,
        supports_tools: input.capabilities?.tools,
        enabled: input.enabled,
      });
      if (input.price) await addPrice(tx, id, input.price, 'body.price');
      const after = (await models.get(tx, id)) as models.ModelView;
      await modelEvents(tx, 'updated', [after]);
      const json = modelJson(after);
      await c.var.audit(tx, 'model.updated', { type: 'model', id }, before, json);
      return json;
    });
    c.header('ETag', etagOf(json.updated_at));
    return c.json(json, 200);
  });

  /**
   * Locks the model and its price starting at `at`, refusing what cannot change: an unknown model or
   * price (404), an archived model or a price already in effect (409, saying why).
   */
  async function scheduledPrice(tx: Queryable, c: Parameters<typeof checkIfMatch>[0], id: string, at: string) {
    const row = await models.lock(tx, id);
    if (!row) throw new NotFound('No such model.');
    checkIfMatch(c, row.updated_at, 'The model');
    if (row.archived_at) throw new Conflict('This model is archived; archived models cannot be changed.');
    const price = await models.lockPrice(tx, id, at);
    if (!price) throw new NotFound(`The model has no price starting at ${at}; its prices are listed in \`prices\`.`);
    if (price.in_effect)
      throw new Conflict(
        `This price has been in effect since ${price.effective_from.toISOString()}: attempts were charged it, so it stays in the history. Give the model a new price from a later time instead.`,
      );
    return { before: modelJson((await models.get(tx, id)) as models.ModelView), price };
  }

  async function priceChanged(tx: Queryable, id: string) {
    await models.update(tx, id, {});
    const after = (await models.get(tx, id)) as models.ModelView;
    await modelEvents(tx, 'updated', [after]);
    return modelJson(after);
  }

  app.openapi(contract.replaceModelPrice, async (c) => {
    const { id, effective_from: at } = c.req.valid('param');
    const input = c.req.valid('json');
    const json = await withTransaction(pool, async (tx) => {
      const { before, price } = await scheduledPrice(tx, c, id, at);
      await models.removePrice(tx, id, price.effective_from);
      await addPrice(tx, id, { ...input, effective_from: input.effective_from ?? price.effective_from.toISOString() }, 'body');
      const after = await priceChanged(tx, id);
      await c.var.audit(tx, 'model.price_replaced', { type: 'model', id }, before, after);
      return after;
    });
    c.header('ETag', etagOf(json.updated_at));
    return c.json(json, 200);
  });

  app.openapi(contract.withdrawModelPrice, async (c) => {
    const { id, effective_from: at } = c.req.valid('param');
    const json = await withTransaction(pool, async (tx) => {
      const { before, price } = await scheduledPrice(tx, c, id, at);
      await models.removePrice(tx, id, price.effective_from);
      const after = await priceChanged(tx, id);
      await c.var.audit(tx, 'model.price_withdrawn', { type: 'model', id }, before, after);
      return after;
    });
    c.header('ETag', etagOf(json.updated_at));
    return c.json(json, 200);
  });

  app.openapi(contract.deleteModel, async (c) => {
    const { id } = c.req.valid('param');
    const outcome = await withTransaction(pool, async (tx) => {
      const row = await models.lock(tx, id);
      if (!row) throw new NotFound('No such model.');
      checkIfMatch(c, row.updated_at, 'The model');
      if (row.archived_at) return { archived_at: row.archived_at };
      const presets = await models.presetsUsing(tx, [id]);
      if (presets.length > 0) throw new Conflict(`Presets use this model: ${presets.join(', ')}. Change or archive them first.`);
      const before = modelJson((await models.get(tx, id)) as models.ModelView);
      // Used by tasks, or named by an archived preset: history must keep resolving it.
      if (row.last_used_at || (await models.referencedByPresets(tx, [id]))) {
        await models.archive(tx, [id]);
        const after = (await models.get(tx, id)) as models.ModelView;
        await modelEvents(tx, 'archived', [after]);
        await c.var.audit(tx, 'model.archived', { type: 'model', id }, before, modelJson(after));
        return { archived_at: after.archived_at as Date };
      }
      await models.remove(tx, id);
      await publish(tx, modelChanged, { model_id: id, change: 'deleted', model: null, at: new Date().toISOString() });
      await c.var.audit(tx, 'model.deleted', { type: 'model', id }, before, null);
      return undefined;
    });
    if (!outcome) return c.body(null, 204);
    return c.json({ archived: true as const, archived_at: outcome.archived_at.toISOString() }, 200);
  });
}
