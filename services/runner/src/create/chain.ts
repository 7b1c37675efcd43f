import { checkImageOptions, checkModelParameters, rulesOf } from '@llmops/kit/adapters/parameters';
import type { ModelRules } from '@llmops/kit/adapters/rules';
import type { ChainModel, TaskSnapshot } from '../tasks/task.ts';

/** A model as the runner's copy of the registry knows it, with its provider (null: not copied yet). */
export interface ModelRow {
  id: string;
  provider_id: string;
  provider_kind: ChainModel['provider_kind'];
  provider_model_id: string;
  display_name: string;
  modality: 'chat' | 'image';
  max_output_tokens: number | null;
  supports_json: boolean;
  /** The model's rules; null in a copy made before models had them (the kind's default). */
  rules?: ModelRules | null;
  enabled: boolean;
  archived_at: Date | null;
  deleted: boolean;
  provider_name: string | null;
  provider_enabled: boolean | null;
  provider_archived_at: Date | null;
  provider_deleted: boolean | null;
  provider_timeout_ms: number | null;
}

/** Why a model cannot run a task now, or undefined when it can. */
export function unusable(model: ModelRow | undefined): string | undefined {
  if (!model || model.deleted) return 'no such model in the registry';
  if (model.archived_at) return `model "${model.display_name}" is archived`;
  if (!model.enabled) return `model "${model.display_name}" is disabled`;
  if (model.provider_enabled === null || model.provider_deleted) return `the provider of model "${model.display_name}" is gone`;
  if (model.provider_archived_at) return `provider "${model.provider_name}" is archived`;
  if (!model.provider_enabled) return `provider "${model.provider_name}" is disabled`;
  return undefined;
}

/** What a task asks of every model of its chain, beyond its parameters. */
export interface ChainRequest {
  parameters: Record<string, unknown>;
  /** Image options (image tasks). */
  image?: { n?: number; size?: string; quality?: string } | null | undefined;
  messages: readonly { role: string; content: string }[];
}

/**
 * Why this model cannot take this conversation with these parameters, beyond what its rules say, or
 * undefined: an Anthropic model needs a user or assistant message (its API takes system text apart, and
 * refuses `messages: []`); a model whose rules say `system_messages: false` takes no system message;
 * OpenAI's JSON mode needs a message that says "JSON" (it answers 400 without).
 */
export function conversationProblem(
  model: ModelRow,
  messages: readonly { role: string; content: string }[],
  parameters: Record<string, unknown> = {},
): string | undefined {
  if (model.modality !== 'chat') return undefined;
  if (model.provider_kind === 'anthropic' && messages.every((message) => message.role === 'system'))
    return `model "${model.display_name}" (anthropic) needs at least one user or assistant message: Anthropic takes system text apart from the conversation and refuses an empty one`;
  if (rulesOf(model).system_messages === false && messages.some((message) => message.role === 'system'))
    return `model "${model.display_name}" takes no system message (its rules: system_messages false; OpenAI's o1-mini and o1-preview refuse system and developer messages with a 400). Put the instructions in the user message, or choose another model`;
  const format = (parameters.response_format as { type?: string } | undefined)?.type;
  if (model.provider_kind === 'openai' && format === 'json_object' && !messages.some((message) => /json/i.test(message.content)))
    return `model "${model.display_name}" (openai) is asked for a JSON object, but no message says "JSON": OpenAI's JSON mode refuses such a conversation (400). Ask for JSON in the prompt, or give a json_schema response format`;
  return undefined;
}

/**
 * A task's chain: its model, then each fallback, in order, that can run now, makes the same kind of output,
 * takes the parameters and image options under its rules (kit's parameter checker) and the conversation.
 * A fallback that cannot is left out, not an error: the task still has its own model, whose problems the
 * caller reports.
 */
export function chainOf(
  model: ModelRow,
  fallbackIds: readonly string[],
  models: ReadonlyMap<string, ModelRow>,
  request: ChainRequest,
): ChainModel[] {
  const fallbacks = fallbackIds.flatMap((id) => models.get(id) ?? []);
  const runs = (fallback: ModelRow) =>
    !unusable(fallback) &&
    fallback.modality === model.modality &&
    checkModelParameters(fallback, request.parameters).length === 0 &&
    checkImageOptions(fallback, request.image).length === 0 &&
    !conversationProblem(fallback, request.messages, request.parameters);
  return [model, ...fallbacks.filter(runs)].map(chainModel);
}

/** The timeouts a task runs with: the parameters', else its model's provider's. */
export function timeoutsOf(model: ModelRow, parameters: Record<string, unknown>): TaskSnapshot['timeouts'] {
  return {
    first_byte_ms: numberOr(parameters.first_byte_timeout_ms, model.provider_timeout_ms),
    idle_ms: numberOr(parameters.idle_timeout_ms, model.provider_timeout_ms),
  };
}

function chainModel(model: ModelRow): ChainModel {
  return {
    model_id: model.id,
    provider_id: model.provider_id,
    provider_kind: model.provider_kind,
    provider_model_id: model.provider_model_id,
    display_name: model.display_name,
    modality: model.modality,
    reasoning: rulesOf(model).reasoning,
    max_output_tokens: model.max_output_tokens,
  };
}

function numberOr(value: unknown, fallback: number | null): number | null {
  return typeof value === 'number' ? value : fallback;
}
