import { getModel, getPreset } from '@llmops/kit/contracts/registry';
import type { ServiceClient } from '@llmops/kit/http/service-client';

/**
 * Whether the model an action names (itself, or its preset's) takes a JSON response format
 * (`capabilities.json_output`), read from the registry's contract. Undefined when the action leaves the
 * model to the template's defaults, or the registry does not know it: the request then asks for
 * structured output, and a model that cannot give it makes the runner reject the run, which shows on the post.
 */
export async function takesJson(
  registry: ServiceClient,
  action: { model_id: string | null; preset_id: string | null },
  requestId: string,
): Promise<boolean | undefined> {
  let modelId = action.model_id;
  if (!modelId && action.preset_id) {
    const preset = await registry.call(getPreset, { params: { id: action.preset_id }, requestId });
    modelId = preset.ok ? preset.body.model_id : null;
  }
  if (!modelId) return undefined;
  const model = await registry.call(getModel, { params: { id: modelId }, requestId });
  return model.ok ? model.body.capabilities.json_output : undefined;
}
