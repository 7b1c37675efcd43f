import { checkImageOptions, checkModelParameters, DEFAULT_RETRY_POLICY, samplingOf } from '@llmops/kit/adapters/parameters';
import type { TaskCreate } from '@llmops/kit/contracts/runner';
import type { Pool } from '@llmops/kit/db';
import type { FieldProblem } from '@llmops/kit/problem';
import type { ServiceClient } from '@llmops/kit/http/service-client';
import type { Spans } from '@llmops/kit/http/spans';
import { fetchMissing } from '../clients/registry-snapshots.ts';
import type { TaskSnapshot } from '../tasks/task.ts';
import { chainOf, conversationProblem, timeoutsOf, unusable, type ModelRow } from './chain.ts';
import type { TemplateDefaults } from './defaults.ts';
import { renderMessages, type Rendered } from './render.ts';

/** One task ready to insert: its snapshot and lineage. */
export interface PreparedTask {
  snapshot: TaskSnapshot;
  model_id: string;
  provider_id: string;
  kind: 'chat' | 'image';
}

export interface Prepared {
  rendered: Rendered;
  preset_id: string | null;
  tasks: PreparedTask[];
}

export interface PrepareDeps {
  pool: Pool;
  registry: ServiceClient;
  prompt: ServiceClient;
  /** The default model each template's render answered last (./defaults.ts): read while the next render runs. */
  defaults?: TemplateDefaults;
}

interface PresetRow {
  id: string;
  name: string;
  model_id: string | null;
  parameters: Record<string, unknown>;
  retry_policy: Partial<TaskSnapshot['retry_policy']>;
  fallback_model_ids: string[];
  enabled: boolean;
  archived_at: Date | null;
  deleted: boolean;
}

const MODEL_COLUMNS = `m.id, m.provider_id, m.provider_kind, m.provider_model_id, m.display_name, m.modality, m.max_output_tokens,
            m.supports_json, m.rules, m.enabled, m.archived_at, m.deleted,
            p.name AS provider_name, p.enabled AS provider_enabled, p.archived_at AS provider_archived_at,
            p.deleted AS provider_deleted, p.timeout_ms AS provider_timeout_ms
     FROM runner.models m LEFT JOIN runner.providers p ON p.id = m.provider_id`;

/*
 * Named statements (these reads run at every create): parsed once per connection, and planned once when
 * PostgreSQL settles on the generic plan. One model (most creates) is read by `=`: with `= ANY($1)` the
 * generic plan is costed for an array of ten, so PostgreSQL keeps re-planning it for every call.
 */
const ONE_MODEL = { name: 'runner.create.model', text: `SELECT ${MODEL_COLUMNS} WHERE m.id = $1::uuid` };
const MODELS = { name: 'runner.create.models', text: `SELECT ${MODEL_COLUMNS} WHERE m.id = ANY($1::uuid[])` };

async function loadModels(pool: Pool, ids: readonly string[]): Promise<Map<string, ModelRow>> {
  if (ids.length === 0) return new Map();
  const { rows } = await pool.query<ModelRow>(
    ids.length === 1 ? { ...ONE_MODEL, values: [ids[0]] } : { ...MODELS, values: [ids] },
  );
  return new Map(rows.map((row) => [row.id, row]));
}

async function loadPreset(pool: Pool, id: string): Promise<PresetRow | undefined> {
  const { rows } = await pool.query<PresetRow>({
    name: 'runner.create.preset',
    text: `SELECT id, name, model_id, parameters, retry_policy, fallback_model_ids, enabled, archived_at, deleted
     FROM runner.presets WHERE id = $1`,
    values: [id],
  });
  return rows[0];
}

/** The preset from the copy, fetched from the registry (with its models) when the copy lacks it. */
async function presetFor(deps: PrepareDeps, id: string, requestId: string): Promise<PresetRow | undefined> {
  const found = await loadPreset(deps.pool, id);
  if (found) return found;
  await fetchMissing(deps.pool, deps.registry, requestId, { models: [], presets: [id], providers: [] });
  return loadPreset(deps.pool, id);
}

async function modelsFor(
  deps: PrepareDeps,
  ids: readonly string[],
  requestId: string,
  early?: { ids: readonly string[]; read: Promise<Map<string, ModelRow>> },
): Promise<Map<string, ModelRow>> {
  // The read started alongside the render serves when it asked for every model needed.
  const found = early && ids.every((id) => early.ids.includes(id)) ? await early.read : await loadModels(deps.pool, ids);
  const missing = ids.filter((id) => !found.has(id) || found.get(id)?.provider_kind === undefined);
  const providers = [...found.values()].filter((row) => row.provider_enabled === null).map((row) => row.provider_id);
  if (missing.length === 0 && providers.length === 0) return found;
  await fetchMissing(deps.pool, deps.registry, requestId, { models: missing, presets: [], providers });
  return loadModels(deps.pool, ids);
}

