import type { z } from 'zod';
import { isPgError, PgCode, withTransaction, type Queryable } from '@llmops/kit/db';
import { uuidv7 } from '@llmops/kit/ids';
import type { ServiceApp } from '@llmops/kit/http/app';
import { checkIfMatch, etagOf } from '@llmops/kit/http/preconditions';
import { Conflict, fieldPath, HttpProblem, NotFound } from '@llmops/kit/problem';
import { decodeSortCursor, sortedPage } from '@llmops/kit/contracts/common';
import * as contract from '@llmops/kit/contracts/registry';
import { publish } from '@llmops/kit/bus/index';
import { modelChanged, providerChanged } from '@llmops/kit/events/registry';
import { KINDS } from '@llmops/kit/adapters/kinds';
import { withArticle } from '@llmops/kit/english';
import { ProviderError } from '@llmops/kit/adapters/errors';
import type { FieldProblem } from '@llmops/kit/problem';
import type { RemoteModel } from '@llmops/kit/adapters/types';
import * as models from '../db/models.ts';
import * as providers from '../db/providers.ts';
import type { ProviderRow } from '../db/providers.ts';
import { connectionOf, sealKey } from '../keys/sealing.ts';
import { modelJson, providerJson, providerSnapshot } from '../json.ts';
import { flag, invalid, sortOf, type RouteDeps } from './common.ts';
import { createModels, modelEvents } from './models.ts';

/**
 * The kind's rules across fields: a key where the kind needs one, organization, project and the
 * max-tokens field only for OpenAI (other protocols have one output-cap field).
 */
function checkKindRules(
  row: Pick<ProviderRow, 'kind' | 'base_url' | 'organization' | 'project' | 'max_tokens_field'>,
  hasKey: boolean,
): void {
  const spec = KINDS[row.kind];
  const problems: FieldProblem[] = [];
  if (!hasKey && spec.needsKey(row.base_url))
    problems.push({
      field: 'body.api_key',
      message: `${withArticle(`${spec.label} provider`)} at ${new URL(row.base_url).host} needs an API key`,
    });
  if (!spec.hasOrganization) {
    if (row.organization) problems.push({ field: 'body.organization', message: `${spec.label} providers have no organization` });
    if (row.project) problems.push({ field: 'body.project', message: `${spec.label} providers have no project` });
    if (row.max_tokens_field)
      problems.push({
        field: 'body.max_tokens_field',
        message: `${spec.label} providers have one output-cap field; max_tokens_field is for OpenAI-compatible servers`,
      });
  }
  if (problems.length > 0) throw invalid(...problems);
}

function nameTaken(error: unknown): never {
  if (isPgError(error, PgCode.uniqueViolation))
    throw new Conflict('A provider with this name already exists; choose another name.');
  throw error;
}

async function changed(tx: Queryable, row: ProviderRow, change: 'created' | 'updated' | 'archived', credentialChanged: boolean) {
  await publish(tx, providerChanged, {
    provider_id: row.id,
    change,
    provider: providerSnapshot(row, credentialChanged),
    at: new Date().toISOString(),
  });
}

async function live(pool: Queryable, id: string): Promise<ProviderRow> {
  const row = await providers.get(pool, id);
  if (!row) throw new NotFound('No such provider.');
  return row;
}

/** The provider's own error, as a 502 problem (remote model listing), with what to do about it when there is a way. */
class ProviderAnswered extends HttpProblem {
  constructor(error: ProviderError, hint?: string) {
    super(
      502,
      'provider-error',
      'The provider answered with an error',
      `${error.kind}: ${error.message}${hint ? `. ${hint}` : ''}`,
    );
  }
}

/** The models a provider offers, by asking it; its error is a 502 problem. */
async function remoteModels(deps: RouteDeps, row: ProviderRow, hint?: string): Promise<RemoteModel[]> {
  try {
    return await deps.adapterFor(row.kind).listModels(connectionOf(deps.keyring, row), {
      firstByteTimeoutMs: row.timeout_ms,
      idleTimeoutMs: row.timeout_ms,
    });
  } catch (error) {
    if (error instanceof ProviderError) throw new ProviderAnswered(error, hint);
    throw error;
  }
}

type ImportInput = z.output<typeof contract.ModelImportSchema>['models'][number];

/**
 * The models to import, each checked against what the provider lists (unless forced) and given the
 * modality the list reports when the request gives none. The provider is asked before any transaction,
 * so no lock waits on it.
 */
