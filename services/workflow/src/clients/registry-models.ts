import { getModel, getPreset } from '@llmops/kit/contracts/registry';
import type { FieldProblem } from '@llmops/kit/problem';
import type { ServiceClient, SuccessBody } from '@llmops/kit/http/service-client';

type Model = SuccessBody<typeof getModel>;

/** What an action names of the registry: a model, a preset, both or neither (the template's defaults). */
export interface ModelChoice {
  model_id: string | null;
  preset_id: string | null;
}

/**
 * The model an action names (itself, or its preset's), read from the registry's contract, with a problem
 * for a model or preset the registry does not know. No model when the action leaves it to the template.
 */
async function resolveModel(
  registry: ServiceClient,
  action: ModelChoice,
  requestId: string,
): Promise<{ model?: Model; problems: FieldProblem[] }> {
  let modelId = action.model_id;
  if (!modelId && action.preset_id) {
    const preset = await registry.call(getPreset, { params: { id: action.preset_id }, requestId });
    if (!preset.ok) return { problems: [{ field: 'preset_id', message: 'no such preset' }] };
    modelId = preset.body.model_id;
  }
  if (!modelId) return { problems: [] };
  const model = await registry.call(getModel, { params: { id: modelId }, requestId });
  if (!model.ok) return { problems: [{ field: action.model_id ? 'model_id' : 'preset_id', message: 'no such model' }] };
  return { model: model.body, problems: [] };
}

/**
 * Whether the model an action names takes a JSON response format (`capabilities.json_output`).
 * Undefined when the action leaves the model to the template's defaults, or the registry does not know
 * it: the request then asks for structured output, and a model that cannot give it makes the runner
 * reject the run, which shows on the post.
 */
export async function takesJson(registry: ServiceClient, action: ModelChoice, requestId: string): Promise<boolean | undefined> {
  const { model } = await resolveModel(registry, action, requestId);
  return model?.capabilities.json_output;
}

/**
 * Every problem of the model an action names for a target of `kind`, each at `at.<model_id|preset_id>`:
 * one the registry does not know, or one that makes the wrong thing (an image field is filled by an
 * image model; every other kind by a chat model).
 */
export async function modelProblems(
  registry: ServiceClient,
  action: ModelChoice,
  kind: string,
  { at, requestId }: { at: string; requestId: string },
): Promise<FieldProblem[]> {
  const { model, problems } = await resolveModel(registry, action, requestId);
  const where = (field: string) => `${at}.${field}`;
  if (!model) return problems.map((p) => ({ ...p, field: where(p.field) }));
  const field = where(action.model_id ? 'model_id' : 'preset_id');
  if (kind === 'image' && model.modality !== 'image')
    return [{ field, message: `model ${model.display_name} writes text; an image field takes an image model` }];
  if (kind !== 'image' && model.modality === 'image')
    return [{ field, message: `model ${model.display_name} makes images; a ${kind} field takes a text model` }];
  return [];
}