/**
 * Renders the messages through the prompt service and resolves models, provider and parameters against
 * the runner's copy of the registry (asking the registry for anything it has not seen), checking
 * everything: the answer is the tasks to create, or every problem at once (ADR 0012).
 */
export async function prepareTasks(
  deps: PrepareDeps,
  request: TaskCreate,
  { requestId, requester, spans }: { requestId: string; requester: string; spans?: Spans | undefined },
): Promise<{ prepared: Prepared } | { problems: FieldProblem[] }> {
  const problems: FieldProblem[] = [];
  const timed = <T>(name: string, work: () => Promise<T>) => (spans ? spans.time(name, work) : work());
  // The models and preset the request names, or the model its template's render answered last time, are
  // read while the prompt service renders (the render's answer decides; a wrong guess is read again after).
  const guess = request.model_ids ?? [
    request.model_id ?? (request.preset_id === undefined ? deps.defaults?.guess(request.template_id) : undefined),
  ];
  const earlyIds = guess.filter(isString);
  const early = earlyIds.length > 0 ? { ids: earlyIds, read: loadModels(deps.pool, earlyIds) } : undefined;
  const earlyPreset = request.preset_id === undefined ? undefined : presetFor(deps, request.preset_id, requestId);
  // Awaited below, or dropped when the render fails: never an unhandled rejection.
  early?.read.catch(() => undefined);
  earlyPreset?.catch(() => undefined);
  const rendered = await timed('render', () => renderMessages(deps.prompt, request, { requestId, requester }));
  if (rendered.template_id !== null) deps.defaults?.remember(rendered.template_id, rendered.default_model_id);
  problems.push(...rendered.problems);

  const presetId = request.preset_id ?? rendered.default_preset_id;
  const presetField = request.preset_id ? 'body.preset_id' : 'body.template_id';
  let preset: PresetRow | undefined;
  if (presetId) {
    preset = await timed('preset', () =>
      earlyPreset && presetId === request.preset_id ? earlyPreset : presetFor(deps, presetId, requestId),
    );
    if (!preset || preset.deleted)
      problems.push({ field: presetField, message: `no parameter preset ${presetId} in the registry` });
    else if (preset.archived_at) problems.push({ field: presetField, message: `parameter preset "${preset.name}" is archived` });
    else if (!preset.enabled) problems.push({ field: presetField, message: `parameter preset "${preset.name}" is disabled` });
  }

  const primary = request.model_ids ?? [request.model_id ?? preset?.model_id ?? rendered.default_model_id].filter(isString);
  // A template that did not resolve (an unknown label, say) may well have a default model: its own
  // problem is the one to report, not a missing model.
  if (primary.length === 0 && rendered.defaults_known)
    problems.push({
      field: 'body.model_id',
      message: 'no model: give model_id (or model_ids), or a preset or template that has a default model',
    });
  // A group compares models side by side, so its tasks do not fall back to other models.
  const fallbacks = request.model_ids ? [] : (preset?.fallback_model_ids ?? []).filter((id) => !primary.includes(id));
  const models = await timed('models', () => modelsFor(deps, [...primary, ...fallbacks], requestId, early));

  const parameters: Record<string, unknown> = { ...(preset?.parameters ?? {}), ...(request.parameters ?? {}) };
  const retry = { ...DEFAULT_RETRY_POLICY, ...(preset?.retry_policy ?? {}) };
  const tasks: PreparedTask[] = [];
  const reported = new Set<string>();
  const report = (problem: FieldProblem) => {
    const key = `${problem.field}\n${problem.message}`;
    if (!reported.has(key)) problems.push(problem);
    reported.add(key);
  };

  primary.forEach((id, index) => {
    const field = request.model_ids ? `body.model_ids[${index}]` : request.model_id ? 'body.model_id' : 'body.preset_id';
    const model = models.get(id);
    const why = unusable(model);
    if (why || !model) return report({ field, message: why ?? 'no such model' });
    for (const problem of checkModelParameters(model, parameters)) report(problem);
    if (model.modality === 'chat' && request.image)
      report({ field: 'body.image', message: `model "${model.display_name}" writes text, not images` });
    for (const problem of checkImageOptions(model, model.modality === 'image' ? request.image : undefined)) report(problem);
    const conversation = rendered.problems.length === 0 ? conversationProblem(model, rendered.messages, parameters) : undefined;
    if (conversation) report({ field: request.messages ? 'body.messages' : 'body.template_id', message: conversation });
    const chain = chainOf(model, fallbacks, models, { parameters, image: request.image, messages: rendered.messages });
    tasks.push({
      model_id: model.id,
      provider_id: model.provider_id,
      kind: model.modality,
      snapshot: {
        messages: rendered.messages,
        parameters: samplingOf(parameters),
        chain,
        retry_policy: retry,
        timeouts: timeoutsOf(model, parameters),
        image: model.modality === 'image' ? (request.image ?? {}) : null,
        estimated_input_tokens: rendered.estimated_input_tokens,
        rendered: rendered.rendered,
      },
    });
  });
  if (problems.length > 0) return { problems };
  return { prepared: { rendered, preset_id: preset?.id ?? null, tasks } };
}

