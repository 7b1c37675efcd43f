import { getModel, getPreset } from '@llmops/kit/contracts/registry';
import { createServiceClient, type ServiceClient } from '@llmops/kit/http/service-client';
import { Unprocessable, type FieldProblem } from '@llmops/kit/problem';

/** Checks a template's default model and preset through the registry's API (ADR 0018: no cross-schema reads). */
export interface RegistryClient {
  checkDefaults(
    requestId: string,
    settings: { default_model_id: string | null; default_preset_id: string | null },
  ): Promise<void>;
}

export interface RegistryClientOptions {
  /** The registry's base URL (`ctx.urls.registry`). */
  url: string;
  /** LLMOPS_INTERNAL_SECRET: the prompt service signs its own identity for the registry. */
  secret: string;
  timeoutMs?: number;
}

/** What a check reads of a model or a preset: whether it can be used. */
interface Usable {
  enabled: boolean;
  archived_at: string | null;
}

/**
 * Asks the registry (`getModel`, `getPreset`) as the prompt service. An id the registry does not know,
 * or one that is archived or disabled, is a 422 naming the field; a registry that does not answer is a
 * 503 (kit's service client: nothing is saved on a guess).
 */
export function createRegistryClient({ url, secret, timeoutMs = 5_000 }: RegistryClientOptions): RegistryClient {
  const registry: ServiceClient = createServiceClient({ caller: 'prompt', service: 'registry', url, secret, timeoutMs });
  const checks = [
    {
      field: 'default_model_id',
      what: 'model',
      read: (id: string, requestId: string) => registry.call(getModel, { params: { id }, requestId }),
    },
    {
      field: 'default_preset_id',
      what: 'parameter preset',
      read: (id: string, requestId: string) => registry.call(getPreset, { params: { id }, requestId }),
    },
  ] as const;

  return {
    async checkDefaults(requestId, settings) {
      const problems: FieldProblem[] = [];
      for (const check of checks) {
        const id = settings[check.field];
        if (id === null) continue;
        const answer = await check.read(id, requestId);
        const field = `body.${check.field}`;
        if (!answer.ok) {
          if (answer.status !== 404) throw new Error(`the registry refused to show ${check.what} ${id} (${answer.status})`);
          problems.push({ field, message: `no ${check.what} ${id} in the registry` });
          continue;
        }
        const found: Usable = answer.body;
        if (found.archived_at) problems.push({ field, message: `${check.what} ${id} is archived` });
        else if (!found.enabled) problems.push({ field, message: `${check.what} ${id} is disabled` });
      }
      if (problems.length > 0) throw new Unprocessable(problems.map((p) => `${p.field}: ${p.message}`).join('; '), problems);
    },
  };
}