async function checkedImports(deps: RouteDeps, id: string, input: z.output<typeof contract.ModelImportSchema>) {
  if (input.force) return input.models;
  const row = await live(deps.pool, id);
  if (row.archived_at) throw new Conflict('This provider is archived.');
  const listed = new Map(
    (await remoteModels(deps, row, 'Send "force": true to import the models without asking the provider')).map((m) => [m.id, m]),
  );
  const problems: FieldProblem[] = input.models.flatMap((model, index) =>
    listed.has(model.provider_model_id)
      ? []
      : [
          {
            field: `body.models[${index}].provider_model_id`,
            message: `the provider does not list "${model.provider_model_id}" (remote-models shows what it offers); check the id, or send "force": true to import it anyway`,
          },
        ],
  );
  if (problems.length > 0) throw invalid(...problems);
  return input.models.map((model): ImportInput => ({
    ...model,
    modality: model.modality ?? listed.get(model.provider_model_id)?.modality ?? 'chat',
  }));
}

export function mountProviders(app: ServiceApp, deps: RouteDeps): void {
  const { pool, keyring, adapterFor } = deps;

  app.openapi(contract.listProviders, async (c) => {
    const query = c.req.valid('query');
    const rows = await providers.list(pool, {
      limit: query.limit + 1,
      ...sortOf(query.sort),
      after: decodeSortCursor(query.cursor, query.sort),
      includeArchived: flag(query.include_archived) ?? false,
    });
    const { page, next_cursor } = sortedPage(rows, query.limit, query.sort);
    return c.json({ items: page.map(providerJson), next_cursor }, 200);
  });

  app.openapi(contract.createProvider, async (c) => {
    const input = c.req.valid('json');
    const baseUrl = (input.base_url ?? KINDS[input.kind].defaultBaseUrl).replace(/\/+$/, '');
    const fields = {
      kind: input.kind,
      base_url: baseUrl,
      organization: input.organization ?? null,
      project: input.project ?? null,
      max_tokens_field: input.max_tokens_field ?? null,
    };
    checkKindRules(fields, input.api_key !== undefined);
    const { body } = await withTransaction(pool, (tx) =>
      c.var.idempotent(tx, 'provider.create', input, async () => {
        const id = uuidv7();
        const key =
          input.api_key === undefined ? { api_key_envelope: null, api_key_hint: null } : sealKey(keyring, id, input.api_key);
        const row = await providers
          .insert(tx, {
            id,
            name: input.name,
            ...fields,
            api_key_envelope: key.api_key_envelope,
            api_key_hint: key.api_key_hint,
            extra_headers: input.extra_headers ?? {},
            timeout_ms: input.timeout_ms ?? 60_000,
            max_concurrency: input.max_concurrency ?? null,
            rpm_limit: input.rpm_limit ?? null,
            monthly_spend_cap_usd: input.monthly_spend_cap_usd ?? null,
            enabled: input.enabled ?? true,
          })
          .catch(nameTaken);
        await changed(tx, row, 'created', row.api_key_envelope !== null);
        const json = providerJson(row);
        await c.var.audit(tx, 'provider.created', { type: 'provider', id }, null, json);
        return { status: 201, body: json };
      }),
    );
    c.header('ETag', etagOf(body.updated_at));
    return c.json(body, 201);
  });

  app.openapi(contract.getProvider, async (c) => {
    const row = await live(pool, c.req.valid('param').id);
    c.header('ETag', etagOf(row.updated_at));
    return c.json(providerJson(row), 200);
  });

  app.openapi(contract.updateProvider, async (c) => {
    const { id } = c.req.valid('param');
    const input = c.req.valid('json');
    const json = await withTransaction(pool, async (tx) => {
      const row = await providers.get(tx, id, { lock: true });
      if (!row) throw new NotFound('No such provider.');
      checkIfMatch(c, row.updated_at, 'The provider');
      if (row.archived_at) throw new Conflict('This provider is archived; archived providers cannot be changed.');
      const next = {
        kind: row.kind,
        base_url: input.base_url === undefined ? row.base_url : input.base_url.replace(/\/+$/, ''),
        organization: input.organization === undefined ? row.organization : input.organization,
        project: input.project === undefined ? row.project : input.project,
        max_tokens_field: input.max_tokens_field === undefined ? row.max_tokens_field : input.max_tokens_field,
      };
      const hasKey = input.api_key === undefined ? row.api_key_envelope !== null : input.api_key !== null;
      checkKindRules(next, hasKey);
      const key =
        input.api_key === undefined
          ? {}
          : input.api_key === null
            ? { api_key_envelope: null, api_key_hint: null, api_key_previous_envelope: null }
            : sealKey(keyring, id, input.api_key);
      const updated = await providers
        .update(tx, id, {
          name: input.name,
          ...next,
          ...key,
          extra_headers: input.extra_headers,
          timeout_ms: input.timeout_ms,
          max_concurrency: input.max_concurrency,
          rpm_limit: input.rpm_limit,
          monthly_spend_cap_usd: input.monthly_spend_cap_usd,
          enabled: input.enabled,
        })
        .catch(nameTaken);
      const connectionChanged =
        input.api_key !== undefined ||
        next.base_url !== row.base_url ||
        next.organization !== row.organization ||
        next.project !== row.project ||
        next.max_tokens_field !== row.max_tokens_field ||
        input.extra_headers !== undefined;
      await changed(tx, updated, 'updated', connectionChanged);
      const before = providerJson(row);
      const after = providerJson(updated);
      await c.var.audit(
        tx,
        input.api_key === undefined ? 'provider.updated' : 'provider.key_changed',
        { type: 'provider', id },
        before,
        after,
      );
      return after;
    });
    c.header('ETag', etagOf(json.updated_at));
    return c.json(json, 200);
  });

  app.openapi(contract.deleteProvider, async (c) => {
    const { id } = c.req.valid('param');
    const outcome = await withTransaction(pool, async (tx) => {
      const row = await providers.get(tx, id, { lock: true });
      if (!row) throw new NotFound('No such provider.');
      checkIfMatch(c, row.updated_at, 'The provider');
      if (row.archived_at) return { archived_at: row.archived_at };
      const own = await models.ofProvider(tx, id);
      const presets = await models.presetsUsing(
        tx,
        own.map((m) => m.id),
      );
      if (presets.length > 0)
        throw new Conflict(`Presets use models of this provider: ${presets.join(', ')}. Change or archive them first.`);
      const before = providerJson(row);
      const ids = own.map((m) => m.id);
      if ((await providers.used(tx, id)) || (await models.referencedByPresets(tx, ids))) {
        const live = own.filter((m) => !m.archived_at).map((m) => m.id);
        await models.archive(tx, live);
        await modelEvents(tx, 'archived', await models.getMany(tx, live));
        const archived = await providers.archive(tx, id);
        await changed(tx, archived, 'archived', true);
        await c.var.audit(tx, 'provider.archived', { type: 'provider', id }, before, providerJson(archived));
        return { archived_at: archived.archived_at as Date };
      }
      await providers.remove(tx, id);
      const at = new Date().toISOString();
      for (const model of own) await publish(tx, modelChanged, { model_id: model.id, change: 'deleted', model: null, at });
      await publish(tx, providerChanged, { provider_id: id, change: 'deleted', provider: null, at });
      await c.var.audit(tx, 'provider.deleted', { type: 'provider', id }, before, null);
      return undefined;
    });
    if (!outcome) return c.body(null, 204);
    return c.json({ archived: true as const, archived_at: outcome.archived_at.toISOString() }, 200);
  });

  app.openapi(contract.testProvider, async (c) => {
    const row = await live(pool, c.req.valid('param').id);
    if (row.archived_at) throw new Conflict('This provider is archived.');
    const started = performance.now();
    const testedAt = new Date().toISOString();
    try {
      const list = await adapterFor(row.kind).listModels(connectionOf(keyring, row), {
        firstByteTimeoutMs: row.timeout_ms,
        idleTimeoutMs: row.timeout_ms,
      });
      return c.json(
        {
          ok: true,
          latency_ms: Math.round(performance.now() - started),
          models_available: list.length,
          error: null,
          tested_at: testedAt,
        },
        200,
      );
    } catch (error) {
      if (!(error instanceof ProviderError)) throw error;
      c.get('log').info({ providerId: row.id, kind: error.kind, status: error.status }, 'connection test failed');
      return c.json(
        {
          ok: false,
          latency_ms: Math.round(performance.now() - started),
          models_available: null,
          error: error.toJSON(),
          tested_at: testedAt,
        },
        200,
      );
    }
  });

  app.openapi(contract.listRemoteModels, async (c) => {
    const row = await live(pool, c.req.valid('param').id);
    if (row.archived_at) throw new Conflict('This provider is archived.');
    const remote = await remoteModels(deps, row);
    const imported = new Map(
      (await models.ofProvider(pool, row.id)).filter((m) => !m.archived_at).map((m) => [m.provider_model_id, m.id]),
    );
    const number = (value: unknown) => (typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : null);
    return c.json(
      {
        items: remote.map((model) => ({
          provider_model_id: model.id,
          display_name: model.display_name,
          created_at: model.created_at,
          modality: model.modality,
          context_window: number(model.details.context_window),
          max_output_tokens: number(model.details.max_output_tokens),
          imported_model_id: imported.get(model.id) ?? null,
        })),
      },
      200,
    );
  });

  app.openapi(contract.importModels, async (c) => {
    const { id } = c.req.valid('param');
    const imports = await checkedImports(deps, id, c.req.valid('json'));
    const items = await withTransaction(pool, async (tx) => {
      const row = await providers.get(tx, id, { lock: true });
      if (!row) throw new NotFound('No such provider.');
      if (row.archived_at) throw new Conflict('This provider is archived.');
      const created = await createModels(tx, row, imports, (index) => fieldPath('body', 'models', index));
      await modelEvents(tx, 'created', created);
      const json = created.map(modelJson);
      for (const model of json) await c.var.audit(tx, 'model.created', { type: 'model', id: model.id }, null, model);
      return json;
    });
    return c.json({ items }, 201);
  });
}