function isString(value: string | null | undefined): value is string {
  return typeof value === 'string';
}

/**
 * What a retry runs: the original snapshot's messages, on the same chain, or on another model (no
 * fallbacks), or with another preset's parameters, retry policy and fallbacks. Checked like a create.
 */
export async function resolveRetry(
  deps: PrepareDeps,
  snapshot: TaskSnapshot,
  options: { model_id?: string | undefined; preset_id?: string | undefined },
  requestId: string,
): Promise<{ task: PreparedTask } | { problems: FieldProblem[] }> {
  const problems: FieldProblem[] = [];
  let parameters: Record<string, unknown> = {
    ...snapshot.parameters,
    ...(snapshot.timeouts.first_byte_ms === null ? {} : { first_byte_timeout_ms: snapshot.timeouts.first_byte_ms }),
    ...(snapshot.timeouts.idle_ms === null ? {} : { idle_timeout_ms: snapshot.timeouts.idle_ms }),
  };
  let retry = snapshot.retry_policy;
  let fallbacks = options.model_id ? [] : snapshot.chain.slice(1).map((model) => model.model_id);
  let modelId = options.model_id ?? snapshot.chain[0]?.model_id;
  if (options.preset_id) {
    const preset = await presetFor(deps, options.preset_id, requestId);
    if (!preset || preset.deleted)
      problems.push({ field: 'body.preset_id', message: `no parameter preset ${options.preset_id}` });
    else if (preset.archived_at || !preset.enabled)
      problems.push({
        field: 'body.preset_id',
        message: `parameter preset "${preset.name}" is ${preset.archived_at ? 'archived' : 'disabled'}`,
      });
    else {
      parameters = preset.parameters;
      retry = { ...DEFAULT_RETRY_POLICY, ...preset.retry_policy };
      fallbacks = preset.fallback_model_ids;
      modelId = options.model_id ?? preset.model_id ?? modelId;
    }
  }
  if (!modelId) return { problems: [...problems, { field: 'body.model_id', message: 'the task has no model; give model_id' }] };
  fallbacks = fallbacks.filter((id) => id !== modelId);
  const models = await modelsFor(deps, [modelId, ...fallbacks], requestId);
  const model = models.get(modelId);
  const why = unusable(model);
  if (why || !model) return { problems: [...problems, { field: 'body.model_id', message: why ?? 'no such model' }] };
  problems.push(...checkModelParameters(model, parameters));
  if (model.modality === 'image') problems.push(...checkImageOptions(model, snapshot.image));
  const conversation = conversationProblem(model, snapshot.messages, parameters);
  if (conversation) problems.push({ field: 'body.model_id', message: conversation });
  const original = snapshot.chain[0];
  if (original && original.modality !== model.modality)
    problems.push({
      field: 'body.model_id',
      message: `model "${model.display_name}" makes ${model.modality === 'image' ? 'images' : 'text'}; the task made ${original.modality === 'image' ? 'images' : 'text'}`,
    });
  if (problems.length > 0) return { problems };
  const chain = chainOf(model, fallbacks, models, { parameters, image: snapshot.image, messages: snapshot.messages });
  return {
    task: {
      model_id: model.id,
      provider_id: model.provider_id,
      kind: model.modality,
      snapshot: {
        ...snapshot,
        parameters: samplingOf(parameters),
        chain,
        retry_policy: retry,
        timeouts: timeoutsOf(model, parameters),
      },
    },
  };
}
